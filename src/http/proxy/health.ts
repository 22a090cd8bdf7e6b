/**
 * Active health checks: a GET of `health.path` to each upstream every
 * `interval` (a 2xx or 3xx within `timeout` passes). The verdict changes
 * after `passes`/`fails` results in a row (see `Upstream.checked`).
 */
import { Agent, request } from "undici";
import { timerMs } from "../../core/clock.js";
import type { ProxyLocationConfig } from "../../core/config/types.js";
import type { Upstream } from "./upstream.js";

export class HealthChecks {
  private readonly timers: NodeJS.Timeout[] = [];
  /** For https:// upstreams: an agent with their TLS settings (names, extra roots). */
  private readonly agents = new Map<Upstream, Agent>();

  private agentFor(u: Upstream): Agent {
    let a = this.agents.get(u);
    if (a === undefined) {
      a = new Agent({ connect: u.tlsOptions });
      this.agents.set(u, a);
    }
    return a;
  }
  private stopped = false;

  constructor(
    private readonly health: NonNullable<ProxyLocationConfig["health"]>,
    upstreams: readonly Upstream[],
  ) {
    for (const u of upstreams) {
      // The first round at once (upstreams start healthy; a dead one is found within `fails` intervals).
      void this.check(u);
      const t = setInterval(() => void this.check(u), timerMs(health.interval));
      t.unref();
      this.timers.push(t);
    }
  }

  private async check(u: Upstream): Promise<void> {
    const h = this.health;
    await u.ready;
    let ok = false;
    let reason = "";
    try {
      const res = await request(`${u.origin}${h.path}`, {
        method: "GET",
        ...(u.secure ? { dispatcher: this.agentFor(u) } : {}),
        headersTimeout: h.timeout,
        bodyTimeout: h.timeout,
        signal: AbortSignal.timeout(h.timeout),
        headers: { "user-agent": "ferry-health-check" },
      });
      await res.body.dump();
      ok = res.statusCode >= 200 && res.statusCode < 400;
      reason = `health check ${h.path}: ${res.statusCode}`;
    } catch (err) {
      const e = err as NodeJS.ErrnoException;
      reason = `health check ${h.path}: ${e.code ?? e.name}`;
    }
    if (!this.stopped) u.checked(ok, h.passes, h.fails, reason);
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    for (const a of this.agents.values()) a.close().catch(() => {});
  }
}
