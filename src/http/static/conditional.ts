/** Conditional requests (RFC 9110 §13): If-Match, If-Unmodified-Since, If-None-Match, If-Modified-Since. */

type HeaderValue = string | string[] | undefined;

function first(v: HeaderValue): string | undefined {
  return Array.isArray(v) ? v.join(", ") : v;
}

function stripWeak(tag: string): string {
  return tag.startsWith("W/") ? tag.slice(2) : tag;
}

/** Splits an entity-tag list; quoted tags may contain commas. */
export function parseETagList(value: string): string[] {
  const tags: string[] = [];
  const re = /\s*((?:W\/)?"[^"]*"|\*)\s*(?:,|$)/g;
  let m: RegExpExecArray | null = re.exec(value);
  while (m !== null && m[0] !== "") {
    tags.push(m[1]!);
    m = re.exec(value);
  }
  return tags;
}

/** Weak comparison: true when any listed tag matches ignoring `W/`, or the list is `*`. */
export function weakMatch(list: string, etag: string): boolean {
  const tags = parseETagList(list);
  const mine = stripWeak(etag);
  return tags.some((t) => t === "*" || stripWeak(t) === mine);
}

/** Strong comparison: both tags strong and equal (or `*`). */
export function strongMatch(list: string, etag: string): boolean {
  if (etag.startsWith("W/")) return false;
  return parseETagList(list).some((t) => t === "*" || t === etag);
}

/** What a conditional request resolves to. */
export type ConditionResult = "proceed" | "not-modified" | "precondition-failed";

/**
 * Evaluates the preconditions of a GET/HEAD against a representation's
 * validators, in the order RFC 9110 §13.2.2 gives.
 */
export function evaluateConditions(
  headers: Readonly<Record<string, HeaderValue>>,
  etag: string,
  mtimeSeconds: number,
): ConditionResult {
  const ifMatch = first(headers["if-match"]);
  if (ifMatch !== undefined) {
    if (!strongMatch(ifMatch, etag)) return "precondition-failed";
  } else {
    const ius = first(headers["if-unmodified-since"]);
    if (ius !== undefined) {
      const t = Date.parse(ius);
      if (!Number.isNaN(t) && mtimeSeconds > t / 1000) return "precondition-failed";
    }
  }
  const inm = first(headers["if-none-match"]);
  if (inm !== undefined) return weakMatch(inm, etag) ? "not-modified" : "proceed";
  const ims = first(headers["if-modified-since"]);
  if (ims !== undefined) {
    const t = Date.parse(ims);
    if (!Number.isNaN(t) && mtimeSeconds <= t / 1000) return "not-modified";
  }
  return "proceed";
}

/** If-Range: true when the Range header may be honoured (RFC 9110 §13.1.5). */
export function ifRangeAllows(value: string | undefined, etag: string, lastModified: string): boolean {
  if (value === undefined) return true;
  const v = value.trim();
  if (v.startsWith('"') || v.startsWith("W/")) return !v.startsWith("W/") && v === etag;
  return v === lastModified;
}
