/**
 * The `proxy` location kind: a reverse proxy to a list of upstreams with a
 * balancing policy, active and passive health, a keep-alive pool per
 * upstream, retries that never resend what may have reached an upstream,
 * streaming both ways, and WebSocket pass-through. Every method goes up.
 */
import { AddressSet } from "../../core/cidr.js";
import type { ProxyLocationConfig } from "../../core/config/types.js";
import {
  type ProxyErrorEvent,
  type ProxyHealthEvent,
  proxyErrorChannel,
  proxyHealthChannel,
  type UpstreamExchange,
  type UpstreamState,
} from "../../core/diagnostics.js";
import { HttpBodyTooLargeError } from "../errors.js";
import { plainReply } from "../plain-reply.js";
import { AttemptBody } from "../proxy/attempt-body.js";
import { type Balancer, createBalancer } from "../proxy/balance.js";
import { classify, IDEMPOTENT } from "../proxy/errors.js";
import { requestHeaders, responseHeaders, wantsWebSocket } from "../proxy/headers.js";
import { HealthChecks } from "../proxy/health.js";
import { Upstream } from "../proxy/upstream.js";
import { sendUpgrade, upgradedReply } from "../proxy/websocket.js";
import { encodePath } from "../static/resolve-path.js";
import type { FerryRequest, Reply } from "../types.js";
import type { LocationHandler, Route, SiteRef } from "./handler.js";

/** Statuses whose responses carry no body (and HEAD): the upstream's body is drained, not relayed. */
function bodiless(method: string, status: number): boolean {
  return method === "HEAD" || status === 204 || status === 304 || (status >= 100 && status < 200);
}

export class ProxyLocation implements LocationHandler {
  readonly kind = "proxy";
  readonly methods = null;
  private readonly list: Upstream[];
  private readonly balancer: Balancer<Upstream>;
  private readonly trusted: AddressSet;
  private readonly checks: HealthChecks | null;

  constructor(
    readonly config: ProxyLocationConfig,
    private readonly site: string,
  ) {
    const t = config.timeouts;
    this.list = config.to.map(
      (a) =>
        new Upstream(
          a,
          {
            keepAlive: config.keepAlive,
            connectTimeout: t.connect,
            headersTimeout: t.response,
            bodyTimeout: t.idle,
            passive: config.passive,
          },
          (healthy, source, reason) => this.healthChanged(a.name, healthy, source, reason),
        ),
    );
    this.balancer = createBalancer(config.balance);
    this.trusted = new AddressSet(config.trustedProxies);
    this.checks = config.health === null ? null : new HealthChecks(config.health, this.list);
  }

  private healthChanged(
    upstream: string,
    healthy: boolean,
    source: "active" | "passive",
    reason: string,
  ): void {
    if (!proxyHealthChannel.hasSubscribers) return;
    const event: ProxyHealthEvent = {
      time: Date.now(),
      site: this.site,
      location: this.config.path,
      upstream,
      healthy,
      source,
      reason,
    };
    proxyHealthChannel.publish(event);
  }

  /** The request target upstream: as the client sent it (verbatim), less the prefix with `stripPrefix`. */
  private target(req: FerryRequest, route: Route): string {
    let path = req.rawPath;
    const prefix = this.config.path.replace(/\/$/, "");
    if (this.config.stripPrefix && prefix !== "") {
      path = path.startsWith(prefix)
        ? path.slice(prefix.length)
        : encodePath(route.path).slice(prefix.length);
      if (!path.startsWith("/")) path = `/${path}`;
    }
    return req.query ? `${path}?${req.query}` : path;
  }

  private headers(req: FerryRequest, up: Upstream, websocket: boolean): string[] {
    const host = req.headers.host;
    return requestHeaders(req.rawHeaders, {
      client: req.remoteAddress,
      trusted: this.trusted.has(req.remoteAddress),
      proto: "http",
      host: this.config.preserveHost && typeof host === "string" ? host : up.name,
      websocket,
      rules: this.config.headers.request,
    });
  }

  private fail(
    status: number,
    code: string,
    message: string,
    info: UpstreamExchange,
    site: SiteRef,
    extra: string[] = [],
  ): Reply {
    info.error = code;
    if (proxyErrorChannel.hasSubscribers) {
      const event: ProxyErrorEvent = {
        time: Date.now(),
        site: site.name,
        location: this.config.path,
        upstream: info.address,
        code,
        message,
      };
      proxyErrorChannel.publish(event);
    }
    const reply = plainReply(status, site.name, this.config.path, extra);
    reply.handler = "proxy";
    reply.upstream = info;
    return reply;
  }

