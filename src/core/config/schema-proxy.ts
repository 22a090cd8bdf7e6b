/** The schema of a proxy location (`locations[].proxy`, or a site's `proxy` for `/`). */
import { duration, size } from "./schema-units.js";

const headerName = { type: "string", pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" } as const;

const headerRules = {
  type: "object",
  additionalProperties: false,
  default: {},
  properties: {
    set: {
      type: "object",
      default: {},
      additionalProperties: { type: "string" },
      propertyNames: { pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
      description: "Headers set (replacing what was there), name → value.",
    },
    remove: { type: "array", default: [], items: headerName, description: "Headers removed." },
  },
} as const;

export const proxySchema = {
  type: "object",
  additionalProperties: false,
  required: ["to"],
  description:
    "Pass requests here to upstream servers (a reverse proxy), with load balancing, health checks, streaming both ways and WebSocket pass-through.",
  properties: {
    to: {
      type: "array",
      minItems: 1,
      items: {
        type: "string",
        expects: "HOST:PORT, http://HOST:PORT or https://HOST:PORT",
        pattern: "^(https?://)?(\\[[0-9a-fA-F:.]+\\]|[A-Za-z0-9_.-]+):\\d{1,5}/?$",
      },
      description:
        "Upstreams, `HOST:PORT` or `http://HOST:PORT` (`[::1]:3000` for IPv6), or `https://HOST:PORT` to speak TLS to it (verified against the system's roots and `caRoots`, for the name written). Names are resolved at start and on reload.",
    },
    balance: {
      enum: ["round_robin", "least_conn", "client_hash", "first"],
      default: "round_robin",
      description:
        "How an upstream is picked among the healthy ones: in turn, the one with fewest requests in flight, by the client's address (sticky while healthy), or the first in list order.",
    },
    stripPrefix: {
      type: "boolean",
      default: false,
      description:
        "Remove the location's path prefix before passing the request on (`/api/users` → `/users`).",
    },
    preserveHost: {
      type: "boolean",
      default: true,
      description: "Send the client's `Host`; `false` sends the upstream's `HOST:PORT`.",
    },
    health: {
      type: "object",
      additionalProperties: false,
      description: "Active health checks (a GET to each upstream). Left out: none.",
      properties: {
        path: {
          type: "string",
          pattern: "^/",
          default: "/healthz",
          description: "Path checked; a 2xx or 3xx passes.",
        },
        interval: { ...duration, default: "2s", description: "Time between checks of one upstream." },
        timeout: { ...duration, default: "1s", description: "A check with no answer in this time fails." },
        passes: {
          type: "integer",
          minimum: 1,
          default: 2,
          description: "Passes in a row that bring a down upstream back.",
        },
        fails: {
          type: "integer",
          minimum: 1,
          default: 2,
          description: "Failures in a row that take an upstream down.",
        },
      },
    },
    passive: {
      type: "object",
      additionalProperties: false,
      default: {},
      description:
        "Passive ejection: an upstream that fails requests (connect error, reset, timeout, 5xx) in a row is left out for a while.",
      properties: {
        fails: {
          type: "integer",
          minimum: 0,
          default: 3,
          description: "Consecutive failures that eject an upstream. `0` turns passive ejection off.",
        },
        cooldown: { ...duration, default: "10s", description: "How long an ejected upstream is left out." },
      },
    },
    timeouts: {
      type: "object",
      additionalProperties: false,
      default: {},
      description: "Upstream timeouts.",
      properties: {
        connect: {
          ...duration,
          default: "2s",
          description: "To open a connection; then the next upstream is tried (502 when none).",
        },
        response: {
          ...duration,
          default: "30s",
          description: "From sending the request to the upstream's response headers; then 504.",
        },
        idle: {
          ...duration,
          default: "60s",
          description:
            "Between two reads of a response body or a proxied WebSocket; then the connection is cut.",
        },
      },
    },
    retries: {
      type: "integer",
      minimum: 0,
      maximum: 10,
      default: 1,
      description:
        "Other upstreams tried after a connect failure (any method), or a reset before any response byte (idempotent methods only).",
    },
    keepAlive: {
      type: "integer",
      minimum: 0,
      maximum: 10000,
      default: 32,
      description: "Idle connections kept open per upstream for reuse. `0`: a new connection per request.",
    },
    headers: {
      type: "object",
      additionalProperties: false,
      default: {},
      description: "Header changes, after the hop-by-hop headers are removed and X-Forwarded-* are set.",
      properties: {
        request: { ...headerRules, description: "On requests going up." },
        response: { ...headerRules, description: "On responses coming down." },
      },
    },
    caRoots: {
      type: "string",
      minLength: 1,
      description: "Extra roots (PEM file) to trust for `https://` upstreams (a private CA).",
    },
    maxBodySize: {
      ...size,
      description:
        "Largest request body passed up (413 past it); it can lower `http.limits.maxBodySize` for this location, not raise it. Default: `http.limits.maxBodySize`.",
    },
  },
} as const;
