/**
 * One upstream server of a proxy location: its connection pool (undici
 * Clients, one connection each), requests in flight, and its health (active
 * checks and passive ejection). Built once per config load.
 *
 * The pool keeps `keepAlive` idle connections, like nginx's `keepalive N`,
 * but closes the surplus only once it has sat idle for a second: a burst
 * wider than N does not close and reopen connections on every request.
 */

import { lookup } from "node:dns/promises";
import { isIP } from "node:net";
import { performance } from "node:perf_hooks";
import { rootCertificates } from "node:tls";
import { Client } from "undici";
import { timerMs } from "../../core/clock.js";
import type { UpstreamAddress } from "../../core/config/types.js";
import type { Candidate } from "./balance.js";

export interface UpstreamOptions {
  keepAlive: number;
  /** Extra roots to trust for an `https://` upstream (PEM text), or null. */
  ca: string | null;
  connectTimeout: number;
  headersTimeout: number;
  bodyTimeout: number;
  /** Consecutive failures that eject it (0: never), and for how long. */
  passive: { fails: number; cooldown: number };
}

/** Told when the upstream goes down or comes back. */
export type HealthListener = (healthy: boolean, source: "active" | "passive", reason: string) => void;

const kConnectedAt = Symbol("connectedAt");
const kIdleSince = Symbol("idleSince");
type TimedClient = Client & { [kConnectedAt]?: number; [kIdleSince]?: number };

/** How long a connection beyond `keepAlive` may sit idle before it is closed. */
const SURPLUS_IDLE_MS = 1000;

export class Upstream implements Candidate {
  readonly name: string;
  readonly port: number;
  /** Spoken to over TLS (an `https://` upstream). */
  readonly secure: boolean;
  /** The name its certificate must carry (the host as written). */
  readonly servername: string | undefined;
  /** What connections go to: the address the name resolved to (at start and reload), or the name until then. */
  private host: string;
  inflight = 0;
  /** Connections opened so far. */
  connections = 0;
  /** Idle connections, most recently used last (reused first). */
  private readonly idle: TimedClient[] = [];
  private readonly sweeper: NodeJS.Timeout;
  private closed = false;
  /** Passive: failures in a row, and until when it is left out. */
  private failures = 0;
  private ejectedUntil = 0;
  private cooldown: NodeJS.Timeout | null = null;
  /** Active checks' verdict (true until they say otherwise). */
  private activeUp = true;
  /** Checks in a row that disagree with `activeUp`. */
  private streak = 0;
  /** Resolves once the name is resolved (at once for an address). */
  readonly ready: Promise<void>;
  /** `ready` has settled: nothing to wait for. */
  resolved: boolean;

  constructor(
    address: UpstreamAddress,
    private readonly options: UpstreamOptions,
    private readonly onHealth: HealthListener,
  ) {
    this.name = address.name;
    this.port = address.port;
    this.secure = address.tls;
    this.servername = isIP(address.host) === 0 ? address.host : undefined;
    this.host = address.host;
    this.resolved = isIP(address.host) !== 0;
    this.ready = this.resolved
      ? Promise.resolve()
      : lookup(address.host).then(
          (r) => {
            this.host = r.address;
            this.resolved = true;
          },
          () => {
            // Left as a name: each connection resolves it (and fails as a connect error if it still cannot).
            this.resolved = true;
          },
        );
    this.sweeper = setInterval(() => this.sweep(), SURPLUS_IDLE_MS);
    this.sweeper.unref();
  }

  /** Closes idle connections beyond `keepAlive` that were not needed for a second (oldest first). */
  private sweep(): void {
    const cutoff = performance.now() - SURPLUS_IDLE_MS;
    while (this.idle.length > this.options.keepAlive && (this.idle[0]![kIdleSince] ?? 0) < cutoff)
      this.idle
        .shift()!
        .close()
        .catch(() => {});
  }

  /** The address connections go to, `HOST:PORT` (IPv6 in brackets). */
  get target(): string {
    return isIP(this.host) === 6 ? `[${this.host}]:${this.port}` : `${this.host}:${this.port}`;
  }