  async handle(req: FerryRequest, route: Route, site: SiteRef): Promise<Reply> {
    const info: UpstreamExchange = {
      address: "",
      status: 0,
      connectMs: 0,
      firstByteMs: 0,
      tries: 0,
      error: "",
    };
    const max = this.config.maxBodySize;
    const cl = req.headers["content-length"];
    if (typeof cl === "string" && Number(cl) > max)
      return this.fail(413, "ERR_HTTP_BODY_TOO_LARGE", `a body of ${cl} bytes is over ${max}`, info, site);
    const hasBody = req.headers["transfer-encoding"] !== undefined || (cl !== undefined && cl !== "0");
    const source = hasBody ? req.stream(max) : null;
    const client_ = { error: null as Error | null };
    source?.on("error", (err) => {
      client_.error = err;
    });
    const path = this.target(req, route);
    const tried = new Set<Upstream>();
    let last: { status: number; code: string; message: string } | null = null;
    for (;;) {
      const up = this.balancer.pick(this.list, req.remoteAddress, tried, Date.now());
      if (up === null) {
        if (last !== null) return this.fail(last.status, last.code, last.message, info, site);
        return this.fail(503, "ERR_PROXY_UNAVAILABLE", "no healthy upstream", info, site, [
          "Retry-After",
          "1",
        ]);
      }
      tried.add(up);
      info.address = up.name;
      info.tries++;
      await up.ready;
      const body = source === null ? null : new AttemptBody(source);
      const client = up.acquire();
      const t0 = performance.now();
      let res: Awaited<ReturnType<typeof client.request>>;
      try {
        res = await client.request({
          path,
          method: req.method as "GET",
          headers: this.headers(req, up, false),
          body,
          reset: this.config.keepAlive === 0,
        });
      } catch (err) {
        up.release(client);
        body?.destroy();
        const own = client_.error;
        if (own !== null) {
          // The client's own body failed (too large, bad chunks, gone): not the upstream's fault.
          if (own instanceof HttpBodyTooLargeError)
            return this.fail(413, "ERR_HTTP_BODY_TOO_LARGE", own.message, info, site);
          return this.fail(400, "ERR_HTTP_BAD_REQUEST", own.message, info, site);
        }
        const f = classify(err);
        up.failed(f.code);
        last = { status: f.status, code: f.code, message: `${up.name}: ${(err as Error).message}` };
        const replayable = body === null || !body.started;
        const again = f.beforeSend
          ? replayable
          : f.code === "ERR_PROXY_RESET" && body === null && IDEMPOTENT.has(req.method);
        if (again && info.tries <= this.config.retries) continue;
        return this.fail(last.status, last.code, last.message, info, site);
      }
      const at = up.connectedAt(client);
      info.connectMs = at > t0 ? at - t0 : 0;
      info.firstByteMs = performance.now() - t0;
      info.status = res.statusCode;
      if (res.statusCode >= 500) up.failed(`status ${res.statusCode}`);
      else up.succeeded();
      const stream = res.body;
      stream.once("close", () => up.release(client));
      stream.once("error", (err) => {
        // Cut by the upstream (a reset, a short body, the idle timeout); a client that left destroys it without one.
        const f = classify(err);
        up.failed(f.code);
        if (proxyErrorChannel.hasSubscribers)
          proxyErrorChannel.publish({
            time: Date.now(),
            site: site.name,
            location: this.config.path,
            upstream: up.name,
            code: "ERR_PROXY_CUT",
            message: `${up.name}: ${err.message}`,
          } satisfies ProxyErrorEvent);
        info.error = "ERR_PROXY_CUT";
      });
      const reply: Reply = {
        status: res.statusCode,
        headers: responseHeaders(res.headers, this.config.headers.response),
        body: { kind: "stream", stream },
        site: site.name,
        location: this.config.path,
        handler: "proxy",
        upstream: info,
      };
      if (bodiless(req.method, res.statusCode)) {
        reply.body = null;
        stream.dump().catch(() => {});
      }
      return reply;
    }
  }

  async upgrade(req: FerryRequest, route: Route, site: SiteRef): Promise<Reply> {
    // Only a WebSocket upgrade is passed on; any other (h2c) is served as a plain request.
    if (!wantsWebSocket(req.headers)) return this.handle(req, route, site);
    const info: UpstreamExchange = {
      address: "",
      status: 0,
      connectMs: 0,
      firstByteMs: 0,
      tries: 0,
      error: "",
    };
    const path = this.target(req, route);
    const tried = new Set<Upstream>();
    let last: { status: number; code: string; message: string } | null = null;
    for (;;) {
      const up = this.balancer.pick(this.list, req.remoteAddress, tried, Date.now());
      if (up === null) {
        if (last !== null) return this.fail(last.status, last.code, last.message, info, site);
        return this.fail(503, "ERR_PROXY_UNAVAILABLE", "no healthy upstream", info, site, [
          "Retry-After",
          "1",
        ]);
      }
      tried.add(up);
      info.address = up.name;
      info.tries++;
      await up.ready;
      up.inflight++;
      let answer: Awaited<ReturnType<typeof sendUpgrade>>;
      try {
        answer = await sendUpgrade(up, req.method, path, this.headers(req, up, true), this.config.timeouts);
      } catch (err) {
        up.inflight--;
        const f = classify(err);
        up.failed(f.code);
        last = { status: f.status, code: f.code, message: `${up.name}: ${(err as Error).message}` };
        if (f.beforeSend && info.tries <= this.config.retries) continue;
        return this.fail(last.status, last.code, last.message, info, site);
      }
      info.firstByteMs = answer.firstByteMs;
      info.status = answer.res.statusCode ?? 0;
      up.succeeded();
      const base = { site: site.name, location: this.config.path, handler: "proxy", upstream: info };
      if (answer.kind === "upgraded") {
        return upgradedReply(
          answer,
          this.config.headers.response,
          this.config.timeouts.idle,
          { site: site.name, path: req.rawPath, remoteAddress: req.remoteAddress },
          base,
          () => up.inflight--,
        );
      }
      const res = answer.res;
      res.once("close", () => up.inflight--);
      return {
        ...base,
        status: res.statusCode ?? 502,
        headers: responseHeaders(res.headers, this.config.headers.response),
        body: bodiless(req.method, res.statusCode ?? 0) ? null : { kind: "stream", stream: res },
      };
    }
  }

  /** Each upstream now, for `/metrics` and the inspector. */
  upstreams(): UpstreamState[] {
    const now = Date.now();
    return this.list.map((u) => ({
      site: this.site,
      location: this.config.path,
      upstream: u.name,
      healthy: u.healthy(now),
      inflight: u.inflight,
      connections: u.connections,
    }));
  }

  close(): void {
    this.checks?.stop();
    for (const u of this.list) u.close();
  }
}
