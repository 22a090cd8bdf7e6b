/**
 * The runtime that wires services together (it lives above core, http, dns,
 * realtime and inspect, which do not know each other). Lifecycle of a running Ferry: start the services a config names, reload on
 * SIGHUP (a bad config is refused and the old one keeps serving), and stop
 * gracefully on SIGINT/SIGTERM.
 */

import type { Config } from "../core/config/types.js";
import { ConfigError, type FerryError } from "../core/errors.js";
import {
  AccessLog,
  type Logger,
  logClientErrors,
  logDnsTcp,
  logDnsTransfers,
  logProxy,
  logRealtime,
  logTls,
} from "../core/log.js";
import { DnsService, type ZoneReport } from "../dns/service.js";
import { AdminService } from "../inspect/admin-server.js";
import { type AcmeFactory, HttpApp } from "./http.js";

/** The services of one running Ferry. */
export class Runtime {
  private config: Config;
  private readonly log: Logger;
  private access: AccessLog | null;
  private readonly stopClientErrors: () => void;
  http: HttpApp | null = null;
  dns: DnsService | null = null;
  admin: AdminService | null = null;
  private stopping: Promise<void> | null = null;

  private constructor(config: Config, log: Logger) {
    this.config = config;
    this.log = log;
    this.access = config.log.access ? this.openAccessLog(config.log.access) : null;
    const stopClient = logClientErrors(log);
    const stopRealtime = logRealtime(log);
    const stopDnsTcp = logDnsTcp(log);
    const stopDnsTransfers = logDnsTransfers(log);
    const stopProxy = logProxy(log);
    const stopTls = logTls(log);
    this.stopClientErrors = () => {
      stopTls();
      stopProxy();
      stopClient();
      stopRealtime();
      stopDnsTcp();
      stopDnsTransfers();
    };
  }

  /**
   * Starts every service the config names. Throws `FerryError` (e.g. ERR_LISTEN) when one cannot start.
   * `options.acme`: where `tls: acme` certificates come from (a cluster's worker: its primary).
   */
  static async start(config: Config, log: Logger, options: { acme?: AcmeFactory } = {}): Promise<Runtime> {
    const rt = new Runtime(config, log);
    try {
      // The admin listener first, so the inspector sees the first queries and requests.
      if (config.admin)
        rt.admin = await AdminService.start(
          config.admin,
          () =>
            (rt.http?.realtime.all() ?? []).map((h) => ({ site: h.site, path: h.config.path, ...h.stats })),
          () => rt.http?.upstreams() ?? [],
        );
      if (config.dns) {
        rt.dns = await DnsService.start(config.dns);
        rt.logZones(rt.dns.reports);
        rt.dns.watch((reports) => rt.logZones(reports));
      }
      if (config.http)
        rt.http = await HttpApp.start(
          config.http,
          rt.dns ? rt.dns.answerHttp : null,
          config.state,
          options.acme,
        );
      // DNS over TLS presents an HTTP site's certificate: it listens once the certificates are loaded.
      if (config.dns?.tls && rt.dns && rt.http) {
        const secure = await rt.http.tlsOptionsFor(config.dns.tls.site);
        if (secure !== null) {
          await rt.dns.listenTls(config.dns.tls.listen, secure);
          rt.followDotCertificate(secure.cert as string);
        }
      }
    } catch (err) {
      await rt.stop();
      throw err;
    }
    return rt;
  }

  /**
   * DNS over TLS presents its site's certificate: when that certificate is
   * reloaded or renewed, the DoT listeners get it too (clients that send no
   * SNI would otherwise keep getting the old one until it expires).
   */
  private followDotCertificate(first: string): void {
    let last = first;
    this.http!.onCertificates(() => {
      const site = this.config.dns?.tls?.site ?? null;
      void this.http?.tlsOptionsFor(site).then((secure) => {
        if (secure === null || secure.cert === last || this.dns === null) return;
        last = secure.cert as string;
        this.dns.setTls(secure);
        this.log.info({ site: site ?? "default" }, "DNS over TLS: certificate updated");
      });
    });
  }

