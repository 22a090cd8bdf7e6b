/**
 * `workers` > 1: this process becomes the primary of a Node cluster. It
 * forks the workers (each runs the whole runtime: HTTP, TLS and DNS
 * listeners are shared through the cluster), restarts one that dies, passes
 * SIGHUP, SIGUSR1 and SIGTERM/SIGINT on to all, relays realtime channels
 * between them (relay.ts), and runs the admin listener itself, fed by every
 * worker's events (forward-events.ts). It serves nothing else.
 */
import cluster, { type Worker } from "node:cluster";
import { randomBytes } from "node:crypto";
import { timerMs } from "../core/clock.js";
import type { Config } from "../core/config/types.js";
import { type Logger, logTls } from "../core/log.js";
import {
  type TransferAsk,
  type TransferDone,
  TransferLedger,
  type TransferTake,
  type TransferVerdictMessage,
} from "../dns/transfer/gate.js";
import { AdminService } from "../inspect/admin-server.js";
import { Collector } from "../inspect/collector.js";
import type { RelayRequest } from "../realtime/broker/cluster.js";
import type { AcmeToPrimary } from "../tls/acme-remote.js";
import { AcmeLeader } from "./acme-leader.js";
import {
  DNS_QUERY,
  type EventBatch,
  FORWARDED,
  HTTP_REQUEST,
  mergeStats,
  republish,
  type StatsReport,
  type WatchFrames,
} from "./forward-events.js";
import { Relay } from "./relay.js";

/** What a worker tells the primary when it has started (or could not). */
export type WorkerStatus =
  | { t: "ready"; banner: string[] }
  | { t: "failed"; message: string; exitCode: number };

/** A NOTIFY for a secondary zone that reached a worker other than the first (which keeps them). */
export interface DnsNotifyRelay {
  t: "dns-notify";
  origin: string;
}

/** The session ids of one worker, in the primary (its restarts each take 1e8 of them). */
const SESSION_ID_SPAN = 1e12;

/** Rows each worker's own view keeps (the summed view keeps `admin.events`). */
const PER_WORKER_EVENTS = 200;

/** A worker that dies this soon after it started, this many times in a row, is not restarted again. */
const QUICK_DEATH_MS = 5000;
const MAX_QUICK_DEATHS = 5;

export interface Primary {
  /** Resolves once every worker is up (their banner, once); rejects when one could not start. */
  ready: Promise<string[]>;
}

