/**
 * HTTP as the app runs it: the HTTP service with the realtime endpoints and
 * DNS over HTTPS mounted on its sites. The HTTP layer knows neither; this is
 * where they meet. Realtime hubs outlive reloads (connections and channels
 * stay); a reload reconfigures them before the site table is rebuilt.
 */
import type { HttpConfig, ListenAddress } from "../core/config/types.js";
import type { UpstreamState } from "../core/diagnostics.js";
import { type DnsAnswer, dohMounts } from "../dns/doh.js";
import { mergeMounts } from "../http/mount.js";
import { HttpService } from "../http/server.js";
import type { SiteHandler } from "../http/site-handler.js";
import { realtimeMounts } from "../realtime/mount.js";
import { RealtimeService } from "../realtime/service.js";

export class HttpApp {
  /** The realtime endpoints; they outlive reloads. */
  readonly realtime: RealtimeService;
  private readonly service: HttpService;

  private constructor(service: HttpService, realtime: RealtimeService) {
    this.service = service;
    this.realtime = realtime;
  }

  /** Starts HTTP with its mounts; `dns` answers DoH on sites that ask for it. */
  static async start(config: HttpConfig, dns: DnsAnswer | null = null): Promise<HttpApp> {
    const realtime = new RealtimeService();
    realtime.configure(config);
    const mounts = dns ? mergeMounts(realtimeMounts(realtime), dohMounts(dns)) : realtimeMounts(realtime);
    try {
      return new HttpApp(await HttpService.start(config, mounts), realtime);
    } catch (err) {
      realtime.close();
      throw err;
    }
  }

  get addresses(): ListenAddress[] {
    return this.service.addresses;
  }

  /** The site handler in use (for tests). */
  get handler(): SiteHandler {
    return this.service.handler;
  }

  /** The proxy upstreams as they are now. */
  upstreams(): UpstreamState[] {
    return this.service.handler.upstreams();
  }

  reload(config: HttpConfig): string[] {
    this.realtime.configure(config);
    return this.service.reload(config);
  }

  close(graceMs: number): Promise<void> {
    const closing = this.service.close(graceMs);
    this.realtime.close();
    return closing;
  }
}
