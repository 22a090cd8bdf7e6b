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

/**
 * A clock read once per turn of synchronous work, as nginx caches its time
 * once per pass of its event loop: an engine opens a turn when a read
 * arrives and closes it when that read is handled; every `turnNow()` in
 * between returns the turn's first reading instead of reading the clock
 * again (a deadline, the file cache's freshness check, the `Date` header and
 * the access log's start time of every request in that read share it; on this
 * machine's virtual clock one read costs about 40 ns). Outside a turn,
 * `turnNow()` reads the clock. A turn lasts as long as its synchronous work,
 * so its time is late by at most that much.
 */
const OUTSIDE = -2;
const UNREAD = -1;
let turn = OUTSIDE;

/** Opens a turn; returns what `closeTurn` restores (turns nest). */
export function openTurn(): number {
  const was = turn;
  turn = UNREAD;
  return was;
}

/** Closes the turn `openTurn` opened. */
export function closeTurn(was: number): void {
  turn = was;
}

/** `performance.now()`, read once per turn. */
export function turnNow(): number {
  if (turn === OUTSIDE) return performance.now();
  if (turn === UNREAD) turn = performance.now();
  return turn;
}

/** Moves the turn's time on to a later reading (one its caller took anyway); nothing outside a turn. */
export function advanceTurn(perfNow: number): void {
  if (turn !== OUTSIDE) turn = perfNow;
}

/** Epoch milliseconds, read once per turn (`Date.now()` for deadlines and the `Date` header). */
export function turnWallNow(): number {
  return wallTime(turnNow());
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