export function runPrimary(config: Config, load: () => Config, log: Logger): Primary {
  let current = config;
  const relay = new Relay(config);
  /** Replays and `dns.transfersOut` decided once for every worker's zone transfers (dns/transfer/gate.ts). */
  const transfers = new TransferLedger<Worker>(config.dns?.transfersOut ?? 0);
  /** ACME orders for `tls: acme` sites are placed here, once, for every worker (acme-leader.ts). */
  let acme: AcmeLeader | null = null;
  const acmeFor = (c: Config) => {
    const settings = c.http?.tls?.acme ?? null;
    // ACME taken out of the config: nothing is renewed any more.
    if (settings === null) {
      acme?.configure(null, []);
      return;
    }
    if (acme === null) {
      acme = new AcmeLeader(settings, c.state, () => byId.values());
      // Its orders are logged here (issued, failed), as a single process logs its own.
      logTls(log);
    }
    const inUse = (c.http?.sites ?? []).filter((s) => s.tls?.kind === "acme").map((s) => s.hosts);
    acme.configure(settings, inUse);
  };
  /** The local CA's root is made here, once, before the workers need it (each would otherwise make its own). */
  const openCA = async (c: Config) => {
    // Imported only then: its X.509 library slows every request of a process that loads it (tls/README.md),
    // and this module is loaded by every `ferry serve`.
    if (c.http?.sites.some((s) => s.tls?.kind === "internal" || s.tls?.kind === "acme"))
      await (await import("../tls/local-ca.js")).LocalCA.open(c.state);
  };
  let admin: AdminService | null = null;
  /** Whether an inspector watches (workers then forward their WebSocket frames). */
  let watching = false;
  let stopping = false;
  const byId = new Map<number, Worker>();
  const startedAt = new Map<Worker, number>();
  const quickDeaths = new Map<number, number>();
  let starting = config.workers;
  let resolveReady: (banner: string[]) => void = () => {};
  let rejectReady: (err: Error & { exitCode?: number }) => void = () => {};
  const ready = new Promise<string[]>((resolve, reject) => {
    resolveReady = resolve;
    rejectReady = reject;
  });
  let banner: string[] = [];

  cluster.setupPrimary({ serialization: "advanced" });
  // One generated publish key for every worker (a realtime endpoint without publishKey).
  const publishKey = randomBytes(18).toString("base64url");
  const readyIds = new Set<number>();
  /** Workers that said they are ready (their signal handlers are in place). */
  const up = new Set<Worker>();
  /** Signals for workers still starting, sent once they are ready. */
  const owed = new Map<Worker, NodeJS.Signals[]>();
  const signalAll = (signal: NodeJS.Signals) => {
    for (const w of byId.values()) {
      if (up.has(w)) w.process.kill(signal);
      else owed.set(w, [...(owed.get(w) ?? []), signal]);
    }
  };
  /** Each worker's last gauges (realtime endpoints, upstreams), for the inspector and /metrics. */
  const stats = new Map<number, StatsReport>();
  /**
   * Each worker's own collector (`?worker=N` on the admin listener), fed the
   * same events as the summed one; kept across a restart (the id stays).
   */
  const collectors = new Map<number, Collector>();
  const collectorOf = (id: number): Collector => {
    let c = collectors.get(id);
    if (c === undefined) {
      const own = () => stats.get(id);
      c = new Collector(
        { events: PER_WORKER_EVENTS, sessions: 50, frames: 0, channels: 200 },
        () => own()?.endpoints ?? [],
        () => own()?.upstreams ?? [],
        { subscribe: false, rss: () => own()?.rss ?? 0 },
      );
      collectors.set(id, c);
    }
    return c;
  };
  /** Per worker id (a restarted worker keeps its id): requests and queries answered, restarts. */
  const perWorker = new Map<number, { http: number; dns: number; restarts: number }>();
  const workerMetrics = (): string => {
    const ids = [...new Set([...byId.keys(), ...perWorker.keys()])].sort((a, b) => a - b);
    const lines = [
      "# HELP ferry_worker_up 1 while the worker process runs.",
      "# TYPE ferry_worker_up gauge",
      ...ids.map((id) => `ferry_worker_up{worker="${id}"} ${byId.get(id)?.isConnected() ? 1 : 0}`),
      "# HELP ferry_worker_http_requests_total HTTP requests answered, per worker.",
      "# TYPE ferry_worker_http_requests_total counter",
      ...ids.map((id) => `ferry_worker_http_requests_total{worker="${id}"} ${perWorker.get(id)?.http ?? 0}`),
      "# HELP ferry_worker_dns_queries_total DNS queries answered, per worker.",
      "# TYPE ferry_worker_dns_queries_total counter",
      ...ids.map((id) => `ferry_worker_dns_queries_total{worker="${id}"} ${perWorker.get(id)?.dns ?? 0}`),
      "# HELP ferry_worker_restarts_total Times the worker died and was started again.",
      "# TYPE ferry_worker_restarts_total counter",
      ...ids.map((id) => `ferry_worker_restarts_total{worker="${id}"} ${perWorker.get(id)?.restarts ?? 0}`),
    ];
    return `${lines.join("\n")}\n`;
  };

  const fork = (id: number) => {
    const w = cluster.fork({
      FERRY_WORKER: String(id),
      FERRY_EVENTS: current.admin ? "1" : "",
      FERRY_PUBLISH_KEY: publishKey,
      // Session ids seen in the primary: 1e12 × worker + 1e8 × its restarts + its own count, so a
      // restarted worker's sessions never take the ids (and the inspector's frames) of its last life's.
      FERRY_SESSION_BASE: String(id * SESSION_ID_SPAN + ((perWorker.get(id)?.restarts ?? 0) % 10_000) * 1e8),
    });
    byId.set(id, w);
    startedAt.set(w, Date.now());
    // Sending to a worker that just died emits "error" on it: the exit handler deals with the death.
    w.on("error", () => {});
    w.on(
      "message",
      (
        msg:
          | RelayRequest
          | EventBatch
          | StatsReport
          | WorkerStatus
          | DnsNotifyRelay
          | AcmeToPrimary
          | TransferAsk
          | TransferTake
          | TransferDone,
      ) => {
        if (msg === null || typeof msg !== "object") return;
        if (msg.t === "dns-xfr") {
          const verdict = transfers.admit(msg, Math.floor(Date.now() / 1000));
          if (w.isConnected())
            w.send({ t: "dns-xfr-verdict", id: msg.id, verdict } satisfies TransferVerdictMessage);
          return;
        }
        if (msg.t === "dns-xfr-take") {
          transfers.take(w);
          return;
        }
        if (msg.t === "dns-xfr-done") {
          transfers.release(w, msg.n);
          return;
        }
        if (msg.t === "acme-hello" || msg.t === "acme-want" || msg.t === "acme-ack") {
          acme?.handle(w, msg);
          return;
        }
        if (msg.t === "events") {
          republish(msg);
          if (admin !== null) {
            const own = collectorOf(id);
            for (const [i, event] of msg.batch) own.feed(FORWARDED[i]!, event);
          }
          const counts = perWorker.get(id) ?? { http: 0, dns: 0, restarts: 0 };
          for (const [channel] of msg.batch) {
            if (channel === HTTP_REQUEST) counts.http++;
            else if (channel === DNS_QUERY) counts.dns++;
          }
          perWorker.set(id, counts);
        } else if (msg.t === "stats") stats.set(id, msg);
        else if (msg.t === "ready") {
          up.add(w);
          // An inspector already watching: this worker's frames are wanted too.
          if (watching) w.send({ t: "watch", on: true } satisfies WatchFrames);
          // Signals that came while it started (its handlers were not there yet: SIGHUP would have ended it).
          for (const signal of owed.get(w) ?? []) w.process.kill(signal);
          owed.delete(w);
          if (banner.length === 0) banner = msg.banner;
          if (starting > 0 && !readyIds.has(id)) {
            readyIds.add(id);
            if (readyIds.size === config.workers) {
              starting = 0;
              resolveReady(banner);
            }
          } else log.info({ worker: id, pid: w.process.pid }, `worker ${id} ready`);
        } else if (msg.t === "failed") {
          if (starting > 0) {
            starting = -1;
            stopping = true;
            for (const other of byId.values()) other.kill("SIGKILL");
            rejectReady(Object.assign(new Error(msg.message), { exitCode: msg.exitCode }));
          }
        } else if (msg.t === "dns-notify") {
          // A NOTIFY that reached another worker: the first worker keeps the secondary zones.
          byId.get(1)?.send(msg);
        } else relay.handle(w, msg);
      },
    );
    w.on("exit", (code, signal) => {
      relay.forget(w);
      transfers.forget(w);
      up.delete(w);
      acme?.forget(w);
      owed.delete(w);
      if (byId.get(id) === w) stats.delete(id);
      const born = startedAt.get(w) ?? 0;
      startedAt.delete(w);
      if (byId.get(id) === w) byId.delete(id);
      if (stopping) {
        if (byId.size === 0) finish();
        return;
      }
      const quick = Date.now() - born < QUICK_DEATH_MS;
      const n = quick ? (quickDeaths.get(id) ?? 0) + 1 : 0;
      quickDeaths.set(id, n);
      const fields = { code: "ERR_WORKER_DIED", worker: id, pid: w.process.pid, exit: code, signal };
      if (n >= MAX_QUICK_DEATHS) {
        log.error(fields, `worker ${id} died ${n} times in a row within seconds of starting: not restarted`);
        if (starting > 0) {
          starting = -1;
          stopping = true;
          for (const other of byId.values()) other.kill("SIGKILL");
          rejectReady(new Error(`worker ${id} keeps dying as it starts (last: ${signal ?? `exit ${code}`})`));
          return;
        }
        if (byId.size === 0) {
          log.error("no worker left: exiting");
          process.exit(1);
        }
        return;
      }
      log.warn(fields, `worker ${id} died (${signal ?? `exit ${code}`}): restarting it`);
      const counts = perWorker.get(id) ?? { http: 0, dns: 0, restarts: 0 };
      counts.restarts++;
      perWorker.set(id, counts);
      setTimeout(() => {
        if (!stopping) fork(id);
      }, n * 200);
    });
  };

  let finished = false;
  const finish = () => {
    if (finished) return;
    finished = true;
    relay.close();
    acme?.stop();
    for (const c of collectors.values()) c.close();
    const done = () => {
      log.info("stopped");
      process.exit(0);
    };
    if (admin) admin.close().then(done, done);
    else done();
  };

  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      log.warn(`${signal} again: exiting now`);
      for (const w of byId.values()) w.kill("SIGKILL");
      process.exit(1);
    }
    stopping = true;
    log.info({ workers: byId.size, graceMs: current.shutdown.grace }, `${signal}: stopping every worker`);
    if (byId.size === 0) return finish();
    for (const w of byId.values()) w.process.kill("SIGTERM");
    // A worker that does not end within its grace (and a little more) is ended.
    setTimeout(
      () => {
        for (const w of byId.values()) w.kill("SIGKILL");
      },
      timerMs(current.shutdown.grace + 5000),
    ).unref();
  };
  process.on("SIGTERM", stop);
  process.on("SIGINT", stop);
  process.on("SIGHUP", () => {
    log.info({ workers: byId.size }, "SIGHUP: reloading the configuration in every worker");
    let next: Config;
    try {
      next = load();
      if (next.workers !== current.workers) log.warn("workers changed: restart Ferry to apply it");
      current = next;
      relay.configure(next);
      // Without `dns` now, the workers keep the DNS they started with until a restart: so does the cap.
      if (next.dns) transfers.max = next.dns.transfersOut;
      acmeFor(next);
    } catch (err) {
      log.error({ code: (err as { code?: string }).code }, `reload refused: ${(err as Error).message}`);
      return; // the workers would refuse it too; they keep the configuration they have
    }
    // A site that now uses the local CA (or ACME) finds its root made before the workers look for it.
    openCA(next).then(
      () => signalAll("SIGHUP"),
      (err: Error) => {
        log.error({ code: "ERR_TLS_LOCAL_CA" }, `local CA: ${err.message}`);
        signalAll("SIGHUP");
      },
    );
  });
  process.on("SIGUSR1", () => signalAll("SIGUSR1"));

  const start = async () => {
    await openCA(config);
    // `current`: a SIGHUP may have come while the CA opened.
    acmeFor(current);
    if (config.admin) {
      admin = await AdminService.start(
        config.admin,
        () => mergeStats(stats.values()).endpoints,
        () => mergeStats(stats.values()).upstreams,
        // The whole of Ferry's memory: the primary's and every worker's.
        () => process.memoryUsage.rss() + [...stats.values()].reduce((sum, s) => sum + s.rss, 0),
      );
      admin.extraMetrics = workerMetrics;
      admin.onWatch = (on) => {
        watching = on;
        for (const w of up) w.send({ t: "watch", on } satisfies WatchFrames);
      };
      admin.perWorker = (id) => (byId.has(id) || perWorker.has(id) ? collectorOf(id) : undefined);
      log.info({ workers: config.workers }, "admin listener in the primary, fed by every worker");
    }
    for (let id = 1; id <= config.workers; id++) fork(id);
  };
  start().catch((err) => rejectReady(err as Error));
  return {
    ready: ready.then((b) => [
      ...b,
      ...(admin?.addresses ?? []).map((a) => {
        const host = a.host.includes(":") ? `[${a.host}]` : a.host;
        return `Ferry inspector on http://${host}:${a.port}/ (metrics: /metrics)`;
      }),
      `Ferry running ${config.workers} workers (pids ${[...byId.values()].map((w) => w.process.pid).join(", ")})`,
    ]),
  };
}
