/**
 * The `static` location kind's normaliser: file-serving settings resolved
 * against the site's (a location inherits what it leaves out), the root made
 * absolute and checked.
 */
import { statSync } from "node:fs";
import path from "node:path";
import type { KeyPath, RawProblem } from "../problems.js";
import type { StaticLocationConfig, StaticSettings, UserServing } from "../types.js";

/** A site's file-serving settings; its root may be absent when every path has a location of its own. */
export type SiteServing = Omit<StaticSettings, "root"> & { root: string | null };

/** Where relative paths start. */
export interface PathContext {
  baseDir: string;
}

function folderExists(dir: string): boolean {
  try {
    return statSync(dir).isDirectory();
  } catch {
    return false;
  }
}

/** File-serving settings of `own`, each taken from `parent` when left out (a site's defaults come from the schema). */
export function resolveServing(
  own: UserServing,
  parent: SiteServing | null,
  ctx: PathContext,
  at: KeyPath,
  problems: RawProblem[],
): SiteServing {
  let root = parent?.root ?? null;
  if (own.root !== undefined) {
    root = path.resolve(ctx.baseDir, own.root);
    if (!folderExists(root))
      problems.push({ path: [...at, "root"], message: `folder ${root} does not exist` });
  }
  return {
    root,
    // A site's own values are filled in by the schema's defaults; a location's come from its site.
    index: (own.index ?? parent?.index)!,
    listing: (own.listing ?? parent?.listing)!,
    spa: own.spa ?? parent?.spa ?? null,
    headers: { ...parent?.headers, ...own.headers },
    cacheControl: own.cacheControl ?? parent?.cacheControl ?? null,
    symlinks: (own.symlinks ?? parent?.symlinks)!,
    compress: (own.compress ?? parent?.compress)!,
  };
}

/** A location that serves files (its own root, or its site's). */
export function normalizeStatic(
  loc: UserServing & { path: string },
  site: SiteServing,
  ctx: PathContext,
  at: KeyPath,
  problems: RawProblem[],
): StaticLocationConfig {
  const serving = resolveServing(loc, site, ctx, at, problems);
  if (serving.root === null)
    problems.push({
      path: at,
      message: "a location needs a root (its own or its site's), a redirect or a proxy",
    });
  return {
    kind: "static",
    path: loc.path,
    alias: loc.root !== undefined,
    ...serving,
    root: serving.root ?? "",
  };
}
