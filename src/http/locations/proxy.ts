/**
 * The `proxy` location kind: a reverse proxy to a list of upstreams with a
 * balancing policy, active and passive health, a keep-alive pool per
 * upstream, retries that never resend what may have reached an upstream,
 * streaming both ways, and WebSocket pass-through. Every method goes up.
 */

import { readFileSync } from "node:fs";
import { AddressSet } from "../../core/cidr.js";
import { turnNow, turnWallNow } from "../../core/clock.js";
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
import { classify, IDEMPOTENT, type ProxyFailure } from "../proxy/errors.js";
import { Exchange, type UpstreamAnswer } from "../proxy/exchange.js";
import { requestHeaders, responseHeaders, wantsWebSocket } from "../proxy/headers.js";
import { HealthChecks } from "../proxy/health.js";
import { Upstream } from "../proxy/upstream.js";
import { sendUpgrade, upgradedReply } from "../proxy/websocket.js";
import { encodePath } from "../static/resolve-path.js";
import type { FerryRequest, Reply } from "../types.js";
import type { LocationHandler, Route, SiteRef } from "./handler.js";

/** What the first try of a request excludes: nothing. */
const NONE_TRIED: ReadonlySet<Upstream> = new Set();

/** Responses up to this size with a Content-Length are read whole before they are sent. */
const BUFFER_MAX = 64 * 1024;

/** An attempt at one upstream failed; `mayRetry` says whether another upstream may be tried. */
class AttemptError {
  constructor(
    readonly cause: unknown,
    readonly mayRetry: (f: ProxyFailure) => boolean,
  ) {}
}

