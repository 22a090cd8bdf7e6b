/**
 * The HTTP service: one engine, its listeners, and the site handler built
 * from the config and the handlers the app mounts. A reload builds a new
 * handler and swaps it in; listeners and open connections stay up.
 */
import type { HttpConfig, ListenAddress } from "../core/config/types.js";
import { createEngine, type HttpEngine, type TlsProvider } from "./engine/engine.js";
import { type Mounts, NO_MOUNTS } from "./mount.js";
import { SiteHandler } from "./site-handler.js";

function same(a: ListenAddress[], b: ListenAddress[]): boolean {
  const key = (l: ListenAddress[]) =>
    l
      .map((x) => `${x.host}:${x.port}`)
      .sort()
      .join(",");
  return key(a) === key(b);
}

export class HttpService {
  private readonly engine: HttpEngine;
  private site: SiteHandler;
  private config: HttpConfig;
  private readonly mounts: Mounts;
  /** Where it listens (actual ports when 0 was asked for). */
  readonly addresses: ListenAddress[] = [];
  /** Where it listens with TLS. */
  readonly tlsAddresses: ListenAddress[] = [];
  /** The port plain-HTTP requests for TLS sites are redirected to. */
  private readonly httpsPort = (): number | null => this.tlsAddresses[0]?.port ?? null;

  private constructor(config: HttpConfig, mounts: Mounts) {
    this.config = config;
    this.mounts = mounts;
    this.site = new SiteHandler(config, mounts, this.httpsPort);
    this.engine = createEngine({
      limits: config.limits,
      handler: this.site.handle,
      upgrade: this.site.upgrade,
      h2c: config.h2c,
      engine: config.engine,
    });
  }

  /** Builds the service and listens on every configured address (`tls` serves `http.tls.listen`). */
  static async start(
    config: HttpConfig,
    mounts: Mounts = NO_MOUNTS,
    tls: TlsProvider | null = null,
  ): Promise<HttpService> {
    const svc = new HttpService(config, mounts);
    try {
      for (const addr of config.listen) svc.addresses.push(await svc.engine.listen(addr));
      if (config.tls !== null && tls !== null)
        for (const addr of config.tls.listen) svc.tlsAddresses.push(await svc.engine.listen(addr, tls));
    } catch (err) {
      await svc.engine.close(0);
      throw err;
    }
    return svc;
  }

  /** The site handler in use (for tests and the inspector). */
  get handler(): SiteHandler {
    return this.site;
  }

  /**
   * Swaps in a new config (the mounts are asked again for each site).
   * Returns warnings for changes that need a restart (listen addresses).
   */
  reload(config: HttpConfig): string[] {
    const warnings: string[] = [];
    if (!same(config.listen, this.config.listen))
      warnings.push("http.listen changed: restart Ferry to listen on the new addresses");
    if (!same(config.tls?.listen ?? [], this.config.tls?.listen ?? []))
      warnings.push("http.tls.listen changed: restart Ferry to listen on the new addresses");
    if (config.h2c !== this.config.h2c) warnings.push("http.h2c changed: restart Ferry to apply it");
    if (config.engine !== this.config.engine) warnings.push("http.engine changed: restart Ferry to apply it");
    const old = this.site;
    this.site = new SiteHandler(config, this.mounts, this.httpsPort);
    this.engine.setHandlers(this.site.handle, this.site.upgrade);
    // Requests in flight keep their handlers; close() only stops background work and lets pools drain.
    old.close();
    this.engine.applyLimits(config.limits);
    this.config = config;
    return warnings;
  }

  /** New certificates for the TLS listeners (open connections keep theirs). */
  setTls(tls: TlsProvider): void {
    this.engine.setTls(tls);
  }

  /** Stops accepting and waits for in-flight requests, up to `graceMs`. */
  async close(graceMs: number): Promise<void> {
    await this.engine.close(graceMs);
    this.site.close();
  }
}
