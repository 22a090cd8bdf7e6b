/** Turns a site's realtime endpoints as written into their canonical form. */
import type { KeyPath, RawProblem } from "./problems.js";
import { channelRule, realtimeSchema } from "./schema-realtime.js";
import type { ChannelRule, RealtimeConfig, UserRealtime } from "./types.js";
import { parseDuration, parseSize } from "./units.js";

/** Inside a `oneOf` branch, so the validator cannot fill it in: read from the schema. */
const DEFLATE_THRESHOLD = realtimeSchema.properties.deflate.oneOf[1].properties.threshold.default;

/** The rule of an endpoint that lists none: the schema's defaults for a rule matching `*`. */
function defaultRule(): ChannelRule {
  const p = channelRule.properties;
  return {
    match: "*",
    publish: p.publish.default,
    historySize: p.history.properties.size.default,
    historyAge: parseDuration(p.history.properties.age.default),
    maxSubscribers: p.maxSubscribers.default,
  };
}

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
    const pingInterval = parseDuration(r.pingInterval!);
    const idleTimeout = parseDuration(r.idleTimeout!);
    if (idleTimeout > 0 && pingInterval > 0 && idleTimeout <= pingInterval)
      problems.push({
        path: [...here, "idleTimeout"],
        message:
          "idleTimeout must be longer than pingInterval, or live clients are closed before they are pinged",
      });
    const deflate = r.deflate!;
    const channels: ChannelRule[] = (r.channels ?? []).map((c) => ({
      match: c.match,
      publish: c.publish!,
      historySize: c.history!.size!,
      historyAge: parseDuration(c.history!.age!),
      maxSubscribers: c.maxSubscribers!,
    }));
    return {
      path: r.path,
      publishKey: r.publishKey ?? null,
      broker: r.broker ?? null,
      origins: (r.origins ?? []).map((o) => o.toLowerCase().replace(/\/$/, "")),
      protocols: r.protocols ?? [],
      maxMessageSize: parseSize(r.maxMessageSize!),
      maxBackpressure: parseSize(r.maxBackpressure!),
      maxSubscriptions: r.maxSubscriptions!,
      maxChannels: r.maxChannels!,
      maxJsonDepth: r.maxJsonDepth!,
      pingInterval,
      idleTimeout,
      deflate: {
        enabled: deflate !== false,
        threshold: parseSize(
          (typeof deflate === "object" ? deflate.threshold : undefined) ?? DEFLATE_THRESHOLD,
        ),
      },
      channels: channels.length > 0 ? channels : [defaultRule()],
    };
  });
}