function newExchange(): UpstreamExchange {
  return { address: "", status: 0, connectMs: 0, firstByteMs: 0, tries: 0, error: "" };
}

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
  /** The location's path without its last `/` (what `stripPrefix` takes off). */
  private readonly prefix: string;

  constructor(
    readonly config: ProxyLocationConfig,
    private readonly site: string,
  ) {
    const t = config.timeouts;
    this.prefix = config.path.replace(/\/$/, "");
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
            ca: config.caRoots === null ? null : readFileSync(config.caRoots, "utf8"),
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
    const prefix = this.prefix;
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
      proto: req.secure ? "https" : "http",
      host: this.config.preserveHost && typeof host === "string" ? host : up.name,
      websocket,
      rules: this.config.headers.request,
    });
  }

  /** Tells the log and the inspector that an upstream failed this request (also when another is tried next). */
  private report(site: SiteRef, upstream: string, code: string, message: string): void {
    if (!proxyErrorChannel.hasSubscribers) return;
    const event: ProxyErrorEvent = {
      time: Date.now(),
      site: site.name,
      location: this.config.path,
      upstream,
      code,
      message,
    };
    proxyErrorChannel.publish(event);
  }

  /** The error answer; `code` goes in the access log and the inspector's row. */
  private fail(
    status: number,
    code: string,
    info: UpstreamExchange,
    site: SiteRef,
    extra: string[] = [],
  ): Reply {
    info.error = code;
    const reply = plainReply(status, site.name, this.config.path, extra);
    reply.handler = "proxy";
    reply.upstream = info;
    return reply;
  }

  /** Nothing healthy to send to. */
  private unavailable(info: UpstreamExchange, site: SiteRef): Reply {
    this.report(site, "", "ERR_PROXY_UNAVAILABLE", "no healthy upstream");
    return this.fail(503, "ERR_PROXY_UNAVAILABLE", info, site, ["Retry-After", "1"]);
  }

  /**
   * Sends to upstreams the policy picks until one answers. `send` resolves
   * with the answer, or with a status for the client's own failure (its body
   * was too large or broken), or throws an `AttemptError` that says whether
   * this failure may go to another upstream. Each upstream failure is
   * reported and counted against that upstream (passive health).
   */
  private async tryUpstreams<T>(
    req: FerryRequest,
    site: SiteRef,
    info: UpstreamExchange,
    send: (up: Upstream) => Promise<T | number>,
  ): Promise<{ up: Upstream; answer: T } | Reply> {
    // Made at the first failure: most requests are answered by the first upstream they try.
    let tried: Set<Upstream> | null = null;
    let last: ProxyFailure | null = null;
    for (;;) {
      const up = this.balancer.pick(this.list, req.remoteAddress, tried ?? NONE_TRIED, turnWallNow());
      if (up === null)
        return last !== null ? this.fail(last.status, last.code, info, site) : this.unavailable(info, site);
      info.address = up.name;
      info.tries++;
      if (!up.resolved) await up.ready;
      let answer: T | number;
      try {
        answer = await send(up);
      } catch (e) {
        tried ??= new Set();
        tried.add(up);
        const err = e instanceof AttemptError ? e : new AttemptError(e, () => false);
        const f = classify(err.cause);
        up.failed(f.code);
        last = f;
        const again = err.mayRetry(f) && info.tries <= this.config.retries;
        const why = (err.cause as Error).message;
        this.report(site, up.name, f.code, `${up.name}: ${why}${again ? " (trying another upstream)" : ""}`);
        if (again) continue;
        return this.fail(f.status, f.code, info, site);
      }
      if (typeof answer === "number")
        return this.fail(
          answer,
          answer === 413 ? "ERR_HTTP_BODY_TOO_LARGE" : "ERR_HTTP_BAD_REQUEST",
          info,
          site,
        );
      return { up, answer };
    }
  }

  async handle(req: FerryRequest, route: Route, site: SiteRef): Promise<Reply> {
    const info = newExchange();
    const max = this.config.maxBodySize;
    const cl = req.headers["content-length"];
    if (typeof cl === "string" && Number(cl) > max)
      return this.fail(413, "ERR_HTTP_BODY_TOO_LARGE", info, site);
    const source = req.hasBody ? req.stream(max) : null;
    const clientError = { error: null as Error | null };
    source?.on("error", (err) => {
      clientError.error = err;
    });
    const path = this.target(req, route);
    const idempotent = IDEMPOTENT.has(req.method);
    const result = await this.tryUpstreams(req, site, info, (up) => {
      const headers = this.headers(req, up, false);
      const body = source === null ? null : new AttemptBody(source);
      const client = up.acquire();
      const t0 = turnNow();
      return new Promise<UpstreamAnswer | number>((resolve, reject) => {
        const exchange = new Exchange(req.method, BUFFER_MAX, {
          answered: (r) => {
            const connected = up.connectedAt(client);
            info.connectMs = connected > t0 ? connected - t0 : 0;
            info.firstByteMs = r.headAt - t0;
            resolve(r);
          },
          failed: (err) => {
            body?.destroy();
            const own = clientError.error;
            if (own !== null) {
              resolve(own instanceof HttpBodyTooLargeError ? 413 : 400);
              return;
            }
            // Never sent twice: a connect failure only when no body byte left; a reset only for idempotent requests without one.
            const replayable = body === null || !body.started;
            reject(
              new AttemptError(err, (f) =>
                f.beforeSend ? replayable : f.code === "ERR_PROXY_RESET" && body === null && idempotent,
              ),
            );
          },
          cut: (err) => {
            // Cut by the upstream (a reset, a short body, the idle timeout); a client that left is not a cut.
            up.failed(classify(err).code);
            this.report(site, up.name, "ERR_PROXY_CUT", `${up.name}: ${err.message}`);
            info.error = "ERR_PROXY_CUT";
          },
          release: () => up.release(client),
        });
        client.dispatch(
          {
            path,
            method: req.method as "GET",
            headers,
            body,
            reset: this.config.keepAlive === 0,
          },
          exchange,
        );
      });
    });
    if (!("answer" in result)) return result;
    const { up, answer } = result;
    info.status = answer.status;
    if (answer.status >= 500) up.failed(`status ${answer.status}`);
    // A small body the upstream cut short was counted as a failure already (`cut`).
    else if (info.error !== "ERR_PROXY_CUT") up.succeeded();
    return {
      status: answer.status,
      headers: responseHeaders(answer.headers, this.config.headers.response),
      body:
        answer.body === null || Buffer.isBuffer(answer.body)
          ? answer.body
          : { kind: "stream", stream: answer.body },
      site: site.name,
      location: this.config.path,
      handler: "proxy",
      upstream: info,
    };
  }

  async upgrade(req: FerryRequest, route: Route, site: SiteRef): Promise<Reply> {
    // Only a WebSocket upgrade is passed on; any other (h2c) is served as a plain request.
    if (!wantsWebSocket(req.headers)) return this.handle(req, route, site);
    const info = newExchange();
    const path = this.target(req, route);
    const result = await this.tryUpstreams(req, site, info, async (up) => {
      up.inflight++;
      try {
        return await sendUpgrade(up, req.method, path, this.headers(req, up, true), this.config.timeouts);
      } catch (err) {
        up.inflight--;
        // An upgrade request has no body: a connect failure may go to another upstream.
        throw new AttemptError(err, (f) => f.beforeSend);
      }
    });
    if (!("answer" in result)) return result;
    const { up, answer } = result;
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
      headers: responseHeaders(res.rawHeaders, this.config.headers.response),
      body: bodiless(req.method, res.statusCode ?? 0) ? null : { kind: "stream", stream: res },
    };
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
