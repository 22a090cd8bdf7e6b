/** The `Date` header's value (RFC 9110 §6.6.1), built once a second for both engines. */

let second = -1;
let value = "";

/** `Sun, 29 Nov 2026 12:00:00 GMT` for the second of `now` (epoch milliseconds). */
export function httpDate(now: number): string {
  const s = Math.floor(now / 1000);
  if (s !== second) {
    second = s;
    value = new Date(s * 1000).toUTCString();
  }
  return value;
}
