/**
 * Turns a raw (percent-encoded) request path into a safe, normalised path.
 * The path is decoded exactly once, then `.`/`..` are resolved; nothing can
 * climb above `/`. Backslashes and NUL are refused in any encoding.
 */

/** A normalised request path. */
export interface ResolvedPath {
  /** Decoded, normalised, always starting with `/`; ends with `/` when the request did. */
  path: string;
  /** True when a segment is a dotfile outside `/.well-known/`. */
  hidden: boolean;
}

/** Why a path is refused: 400 for malformed or escaping paths. */
export type PathRefusal = 400;

/** Resolves a raw request path, or returns 400. */
export function resolvePath(raw: string): ResolvedPath | PathRefusal {
  if (raw.length === 0 || raw.charCodeAt(0) !== 47 /* / */) return 400;
  if (raw.includes("\\")) return 400;
  let decoded = raw;
  if (raw.includes("%")) {
    try {
      decoded = decodeURIComponent(raw);
    } catch {
      return 400;
    }
    if (decoded.includes("\\")) return 400;
  }
  if (decoded.includes("\0")) return 400;
  const parts = decoded.split("/");
  const out: string[] = [];
  for (let i = 1; i < parts.length; i++) {
    const seg = parts[i]!;
    if (seg === "" || seg === ".") continue;
    if (seg === "..") {
      if (out.length === 0) return 400;
      out.pop();
      continue;
    }
    out.push(seg);
  }
  const last = parts[parts.length - 1];
  const slash = out.length > 0 && (last === "" || last === "." || last === "..");
  let hidden = false;
  for (let i = 0; i < out.length; i++) {
    if (out[i]!.charCodeAt(0) === 46 /* . */ && !(i === 0 && out[i] === ".well-known")) {
      hidden = true;
      break;
    }
  }
  return { path: `/${out.join("/")}${slash ? "/" : ""}`, hidden };
}

/** Percent-encodes a decoded path for a Location header: always one leading `/`, never `//` (no open redirect). */
export function encodePath(decoded: string): string {
  return `/${decoded
    .split("/")
    .filter((s, i, all) => s !== "" || i === all.length - 1)
    .map((s) => encodeURIComponent(s))
    .join("/")}`;
}
