/**
 * A location as written → its canonical kind. The kind is the one key that
 * says what answers (`redirect`, `proxy`); without one the location serves
 * files. Settings that belong to another kind are refused with a clear
 * message rather than silently ignored.
 */
import type { KeyPath, RawProblem } from "../problems.js";
import type { LocationConfig, UserLocation } from "../types.js";
import { normalizeProxy, type ProxyContext } from "./proxy.js";
import { normalizeRedirect } from "./redirect.js";
import { normalizeStatic, type PathContext, type SiteServing } from "./static.js";

/** Keys only a location that serves files may set. */
const STATIC_KEYS = [
  "root",
  "index",
  "listing",
  "spa",
  "headers",
  "cacheControl",
  "symlinks",
  "compress",
] as const;

/** The keys that pick a kind other than `static`. */
const KIND_KEYS = ["redirect", "proxy"] as const;

export function normalizeLocation(
  loc: UserLocation,
  site: SiteServing,
  ctx: PathContext & ProxyContext,
  at: KeyPath,
  problems: RawProblem[],
): LocationConfig {
  const kinds = KIND_KEYS.filter((k) => loc[k] !== undefined);
  if (kinds.length > 1)
    problems.push({
      path: [...at, kinds[1]!],
      message: `a location is one kind: ${kinds.join(" or ")}, not both`,
    });
  const kind = kinds[0];
  if (kind === undefined) return normalizeStatic(loc, site, ctx, at, problems);
  for (const k of STATIC_KEYS) {
    if (loc[k] !== undefined)
      problems.push({ path: [...at, k], message: `${k} serves files; a ${kind} location serves none` });
  }
  if (kind === "proxy") return normalizeProxy(loc.path, loc.proxy!, ctx, [...at, "proxy"], problems);
  return normalizeRedirect(loc as Parameters<typeof normalizeRedirect>[0]);
}
