/**
 * Handlers mounted at exact paths of a site by the app (a realtime
 * endpoint, DNS over HTTPS): the HTTP layer routes to them without knowing
 * what they are, and each answers its own methods. Built once per config
 * load, like the rest of the site table.
 */
import type { SiteConfig } from "../core/config/types.js";
import type { Handler, UpgradeHandler } from "./types.js";

export interface PathHandler {
  /** What it is, for logs and the inspector (`realtime`, `doh`). */
  readonly kind: string;
  /** Plain requests to the path, every method (the handler answers 405 itself). */
  readonly handle: Handler;
  /** Upgrade requests to the path; without it they are answered as plain requests. */
  readonly upgrade?: UpgradeHandler;
}

/** A site's mounted handlers by exact path; `siteName` is the site's name in logs. */
export type Mounts = (site: SiteConfig, siteName: string) => ReadonlyMap<string, PathHandler>;

export const NO_MOUNTS: Mounts = () => new Map();

/** Mounts of several providers, merged (config validation keeps their paths apart). */
export function mergeMounts(...providers: Mounts[]): Mounts {
  return (site, name) => {
    const out = new Map<string, PathHandler>();
    for (const p of providers) for (const [path, h] of p(site, name)) out.set(path, h);
    return out;
  };
}
