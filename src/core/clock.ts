/**
 * Wall-clock time from the monotonic clock: `performance.now()` plus an
 * offset read from `Date.now()` again at most once a second, so an event that
 * already has its monotonic time gets its wall time without a second clock
 * read (the access log's time, per request). A clock step shows within a second.
 */
let checkedAt = performance.now();
let offset = Date.now() - checkedAt;

/** Epoch milliseconds for a `performance.now()` reading. */
export function wallTime(perfNow: number): number {
  if (perfNow - checkedAt > 1000) {
    const now = performance.now();
    checkedAt = now;
    offset = Date.now() - now;
  }
  return offset + perfNow;
}
