/**
 * Wall-clock time from the monotonic clock: `performance.now()` plus an
 * offset read from `Date.now()` again at most once a second, so an event that
 * already has its monotonic time gets its wall time without a second clock
 * read (the access log's time, per request). A clock step shows within a second.
 */
import { performance } from "node:perf_hooks";

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

/** The longest delay node's timers take (2^31 − 1 ms, about 24.8 days); a longer one fires after 1 ms. */
export const MAX_TIMER_MS = 2_147_483_647;

/**
 * A configured duration as a timer's delay: anything longer than node's
 * limit waits that limit (24.8 days, as good as forever for a timeout)
 * instead of firing at once.
 */
export function timerMs(ms: number): number {
  return Math.min(ms, MAX_TIMER_MS);
}
