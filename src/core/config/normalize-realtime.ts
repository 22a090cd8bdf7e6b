/** Turns a site's realtime endpoints as written into their canonical form. */
import type { KeyPath, RawProblem } from "./problems.js";
import type { ChannelRule, RealtimeConfig, UserRealtime } from "./types.js";
import { parseDuration, parseSize } from "./units.js";

const DEFAULT_RULE: ChannelRule = {
  match: "*",
  publish: false,
  historySize: 100,
  historyAge: 5 * 60_000,
  maxSubscribers: 100_000,
};

/** Normalises `http.sites[i].realtime`, reporting paths declared twice and timing conflicts. */
export function normalizeRealtime(
  list: UserRealtime[],
  at: KeyPath,
  problems: RawProblem[],
): RealtimeConfig[] {
  const seen = new Set<string>();
  return list.map((r, i) => {
    const here: KeyPath = [...at, i];
    if (seen.has(r.path))
      problems.push({ path: [...here, "path"], message: `realtime path ${r.path} is declared twice` });
    seen.add(r.path);
    const pingInterval = parseDuration(r.pingInterval ?? "25s");
    const idleTimeout = parseDuration(r.idleTimeout ?? "60s");
    if (idleTimeout > 0 && pingInterval > 0 && idleTimeout <= pingInterval)
      problems.push({
        path: [...here, "idleTimeout"],
        message:
          "idleTimeout must be longer than pingInterval, or live clients are closed before they are pinged",
      });
    const deflate = r.deflate ?? true;
    const channels: ChannelRule[] = (r.channels ?? []).map((c) => ({
      match: c.match,
      publish: c.publish ?? false,
      historySize: c.history?.size ?? 100,
      historyAge: parseDuration(c.history?.age ?? "5m"),
      maxSubscribers: c.maxSubscribers ?? 100_000,
    }));
    return {
      path: r.path,
      publishKey: r.publishKey ?? null,
      origins: (r.origins ?? []).map((o) => o.toLowerCase().replace(/\/$/, "")),
      protocols: r.protocols ?? [],
      maxMessageSize: parseSize(r.maxMessageSize ?? "1MiB"),
      maxBackpressure: parseSize(r.maxBackpressure ?? "1MiB"),
      maxSubscriptions: r.maxSubscriptions ?? 100,
      maxChannels: r.maxChannels ?? 10_000,
      maxJsonDepth: r.maxJsonDepth ?? 64,
      pingInterval,
      idleTimeout,
      deflate: {
        enabled: deflate !== false,
        threshold: parseSize((typeof deflate === "object" ? deflate.threshold : undefined) ?? "1KiB"),
      },
      channels: channels.length > 0 ? channels : [{ ...DEFAULT_RULE }],
    };
  });
}
