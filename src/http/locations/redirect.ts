/** The `redirect` location kind: every method gets the configured redirect, the rest of the path kept when `to` ends in `/`. */
import type { RedirectLocationConfig } from "../../core/config/types.js";
import { plainReply } from "../plain-reply.js";
import { encodePath } from "../static/resolve-path.js";
import type { FerryRequest, Reply } from "../types.js";
import type { LocationHandler, Route, SiteRef } from "./handler.js";

export class RedirectLocation implements LocationHandler {
  readonly kind = "redirect";
  readonly methods = null;
  constructor(private readonly config: RedirectLocationConfig) {}

  handle(req: FerryRequest, route: Route, site: SiteRef): Reply {
    const { to, status, path } = this.config;
    let target = to;
    if (to.endsWith("/")) {
      const rest = route.path.slice(path.length).replace(/^\/+/, "");
      target = to + (rest ? encodePath(rest).slice(1) : "");
    }
    if (req.query) target += (target.includes("?") ? "&" : "?") + req.query;
    return plainReply(status, site.name, path, ["Location", target]);
  }
}