  /** `http://ADDRESS:PORT` or `https://…`. */
  get origin(): string {
    return `${this.secure ? "https" : "http"}://${this.target}`;
  }

  /** TLS settings for connections to an `https://` upstream (undefined for plain ones). */
  get tlsOptions(): import("node:tls").ConnectionOptions | undefined {
    if (!this.secure) return undefined;
    return {
      servername: this.servername,
      ...(this.options.ca === null ? {} : { ca: [...rootCertificates, this.options.ca] }),
      ALPNProtocols: ["http/1.1"],
    };
  }

  healthy(now: number): boolean {
    return this.activeUp && now >= this.ejectedUntil;
  }

  /** A connection for one request: an idle one, or a new one. */
  acquire(): TimedClient {
    this.inflight++;
    const c = this.idle.pop();
    if (c !== undefined) return c;
    const client: TimedClient = new Client(this.origin, {
      connect: this.tlsOptions,
      connectTimeout: this.options.connectTimeout,
      headersTimeout: this.options.headersTimeout,
      bodyTimeout: this.options.bodyTimeout,
      pipelining: 1,
    });
    client.on("connect", () => {
      this.connections++;
      client[kConnectedAt] = performance.now();
    });
    // A failed connection is reported by the request that used it.
    client.on("connectionError", () => {});
    return client;
  }

  /** When `client` connected last (to tell a new connection's time from a reused one). */
  connectedAt(client: Client): number {
    return (client as TimedClient)[kConnectedAt] ?? 0;
  }

  /** The request on `client` is over: keep it for the next one, or close it. */
  release(client: Client): void {
    this.inflight--;
    if (this.closed || this.options.keepAlive === 0 || client.closed || client.destroyed) {
      client.close().catch(() => {});
      return;
    }
    const c = client as TimedClient;
    c[kIdleSince] = performance.now();
    this.idle.push(c);
  }

  /** A request failed on the upstream's side (connect error, reset, timeout, 5xx). */
  failed(reason: string): void {
    const p = this.options.passive;
    if (p.fails === 0) return;
    this.failures++;
    if (this.failures < p.fails || Date.now() < this.ejectedUntil) return;
    this.failures = 0;
    const wasHealthy = this.healthy(Date.now());
    this.ejectedUntil = Date.now() + p.cooldown;
    if (this.cooldown !== null) clearTimeout(this.cooldown);
    this.cooldown = setTimeout(() => {
      this.cooldown = null;
      if (this.activeUp) this.onHealth(true, "passive", "cooldown over");
    }, timerMs(p.cooldown));
    this.cooldown.unref();
    if (wasHealthy) this.onHealth(false, "passive", `${p.fails} failures in a row (last: ${reason})`);
  }

  /** A request got an answer that is not a failure. */
  succeeded(): void {
    this.failures = 0;
  }

  /** An active check's result; `passes`/`fails` in a row change the verdict. */
  checked(ok: boolean, passes: number, fails: number, reason: string): void {
    if (ok && this.activeUp && Date.now() < this.ejectedUntil) {
      // Ejected by request failures, yet its checks pass: it is back (the check proves it answers).
      this.ejectedUntil = 0;
      this.failures = 0;
      if (this.cooldown !== null) clearTimeout(this.cooldown);
      this.cooldown = null;
      this.onHealth(true, "active", reason);
      return;
    }
    if (ok === this.activeUp) {
      this.streak = 0;
      return;
    }
    this.streak++;
    if (this.streak < (ok ? passes : fails)) return;
    this.streak = 0;
    this.activeUp = ok;
    if (ok) {
      this.ejectedUntil = 0;
      this.failures = 0;
    }
    this.onHealth(ok, "active", reason);
  }

  /** Closes idle connections now and busy ones when their request ends. */
  close(): void {
    this.closed = true;
    clearInterval(this.sweeper);
    if (this.cooldown !== null) clearTimeout(this.cooldown);
    for (const c of this.idle.splice(0)) c.close().catch(() => {});
  }
}
