/**
 * Location kind → handler module. Adding a kind is one entry here, one
 * module beside this one, and one normaliser in `core/config/locations/`.
 */
import type { LocationConfig } from "../../core/config/types.js";
import type { StaticFiles } from "../static/files.js";
import type { LocationHandler, SiteServices } from "./handler.js";
import { ProxyLocation } from "./proxy.js";
import { RedirectLocation } from "./redirect.js";
import { StaticLocation } from "./static.js";

/** What handlers are built with: shared per config load. */
export interface LocationDeps {
  files: StaticFiles;
  services: SiteServices;
}

type Builders = {
  [K in LocationConfig["kind"]]: (
    config: Extract<LocationConfig, { kind: K }>,
    id: number,
    deps: LocationDeps,
    site: string,
  ) => LocationHandler;
};

const BUILDERS: Builders = {
  static: (c, id, d) => new StaticLocation(c, id, d.files, d.services),
  redirect: (c) => new RedirectLocation(c),
  proxy: (c, _id, _d, site) => new ProxyLocation(c, site),
};

export function buildLocation(
  config: LocationConfig,
  id: number,
  deps: LocationDeps,
  site: string,
): LocationHandler {
  const build = BUILDERS[config.kind] as (
    c: LocationConfig,
    id: number,
    d: LocationDeps,
    site: string,
  ) => LocationHandler;
  return build(config, id, deps, site);
}
