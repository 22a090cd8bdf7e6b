/**
 * Bytes as latin1 text (one character per byte), through node's own
 * `latin1Slice`: what `toString("latin1", …)` ends in, without its argument
 * checks and encoding switch on every call (hot paths: header names and values).
 */
type Latin1 = Buffer & { latin1Slice(start: number, end: number): string };

export function latin1(buf: Buffer, start: number, end: number): string {
  return (buf as Latin1).latin1Slice(start, end);
}
