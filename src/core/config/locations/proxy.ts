/** The `proxy` location kind's normaliser: upstreams parsed, durations and sizes in ms and bytes. */
import nodePath from "node:path";
import { parseCidr } from "../../cidr.js";
import { parseListen } from "../listen.js";
import type { KeyPath, RawProblem } from "../problems.js";
import type { HeaderRules, ProxyLocationConfig, UpstreamAddress, UserProxy } from "../types.js";
import { parseDuration, parseSize } from "../units.js";

/** What a proxy location takes from its site and listener. */
export interface ProxyContext {
  maxBodySize: number;
  trustedProxies: string[];
  baseDir: string;
}

/** Parses an upstream as written (`HOST:PORT` or `http://HOST:PORT`). */
export function parseUpstream(text: string): UpstreamAddress | null {
  const secure = text.startsWith("https://");
  const bare = text.replace(/^https?:\/\//, "").replace(/\/$/, "");
  const addr = parseListen(bare);
  if (addr === null || addr.port === 0) return null;
  return { name: bare, host: addr.host, port: addr.port, tls: secure };
}

function rules(r: { set?: Record<string, string>; remove?: string[] } | undefined): HeaderRules {
  return { set: { ...r?.set }, remove: (r?.remove ?? []).map((h) => h.toLowerCase()) };
}

/** Checks a site's `trustedProxies`, returning them in canonical form. */
export function normalizeTrusted(list: string[], at: KeyPath, problems: RawProblem[]): string[] {
  const out: string[] = [];
  list.forEach((text, i) => {
    const c = parseCidr(text);
    if (c === null)
      problems.push({
        path: [...at, i],
        message: `${text} is not an address or range such as 10.0.0.0/8 or ::1/128`,
      });
    else out.push(`${c.address}/${c.prefix}`);
  });
  return out;
}

export function normalizeProxy(
  path: string,
  p: UserProxy,
  ctx: ProxyContext,
  at: KeyPath,
  problems: RawProblem[],
): ProxyLocationConfig {
  const to: UpstreamAddress[] = [];
  p.to.forEach((text, i) => {
    const u = parseUpstream(text);
    if (u === null)
      problems.push({
        path: [...at, "to", i],
        message: `${text} is not HOST:PORT, http://HOST:PORT or https://HOST:PORT with a port from 1 to 65535`,
      });
    else to.push(u);
  });
  const h = p.health;
  const t = p.timeouts!;
  return {
    kind: "proxy",
    path,
    to,
    balance: p.balance!,
    stripPrefix: p.stripPrefix!,
    preserveHost: p.preserveHost!,
    health:
      h === undefined
        ? null
        : {
            path: h.path!,
            interval: parseDuration(h.interval!),
            timeout: parseDuration(h.timeout!),
            passes: h.passes!,
            fails: h.fails!,
          },
    passive: { fails: p.passive!.fails!, cooldown: parseDuration(p.passive!.cooldown!) },
    timeouts: {
      connect: parseDuration(t.connect!),
      response: parseDuration(t.response!),
      idle: parseDuration(t.idle!),
    },
    retries: p.retries!,
    keepAlive: p.keepAlive!,
    headers: { request: rules(p.headers!.request), response: rules(p.headers!.response) },
    // The listener's limit is a ceiling for every handler; a location can only lower it.
    maxBodySize:
      p.maxBodySize === undefined ? ctx.maxBodySize : Math.min(parseSize(p.maxBodySize), ctx.maxBodySize),
    trustedProxies: ctx.trustedProxies,
    caRoots: p.caRoots === undefined ? null : nodePath.resolve(ctx.baseDir, p.caRoots),
  };
}
