/**
 * The JSON Schema of Ferry's configuration as a user writes it (in `ferry.yaml`
 * or through CLI flags). The descriptions are the user documentation:
 * `npm run docs` renders them into `docs/config.md`.
 */
import { realtimeSchema } from "./schema-realtime.js";
import { duration, listenAddress, size } from "./schema-units.js";

const headers = {
  type: "object",
  description: "Response headers added to every answer from here (name → value).",
  additionalProperties: { type: "string" },
  propertyNames: { pattern: "^[!#$%&'*+.^_`|~0-9A-Za-z-]+$" },
} as const;

/** Fields a site and a location share; a location inherits what it leaves out from its site. */
const servingFields = {
  root: {
    type: "string",
    description: "Folder whose files are served. Relative paths are relative to the config file's folder.",
  },
  index: {
    type: "array",
    items: { type: "string", pattern: "^[^/\\\\]+$" },
    description: "File names tried, in order, when a folder is requested. Default `[index.html]`.",
  },
  listing: {
    type: "boolean",
    description:
      "Show a listing of folders that have no index file (HTML, or JSON for `Accept: application/json`). Default `false`.",
  },
  spa: {
    type: "string",
    pattern: "^/",
    description:
      "Single-page-app fallback: a path (e.g. `/index.html`) served with 200 for GET/HEAD requests that match no file.",
  },
  headers,
  cacheControl: {
    type: "string",
    description: "`Cache-Control` value sent with files served from here, e.g. `public, max-age=3600`.",
  },
  symlinks: {
    enum: ["inside", "follow"],
    description:
      "`inside` (default) serves a symlink only when its target stays inside the root; `follow` allows any target.",
  },
  compress: {
    type: "boolean",
    description:
      "Compress compressible files on the fly (gzip, brotli) and serve `.br`/`.gz` siblings. Default `true`.",
  },
} as const;

const location = {
  type: "object",
  additionalProperties: false,
  required: ["path"],
  description: "A path prefix inside a site with its own settings. The longest matching prefix wins.",
  properties: {
    path: {
      type: "string",
      pattern: "^/",
      description: "Path prefix this location handles, e.g. `/assets/`.",
    },
    ...servingFields,
    redirect: {
      type: "object",
      additionalProperties: false,
      required: ["to"],
      description: "Answer every request here with a redirect instead of a file.",
      properties: {
        to: {
          type: "string",
          minLength: 1,
          description:
            "Target URL or path. The rest of the request path after the prefix is appended when it ends with `/`.",
        },
        status: { enum: [301, 302, 303, 307, 308], description: "Redirect status. Default `301`." },
      },
    },
  },
} as const;

const site = {
  type: "object",
  additionalProperties: false,
  description: "A virtual host: the names it answers to and what it serves.",
  properties: {
    hosts: {
      type: "array",
      items: { type: "string", pattern: "^(\\*\\.)?[A-Za-z0-9_.-]+$" },
      description:
        "Host names, exact (`example.test`) or wildcard (`*.example.test`). Exact names win over wildcards.",
    },
    dnsOverHttps: {
      type: "boolean",
      description:
        "Answer DNS over HTTPS (RFC 8484) on `/dns-query` of this site, from the `dns` section's zones and forwarder. Default `false`.",
    },
    default: {
      type: "boolean",
      description:
        "Serve requests whose Host matches no site. The first site is the default unless another says so.",
    },
    ...servingFields,
    errorPages: {
      type: "object",
      description: "Custom error pages: status → path inside the site root, e.g. `404: /404.html`.",
      propertyNames: { pattern: "^[45]\\d\\d$" },
      additionalProperties: { type: "string", pattern: "^/" },
    },
    locations: { type: "array", items: location, description: "Path prefixes with their own settings." },
    realtime: {
      type: "array",
      items: realtimeSchema,
      description: "Realtime endpoints: WebSocket pub/sub and the HTTP publish API, each on its own path.",
    },
  },
} as const;

