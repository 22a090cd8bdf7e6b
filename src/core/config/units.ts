/** Parsers for the duration and size notations the config accepts (already schema-checked). */

const DURATION_UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const SIZE_UNITS: Record<string, number> = {
  B: 1,
  KB: 1000,
  KiB: 1024,
  MB: 1000 ** 2,
  MiB: 1024 ** 2,
  GB: 1000 ** 3,
  GiB: 1024 ** 3,
};

/** `10s` → 10000; a number is milliseconds already. */
export function parseDuration(value: number | string): number {
  if (typeof value === "number") return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(ms|s|m|h)\s*$/.exec(value);
  if (!m) throw new TypeError(`not a duration: ${value}`);
  return Math.round(Number(m[1]) * DURATION_UNITS[m[2]!]!);
}

/** `16KiB` → 16384; a number is bytes already. */
export function parseSize(value: number | string): number {
  if (typeof value === "number") return value;
  const m = /^\s*(\d+(?:\.\d+)?)\s*(B|KB|KiB|MB|MiB|GB|GiB)?\s*$/.exec(value);
  if (!m) throw new TypeError(`not a size: ${value}`);
  return Math.floor(Number(m[1]) * SIZE_UNITS[m[2] ?? "B"]!);
}
