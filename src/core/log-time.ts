/** The access log's times, each built once a second rather than per line. */

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

function pad(n: number): string {
  return n < 10 ? `0${n}` : String(n);
}

let clfSecond = -1;
let clfText = "";

/** `10/Oct/2000:13:55:36 +0000`, the combined format's time (built once a second, not per line). */
export function clfTime(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== clfSecond) {
    const d = new Date(second * 1000);
    clfSecond = second;
    clfText = `${pad(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${pad(d.getUTCHours())}:${pad(d.getUTCMinutes())}:${pad(d.getUTCSeconds())} +0000`;
  }
  return clfText;
}

let isoAt = -1;
let isoPrefix = "";

/** `2026-11-28T15:09:23.` for the second of `ms`: the ISO date is built once a second, not per line. */
export function isoSecond(ms: number): string {
  const second = Math.floor(ms / 1000);
  if (second !== isoAt) {
    isoAt = second;
    isoPrefix = new Date(second * 1000).toISOString().slice(0, 20);
  }
  return isoPrefix;
}

/** `2026-11-28T15:09:23.123Z`. */
export function isoTime(ms: number): string {
  const frac = Math.floor(ms - Math.floor(ms / 1000) * 1000);
  return `${isoSecond(ms)}${frac < 10 ? "00" : frac < 100 ? "0" : ""}${frac}Z`;
}