/** The schema of the user-facing configuration. */
export const configSchema = {
  type: "object",
  additionalProperties: false,
  properties: {
    http: {
      type: "object",
      additionalProperties: false,
      description: "The web server. Left out, Ferry serves no HTTP.",
      properties: {
        listen: {
          type: "array",
          items: listenAddress,
          minItems: 1,
          description: "Addresses to listen on. Default `[127.0.0.1:8080]`.",
        },
        limits: {
          type: "object",
          additionalProperties: false,
          description: "Limits every HTTP listener enforces.",
          properties: {
            maxRequestLine: {
              ...size,
              description: "Longest request line (method, target, version); longer gets 414. Default `8KiB`.",
            },
            maxHeaderSize: {
              ...size,
              description: "Largest total of request header bytes; more gets 431. Default `16KiB`.",
            },
            maxHeaderCount: {
              type: "integer",
              minimum: 1,
              description: "Most request headers; more gets 431. Default `100`.",
            },
            maxBodySize: { ...size, description: "Largest request body; more gets 413. Default `1MiB`." },
            headerTimeout: {
              ...duration,
              description: "Time a client has to send its request headers; then 408. Default `10s`.",
            },
            requestTimeout: {
              ...duration,
              description: "Time a client has to send a whole request; then 408. Default `30s`.",
            },
            idleTimeout: {
              ...duration,
              description: "How long an idle keep-alive connection stays open. Default `5s`.",
            },
            sendTimeout: {
              ...duration,
              description:
                "How long a response may wait on a client that reads nothing (slow read) before the connection is closed. Default `30s`.",
            },
            maxConnections: {
              type: "integer",
              minimum: 1,
              description: "Most open connections per listener; more are refused. Default `10000`.",
            },
          },
        },
        fileCache: {
          type: "object",
          additionalProperties: false,
          description:
            "In-memory cache of small hot files (content, headers and compressed variants prepared once).",
          properties: {
            maxSize: {
              ...size,
              description: "Memory the cache may use in all. `0` turns it off. Default `64MiB`.",
            },
            maxFileSize: {
              ...size,
              description: "Largest file the cache keeps; larger files are streamed. Default `256KiB`.",
            },
            validity: {
              ...duration,
              description:
                "How long a cached file is trusted before it is checked on disk again. Default `1s`.",
            },
          },
        },
        compression: {
          type: "object",
          additionalProperties: false,
          description: "On-the-fly compression of compressible types.",
          properties: {
            threshold: {
              ...size,
              description: "Files smaller than this are sent as they are. Default `1KiB`.",
            },
            gzip: { type: "boolean", description: "Offer gzip. Default `true`." },
            brotli: { type: "boolean", description: "Offer brotli. Default `true`." },
          },
        },
        sites: {
          type: "array",
          items: site,
          minItems: 1,
          description: "Virtual hosts. Default: one site serving the current folder.",
        },
      },
    },
    dns: {
      type: "object",
      additionalProperties: false,
      description: "The authoritative DNS server. Left out, Ferry serves no DNS.",
      properties: {
        listen: {
          type: "array",
          items: listenAddress,
          minItems: 1,
          description: "Addresses to answer on, over UDP and TCP each. Default `[127.0.0.1:8053]`.",
        },
        zones: {
          type: "array",
          description: "Zones served from RFC 1035 master files (see docs/zone-files.md).",
          items: {
            type: "object",
            additionalProperties: false,
            oneOf: [{ required: ["file"] }, { required: ["records", "origin"] }],
            properties: {
              file: {
                type: "string",
                minLength: 1,
                description: "Zone file, relative to the config file's folder.",
              },
              records: {
                type: "string",
                description:
                  "The zone written inline in master-file syntax, instead of `file` (needs `origin`).",
              },
              origin: {
                type: "string",
                pattern: "^[A-Za-z0-9_.*-]*\\.?$",
                description:
                  "The zone's name. Default: the file name without `.zone`, e.g. `example.test.zone` → `example.test`.",
              },
            },
          },
        },
        forward: {
          type: "array",
          items: {
            type: "string",
            minLength: 1,
          },
          description:
            "Upstream resolvers (`IP[:PORT]`, port 53 when left out; IPv6 as `[::1]:53`) for names outside the zones, tried in order with failover. Left out, such names get REFUSED.",
        },
        forwardTimeout: {
          ...duration,
          description: "How long to wait for one upstream answer before trying the next. Default `2s`.",
        },
        cacheSize: {
          type: "integer",
          minimum: 0,
          maximum: 10000000,
          description: "Most answers the forwarder keeps in its cache (0: no cache). Default `10000`.",
        },
        tcpIdleTimeout: {
          ...duration,
          description: "How long an idle DNS-over-TCP connection stays open. Default `10s`.",
        },
        tcpMessageTimeout: {
          ...duration,
          description:
            "A query over TCP must arrive whole within this of its first byte, or the connection closes (a byte now and then does not keep it open). Default `2s`.",
        },
        tcpMaxConnections: {
          type: "integer",
          minimum: 1,
          maximum: 1000000,
          description:
            "Open DNS-over-TCP connections per listener. At the cap a new connection closes the least recently active idle one (then one stuck mid-query) rather than being refused. Default `1000`.",
        },
      },
    },
    admin: {
      type: "object",
      additionalProperties: false,
      description:
        "The admin listener: the live inspector (DNS, HTTP and WebSocket traffic) and `/metrics`. Left out, there is none.",
      properties: {
        listen: {
          ...listenAddress,
          description:
            "`HOST:PORT` of the admin listener. Default `127.0.0.1:9090`. Must be loopback unless `allowRemote`.",
        },
        allowRemote: {
          type: "boolean",
          description:
            "Allow a non-loopback admin address (the inspector shows every request's headers). Default `false`.",
        },
        token: {
          type: "string",
          minLength: 16,
          description:
            "A secret every admin request must carry: `Authorization: Bearer TOKEN` (for `/metrics` scrapers), or open the page once as `/?token=TOKEN` (it sets an HttpOnly cookie). Required when the listener is not loopback. Default: none (loopback only, and the page checks `Host` and `Origin`).",
        },
        events: {
          type: "integer",
          minimum: 10,
          maximum: 100000,
          description:
            "Recent DNS queries, HTTP exchanges and WebSocket sessions kept, each. Default `1000`.",
        },
        frames: {
          type: "integer",
          minimum: 10,
          maximum: 10000,
          description: "Frames kept per WebSocket session while an inspector watches. Default `200`.",
        },
      },
    },
    log: {
      type: "object",
      additionalProperties: false,
      description: "Logging.",
      properties: {
        level: {
          enum: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
          description: "Server log level. Default `info`.",
        },
        access: {
          description:
            "Access log: one line per request. `false` turns it off. Default `{format: json, output: stdout}`.",
          oneOf: [
            { const: false },
            {
              type: "object",
              additionalProperties: false,
              properties: {
                format: {
                  enum: ["json", "combined"],
                  description: "`json` (default) or the combined log format of nginx and Apache.",
                },
                output: {
                  type: "string",
                  minLength: 1,
                  description:
                    "`stdout` (default), `stderr`, or a file path (relative to the config file's folder).",
                },
              },
            },
          ],
        },
      },
    },
    shutdown: {
      type: "object",
      additionalProperties: false,
      description: "Graceful stop on SIGINT/SIGTERM.",
      properties: {
        grace: {
          ...duration,
          description:
            "How long in-flight requests may take to finish before connections are closed. Default `10s`.",
        },
      },
    },
  },
} as const;
