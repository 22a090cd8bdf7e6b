/**
 * HTTP as the app runs it: the HTTP service with the realtime endpoints and
 * DNS over HTTPS mounted on its sites. The HTTP layer knows neither; this is
 * where they meet. Realtime hubs outlive reloads (connections and channels
 * stay); a reload reconfigures them before the site table is rebuilt.
 */
import { unwatchFile, watchFile } from "node:fs";
import os from "node:os";
import path from "node:path";
import type { HttpConfig, ListenAddress } from "../core/config/types.js";
import { tlsCertChannel, type UpstreamState } from "../core/diagnostics.js";
import { FerryError } from "../core/errors.js";
import { type DnsAnswer, dohMounts } from "../dns/doh.js";
import { HostIndex } from "../http/host-index.js";
import { mergeMounts } from "../http/mount.js";
import { HttpService } from "../http/server.js";
import type { SiteHandler } from "../http/site-handler.js";
import { realtimeMounts } from "../realtime/mount.js";
import { RealtimeService } from "../realtime/service.js";
import { AcmeManager, type AcmeSettings, type AcmeSource } from "../tls/acme.js";
import { TLS_PROFILE } from "../tls/profile.js";
import { CertStore } from "../tls/store.js";

/** Makes where ACME certificates come from: by default this process orders them itself. */
export type AcmeFactory = (settings: AcmeSettings, state: string) => AcmeSource;

const ownAcme: AcmeFactory = (settings, state) => new AcmeManager(settings, state);

/** The name lists of the sites with `tls: acme`. */
function acmeNames(config: HttpConfig): string[][] {
  return config.sites.filter((s) => s.tls?.kind === "acme").map((s) => s.hosts);
}

/** Opens the local CA only when a site uses it, in its own thread (its X.509 library slows the thread that loads it). */
function openCA(state: string) {
  return import("../tls/ca-thread.js").then((m) => m.CAThread.open(state));
}

/** The certificate store for a config's sites (null without TLS listeners). */
function buildStore(
  config: HttpConfig,
  state: string,
  previous: CertStore | null,
  acme: AcmeSource | null,
): Promise<CertStore | null> {
  if (config.tls === null) return Promise.resolve(null);
  const fallback = config.sites.find((s) => s.default) ?? config.sites[0]!;
  const index = new HostIndex(config.sites, (s) => s.hosts, fallback);
  const find = (name: string) => {
    const own = index.owner(name);
    return { site: own ?? fallback, own: own !== null };
  };
  return CertStore.build(
    config.sites,
    find,
    { state, strictSni: config.tls.strictSni, openCA, acme },
    previous,
  );
}

export class HttpApp {
  /** The realtime endpoints; they outlive reloads. */
  readonly realtime: RealtimeService;
  private readonly service: HttpService;
  private store: CertStore | null;
  private config: HttpConfig;
  private watched: string[] = [];
  /** Told whenever certificates may have changed (a reload, a file, a renewal): DNS over TLS re-reads its own. */
  private readonly certListeners: (() => void)[] = [];
  /** The certificate clients without SNI get, as last given to the listeners. */
  private lastDefault: string | null = null;
  /** Renewals (internal, ACME) happen in the background: checked every minute. */
  private readonly certTimer: NodeJS.Timeout;

  private constructor(
    service: HttpService,
    realtime: RealtimeService,
    store: CertStore | null,
    config: HttpConfig,
    private readonly state: string,
    private acme: AcmeSource | null,
    private readonly makeAcme: AcmeFactory,
  ) {
    this.service = service;
    this.realtime = realtime;
    this.store = store;
    this.config = config;
    this.lastDefault = store?.defaultCredentials()?.cert ?? null;
    this.watchCertificates();
    this.certTimer = setInterval(() => this.certificatesChanged(false), 60_000);
    this.certTimer.unref();
  }

  /** `cb` runs whenever the certificates may have changed. */
  onCertificates(cb: () => void): void {
    this.certListeners.push(cb);
  }