  /**
   * Applies a new config built by `load`. On any error the old config keeps
   * serving and the error is logged with code ERR_RELOAD. Returns whether it applied.
   */
  reload(load: () => Config): boolean {
    let next: Config;
    try {
      next = load();
    } catch (err) {
      const detail = err instanceof ConfigError ? err.message : String(err);
      this.log.error(
        { code: "ERR_RELOAD", cause: (err as FerryError).code },
        `reload refused, still serving the old configuration:\n${detail}`,
      );
      return false;
    }
    if (next.http && this.http) {
      for (const w of this.http.reload(next.http)) this.log.warn(w);
    } else if (Boolean(next.http) !== Boolean(this.http)) {
      this.log.warn("adding or removing the http section needs a restart");
    }
    if (JSON.stringify(next.log.access) !== JSON.stringify(this.config.log.access)) {
      this.access?.close();
      this.access = next.log.access ? this.openAccessLog(next.log.access) : null;
    }
    if (next.dns && this.dns) {
      if (JSON.stringify(next.dns.listen) !== JSON.stringify(this.config.dns?.listen))
        this.log.warn("dns.listen changed: restart Ferry to apply it (the old addresses keep answering)");
      this.logZones(this.dns.reload(next.dns));
    } else if (Boolean(next.dns) !== Boolean(this.dns))
      this.log.warn("adding or removing the dns section needs a restart");
    if (JSON.stringify(next.admin) !== JSON.stringify(this.config.admin))
      this.log.warn("admin changed: restart Ferry to apply it");
    this.log.level = next.log.level;
    this.config = next;
    this.log.info({ source: next.source }, "configuration reloaded");
    return true;
  }

  /** Stops accepting, lets in-flight work finish within the grace period, then closes. */
  stop(): Promise<void> {
    this.stopping ??= (async () => {
      await Promise.all([
        this.http?.close(this.config.shutdown.grace),
        this.dns?.close(),
        this.admin?.close(),
      ]);
      this.stopClientErrors();
      this.access?.close();
    })();
    return this.stopping;
  }

  /** The access log, its write errors logged with their code (a full disk is an error line, never a crash). */
  private openAccessLog(access: NonNullable<Config["log"]["access"]>): AccessLog {
    return new AccessLog(access, (code, message) =>
      this.log.error({ code, output: access.output }, `access log: ${message}`),
    );
  }

  private logZones(reports: ZoneReport[]): void {
    for (const r of reports) {
      if (r.ok && r.warning) this.log.warn({ zone: r.origin, file: r.file }, `${r.message} (${r.warning})`);
      else if (r.ok) this.log.info({ zone: r.origin, file: r.file }, r.message);
      else this.log.error({ code: r.code, zone: r.origin, file: r.file }, r.message);
    }
  }

  /** Wires SIGHUP to `reload(load)`, SIGINT/SIGTERM to a graceful stop and exit 0, SIGUSR1 to reopening the access log. */
  handleSignals(load: () => Config, worker = false): void {
    process.on("SIGHUP", () => {
      this.log.info("SIGHUP: reloading configuration");
      this.reload(load);
    });
    const onStop = (signal: NodeJS.Signals) => {
      // A worker stops when its primary says so (SIGTERM): Ctrl-C reaches the whole process group, and a
      // service manager may signal every process; a repeated signal must not cut a worker's drain short.
      if (worker && (signal === "SIGINT" || this.stopping)) return;
      if (this.stopping) {
        this.log.warn(`${signal} again: exiting now`);
        // The lines of the requests answered so far are still written.
        this.access?.close();
        process.exit(1);
      }
      this.log.info(
        { graceMs: this.config.shutdown.grace },
        `${signal}: stopping, letting in-flight requests finish`,
      );
      this.stop().then(() => {
        this.log.info("stopped");
        process.exit(0);
      });
    };
    process.on("SIGINT", onStop);
    process.on("SIGTERM", onStop);
    // logrotate's convention (nginx's too): the log file was moved; open it again by its name.
    process.on("SIGUSR1", () => {
      this.log.info("SIGUSR1: reopening the access log");
      this.access?.reopen();
    });
  }
}
