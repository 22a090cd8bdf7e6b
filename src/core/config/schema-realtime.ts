/** The JSON Schema of a site's realtime endpoint (rendered into docs/config.md). */
import { duration, size } from "./schema-units.js";

export const channelRule = {
  type: "object",
  additionalProperties: false,
  required: ["match"],
  description: "What is allowed on the channels whose names match. The first matching rule applies.",
  properties: {
    match: {
      type: "string",
      minLength: 1,
      description: "Channel name pattern; `*` matches any run of characters, e.g. `ticker:*`.",
    },
    publish: {
      type: "boolean",
      default: false,
      description:
        "Clients may publish on these channels over their WebSocket (`false`: only the HTTP API may).",
    },
    history: {
      type: "object",
      default: {},
      additionalProperties: false,
      description: "Messages kept so that a client can resubscribe with `since` and get what it missed.",
      properties: {
        size: { type: "integer", minimum: 0, default: 100, description: "Most messages kept per channel." },
        age: { ...duration, default: "5m", description: "How long a message is kept." },
      },
    },
    maxSubscribers: {
      type: "integer",
      minimum: 1,
      default: 100000,
      description: "Most subscribers per channel.",
    },
  },
} as const;

export const realtimeSchema = {
  type: "object",
  additionalProperties: false,
  required: ["path"],
  description: "A WebSocket pub/sub endpoint. The same path takes `POST` to publish (see docs/protocol.md).",
  properties: {
    path: {
      type: "string",
      pattern: "^/",
      expects: "a path that starts with /, e.g. /ws",
      description: "Path of the endpoint, e.g. `/ws`.",
    },
    publishKey: {
      type: "string",
      minLength: 8,
      description:
        "Bearer key of the HTTP publish API. Left out, Ferry generates one at start and prints it in its log.",
    },
    broker: {
      type: "string",
      pattern:
        "^(rediss?://.*|rediss?\\+cluster://(([^:@/%]|%[0-9A-Fa-f]{2})*(:([^@/%]|%[0-9A-Fa-f]{2})*)?@)?[^@/,]+:[0-9]+(,[^@/,]+:[0-9]+)*(/0?)?)$",
      expects:
        "a Redis URL such as redis://127.0.0.1:6379/0, or redis+cluster://HOST:PORT,HOST:PORT for a Redis Cluster",
      description:
        "Share the endpoint's channels with every Ferry node on this Redis (`redis://[:PASSWORD@]HOST:PORT/DB`, `rediss://` for TLS): offsets, epochs and history live in Redis, a message published on any node reaches every subscriber once. A Redis Cluster: `redis+cluster://[:PASSWORD@]HOST:PORT[,HOST:PORT…]` (seed nodes; a channel's keys share one hash slot). Left out, channels are local to the process.",
    },
    origins: {
      type: "array",
      items: { type: "string", pattern: "^https?://" },
      description:
        "Allowed `Origin` values of browser handshakes, e.g. `http://127.0.0.1:8080`. Default: any. Clients that send no Origin are always allowed.",
    },
    protocols: {
      type: "array",
      items: { type: "string", pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
      description: "Subprotocols offered in `Sec-WebSocket-Protocol`, preferred first. Default: none.",
    },
    maxMessageSize: {
      ...size,
      default: "1MiB",
      description:
        "Largest message from a client (after decompression) and largest publish body; more closes with 1009 (or 413).",
    },
    maxBackpressure: {
      ...size,
      default: "1MiB",
      description:
        "Most bytes queued for one connection; a client that reads slower is disconnected (close code 4008).",
    },
    maxSubscriptions: {
      type: "integer",
      minimum: 1,
      default: 100,
      description: "Most channels one connection may subscribe to.",
    },
    maxChannels: {
      type: "integer",
      minimum: 1,
      default: 10000,
      description: "Most channels the endpoint keeps at once.",
    },
    maxJsonDepth: {
      type: "integer",
      minimum: 2,
      maximum: 1000,
      default: 64,
      description:
        "Deepest nesting of arrays and objects in a client message or publish body; deeper is refused (`bad_request`, or 400).",
    },
    pingInterval: {
      ...duration,
      default: "25s",
      description: "A connection silent this long is pinged. `0` turns pings off.",
    },
    idleTimeout: {
      ...duration,
      default: "60s",
      description:
        "A connection silent this long (no data and no answer to pings) is closed with code 4000. `0` turns it off.",
    },
    deflate: {
      default: true,
      description:
        "permessage-deflate (RFC 7692): `false` turns it off; `{threshold}` sets the smallest message that is compressed (threshold `1KiB` when on).",
      oneOf: [
        { type: "boolean" },
        {
          type: "object",
          additionalProperties: false,
          properties: {
            threshold: { ...size, default: "1KiB", description: "Smallest message compressed." },
          },
        },
      ],
    },
    channels: {
      type: "array",
      items: channelRule,
      description:
        "Channel rules, first match wins. Default: one rule `*` (any channel, no client publishing). A channel no rule matches is refused.",
    },
  },
} as const;
