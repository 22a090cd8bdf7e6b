/** Byte ranges (RFC 9110 §14). Only single ranges are served; a multi-range request gets the whole file. */

/** A satisfiable byte range, both ends inclusive. */
export interface ByteRange {
  start: number;
  end: number;
}

/**
 * Parses a Range header against a representation of `size` bytes.
 * Returns the range, `"unsatisfiable"` (→ 416), or null to ignore the header (→ 200).
 */
export function parseRange(value: string, size: number): ByteRange | "unsatisfiable" | null {
  const m = /^\s*bytes\s*=\s*(\d*)\s*-\s*(\d*)\s*$/i.exec(value);
  if (!m) return null;
  const [, a, b] = m;
  if (a === "" && b === "") return null;
  if (a === "") {
    const suffix = Number(b);
    if (suffix === 0 || size === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(a);
  if (!Number.isSafeInteger(start)) return "unsatisfiable";
  let end = b === "" ? size - 1 : Number(b);
  if (b !== "" && end < start) return null;
  if (start >= size) return "unsatisfiable";
  if (end >= size) end = size - 1;
  return { start, end };
}