  /**
   * Hands new certificates on: the SNI side reads the store directly, but the
   * certificate of clients that send no name is fixed in each listener's
   * context until it is set again (a renewed default would otherwise never reach them).
   */
  private certificatesChanged(newStore: boolean): void {
    if (this.store === null) return;
    const current = this.store.defaultCredentials()?.cert ?? null;
    if (newStore || current !== this.lastDefault) {
      this.lastDefault = current;
      this.service.setTls(this.store);
    }
    for (const cb of this.certListeners) cb();
  }

  /**
   * Starts HTTP with its mounts; `dns` answers DoH on sites that ask for it.
   * With TLS listeners, the sites' certificates are loaded (or issued) first:
   * an unusable certificate file stops the start (ERR_TLS_CERT). `makeAcme`
   * says where `tls: acme` certificates come from (a cluster's worker asks its primary).
   */
  static async start(
    config: HttpConfig,
    dns: DnsAnswer | null = null,
    state = path.join(os.tmpdir(), "ferry-state"),
    makeAcme: AcmeFactory = ownAcme,
  ): Promise<HttpApp> {
    const acme = config.tls?.acme ? makeAcme(config.tls.acme, state) : null;
    const store = await buildStore(config, state, null, acme);
    const realtime = new RealtimeService();
    realtime.configure(config);
    const mounts = dns ? mergeMounts(realtimeMounts(realtime), dohMounts(dns)) : realtimeMounts(realtime);
    try {
      return new HttpApp(
        await HttpService.start(config, mounts, store),
        realtime,
        store,
        config,
        state,
        acme,
        makeAcme,
      );
    } catch (err) {
      realtime.close();
      acme?.stop();
      throw err;
    }
  }

  /**
   * TLS options for another protocol (DNS over TLS) presenting the certificate
   * of the site that owns `name`; SNI follows reloads. Null without TLS listeners.
   */
  async tlsOptionsFor(name: string | null): Promise<import("node:tls").TlsOptions | null> {
    const creds = await this.store?.credentialsFor(name);
    if (!creds) return null;
    return {
      ...TLS_PROFILE,
      ...creds,
      SNICallback: (servername, cb) => {
        if (this.store === null) cb(new Error("no certificates"));
        else this.store.sni(servername, cb);
      },
    };
  }

  /** Where it listens with TLS. */
  get tlsAddresses(): ListenAddress[] {
    return this.service.tlsAddresses;
  }

  /**
   * Loads the certificates again (a reload, or a file that changed): the new
   * store replaces the old only when every file is usable; otherwise the old
   * certificates keep serving and the error is published (and logged).
   */
  private refreshCertificates(config: HttpConfig): void {
    if (config.tls?.acme) {
      if (this.acme === null) this.acme = this.makeAcme(config.tls.acme, this.state);
      this.acme.configure(config.tls.acme, acmeNames(config));
    } else this.acme?.configure(null, []);
    buildStore(config, this.state, this.store, this.acme).then(
      (store) => {
        if (store === null || config !== this.config) return;
        this.store = store;
        this.certificatesChanged(true);
        this.watchCertificates();
      },
      (err: Error) => {
        if (tlsCertChannel.hasSubscribers)
          tlsCertChannel.publish({
            time: Date.now(),
            kind: "error",
            site: "",
            file: "",
            message: `${err.message} (the old certificates keep serving)`,
            code: err instanceof FerryError ? err.code : "ERR_TLS_CERT",
          });
      },
    );
  }

  /** Certificate files are checked every second; a change loads them again. */
  private watchCertificates(): void {
    for (const f of this.watched) unwatchFile(f);
    this.watched = this.store?.watchedFiles() ?? [];
    for (const f of this.watched)
      watchFile(f, { interval: 1000, persistent: false }, (curr, prev) => {
        if (curr.mtimeMs !== prev.mtimeMs || curr.size !== prev.size || curr.ino !== prev.ino)
          this.refreshCertificates(this.config);
      });
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
    this.config = config;
    const warnings = this.service.reload(config);
    this.refreshCertificates(config);
    return warnings;
  }

  close(graceMs: number): Promise<void> {
    this.acme?.stop();
    clearInterval(this.certTimer);
    for (const f of this.watched) unwatchFile(f);
    this.watched = [];
    const closing = this.service.close(graceMs);
    this.realtime.close();
    return closing;
  }
}
