/**
 * The JSON Schema of Ferry's configuration as a user writes it (in `ferry.yaml`
 * or through CLI flags). The descriptions are the user documentation:
 * `npm run docs` renders them into `docs/config.md`.
 */
import { proxySchema } from "./schema-proxy.js";
import { realtimeSchema } from "./schema-realtime.js";
import { duration, listenAddress, positiveDuration, size } from "./schema-units.js";

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
    description: "File names tried, in order, when a folder is requested.",
  },
  listing: {
    type: "boolean",
    description:
      "Show a listing of folders that have no index file (HTML, or JSON for `Accept: application/json`).",
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
      "`inside` serves a symlink only when its target stays inside the root; `follow` allows any target.",
  },
  compress: {
    type: "boolean",
    description: "Compress compressible files on the fly (gzip, brotli) and serve `.br`/`.gz` siblings.",
  },
} as const;

/** The site's serving fields carry the defaults; its locations inherit from it, so theirs have none. */
const siteServingFields = {
  ...servingFields,
  index: { ...servingFields.index, default: ["index.html"] },
  listing: { ...servingFields.listing, default: false },
  symlinks: { ...servingFields.symlinks, default: "inside" },
  compress: { ...servingFields.compress, default: true },
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
    proxy: proxySchema,
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
        status: { enum: [301, 302, 303, 307, 308], default: 301, description: "Redirect status." },
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
    proxy: {
      ...proxySchema,
      description: "Proxy the whole site (shorthand for a location `/` with this `proxy`).",
    },
    tls: {
      description:
        "This site's certificate on the TLS listeners (`http.tls.listen`): `internal` (issued by Ferry's local CA, see `ferry ca`), `acme` (from the ACME CA of `http.tls.acme`, renewed before expiry), or `{cert, key}` PEM files (the chain in `cert`), reloaded on SIGHUP and when they change. Left out: the default site's certificate.",
      oneOf: [
        { const: "internal" },
        { const: "acme" },
        {
          type: "object",
          additionalProperties: false,
          required: ["cert", "key"],
          properties: {
            cert: {
              type: "string",
              minLength: 1,
              description: "PEM certificate chain, leaf first (relative to the config file's folder).",
            },
            key: {
              type: "string",
              minLength: 1,
              description: "PEM private key (relative to the config file's folder).",
            },
          },
        },
      ],
    },
    hsts: {
      type: "string",
      minLength: 1,
      description:
        "`Strict-Transport-Security` value sent with this site's answers over TLS, e.g. `max-age=31536000`.",
    },
    trustedProxies: {
      type: "array",
      default: [],
      items: { type: "string", minLength: 1 },
      description:
        "Peers (`127.0.0.1/32`, `10.0.0.0/8`, `::1/128`, or a bare address) whose `X-Forwarded-For`, `-Proto` and `-Host` are believed when proxying. From anyone else they are replaced, and `Forwarded` and `X-Real-IP` dropped.",
    },
    dnsOverHttps: {
      type: "boolean",
      default: false,
      description:
        "Answer DNS over HTTPS (RFC 8484) on `/dns-query` of this site, from the `dns` section's zones and forwarder.",
    },
    default: {
      type: "boolean",
      description:
        "Serve requests whose Host matches no site. The first site is the default unless another says so.",
    },
    ...siteServingFields,
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
          default: ["127.0.0.1:8080"],
          description: "Addresses to listen on.",
        },
        limits: {
          default: {},
          type: "object",
          additionalProperties: false,
          description: "Limits every HTTP listener enforces.",
          properties: {
            maxRequestLine: {
              ...size,
              default: "8KiB",
              description: "Longest request line (method, target, version); longer gets 414.",
            },
            maxHeaderSize: {
              ...size,
              default: "16KiB",
              description: "Largest total of request header bytes; more gets 431.",
            },
            maxHeaderCount: {
              type: "integer",
              minimum: 1,
              default: 100,
              description: "Most request headers; more gets 431.",
            },
            maxBodySize: { ...size, default: "1MiB", description: "Largest request body; more gets 413." },
            headerTimeout: {
              ...positiveDuration,
              default: "10s",
              description: "Time a client has to send its request headers; then 408.",
            },
            requestTimeout: {
              ...positiveDuration,
              default: "30s",
              description:
                "Time a client has to send a whole request; then 408 (over HTTP/2: 408 and a reset of that stream).",
            },
            idleTimeout: {
              ...positiveDuration,
              default: "5s",
              description:
                "How long an idle keep-alive connection stays open (an HTTP/2 connection: how long it stays open with no stream).",
            },
            sendTimeout: {
              ...positiveDuration,
              default: "30s",
              description:
                "How long a response may wait on a client that reads nothing (slow read) before the connection is cut (with a TCP reset, TLS aside). Over HTTP/2: the stream is reset once its connection has not moved either, then the connection if even that cannot go out.",
            },
            maxConnections: {
              type: "integer",
              minimum: 1,
              default: 10000,
              description: "Most open connections per listener; more are refused.",
            },
          },
        },
        fileCache: {
          default: {},
          type: "object",
          additionalProperties: false,
          description:
            "In-memory cache of small hot files (content, headers and compressed variants prepared once).",
          properties: {
            maxSize: {
              ...size,
              default: "64MiB",
              description: "Memory the cache may use in all. `0` turns it off.",
            },
            maxFileSize: {
              ...size,
              default: "256KiB",
              description: "Largest file the cache keeps; larger files are streamed.",
            },
            validity: {
              ...duration,
              default: "1s",
              description: "How long a cached file is trusted before it is checked on disk again.",
            },
          },
        },
        compression: {
          default: {},
          type: "object",
          additionalProperties: false,
          description: "On-the-fly compression of compressible types.",
          properties: {
            threshold: {
              ...size,
              default: "1KiB",
              description: "Files smaller than this are sent as they are.",
            },
            gzip: { type: "boolean", default: true, description: "Offer gzip." },
            brotli: { type: "boolean", default: true, description: "Offer brotli." },
          },
        },
        tls: {
          type: "object",
          additionalProperties: false,
          description:
            "TLS listeners: HTTP/2 and HTTP/1.1 (chosen by ALPN) over TLS 1.2 and 1.3, the certificate picked by SNI.",
          properties: {
            listen: {
              type: "array",
              items: listenAddress,
              minItems: 1,
              description: "Addresses to listen on with TLS.",
            },
            redirect: {
              type: "boolean",
              default: true,
              description: "Plain-HTTP requests for a site with `tls` get 308 to the same URL over https.",
            },
            acme: {
              type: "object",
              additionalProperties: false,
              required: ["directory"],
              description:
                "The ACME CA (RFC 8555) for sites with `tls: acme`: challenges are answered by Ferry's own listeners.",
              properties: {
                directory: { type: "string", pattern: "^https://", description: "The CA's directory URL." },
                email: { type: "string", minLength: 3, description: "Contact address for the ACME account." },
                caRoots: {
                  type: "string",
                  minLength: 1,
                  description:
                    "Extra roots (PEM file) to trust for the CA's own HTTPS (a test CA such as pebble).",
                },
                challenge: {
                  enum: ["http-01", "tls-alpn-01"],
                  default: "http-01",
                  description:
                    "How the CA checks that Ferry holds the name: `http-01` on the plain HTTP listeners (port 80 for a public CA), `tls-alpn-01` (RFC 8737) on the TLS listeners (port 443).",
                },
              },
            },
            strictSni: {
              type: "boolean",
              default: false,
              description:
                "Refuse the handshake when the name asked for (SNI) is no site's; `false` answers with the default site's certificate.",
            },
          },
        },
        engine: {
          type: "string",
          enum: ["ferry", "node"],
          default: "ferry",
          description:
            "Which HTTP/1.1 implementation serves the listeners: `ferry` (Ferry's own engine over node:net: strict RFC 9112 framing, faster) or `node` (node:http, kept as a fallback). Changing it needs a restart.",
        },
        h2c: {
          type: "boolean",
          default: false,
          description:
            "HTTP/2 over cleartext with prior knowledge (RFC 9113 §3.3) on the plain listeners, beside HTTP/1.1 on the same port.",
        },
        sites: {
          type: "array",
          items: site,
          minItems: 1,
          default: [{ root: "." }],
          description:
            "Virtual hosts. Left out: one site serving the config file's folder (or the current folder).",
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
          default: ["127.0.0.1:8053"],
          description: "Addresses to answer on, over UDP and TCP each.",
        },
        zones: {
          type: "array",
          description: "Zones served from RFC 1035 master files (see docs/zone-files.md).",
          items: {
            type: "object",
            additionalProperties: false,
            oneOf: [
              { required: ["file"] },
              { required: ["records", "origin"] },
              { required: ["primary", "origin"] },
            ],
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
              primary: {
                type: "string",
                minLength: 1,
                description:
                  "Serve the zone as a secondary of this primary (`IP[:PORT]`, port 53 when left out): loaded by AXFR, followed by IXFR on NOTIFY and on the SOA refresh and retry timers, served until the SOA expire without a good refresh, and kept under `state/secondary/ORIGIN.zone` so a restart serves at once.",
              },
              tsig: {
                type: "string",
                minLength: 1,
                description:
                  "With `primary`: the key of `dns.tsig` that transfers from the primary are signed with (and its NOTIFY must be).",
              },
              transfer: {
                type: "object",
                additionalProperties: false,
                required: ["allow"],
                description:
                  "Who may copy the zone by AXFR and IXFR over TCP (RFC 5936, RFC 1995). Left out, nobody: transfers get REFUSED.",
                properties: {
                  allow: {
                    type: "array",
                    items: { type: "string", minLength: 1 },
                    description:
                      "Client addresses or ranges (`127.0.0.1/32`, `::1`) allowed to transfer the zone.",
                  },
                  tsig: {
                    type: "string",
                    minLength: 1,
                    description:
                      "A key of `dns.tsig` every transfer must be signed with (RFC 8945); unsigned or otherwise signed ones are refused.",
                  },
                },
              },
              notify: {
                type: "array",
                items: { type: "string", minLength: 1 },
                description:
                  "Secondaries (`IP[:PORT]`, port 53 when left out) sent a NOTIFY (RFC 1996) when the zone loads and on every new serial, retried until acknowledged; signed with the zone's `transfer.tsig` key when it has one.",
              },
            },
          },
        },
        tsig: {
          type: "array",
          description: "TSIG keys (RFC 8945) for zone transfers, NOTIFY and signed queries.",
          items: {
            type: "object",
            additionalProperties: false,
            required: ["name", "secret"],
            properties: {
              name: {
                type: "string",
                pattern: "^[A-Za-z0-9_.-]+\\.?$",
                description: "The key's name, as the peers know it (e.g. `key1` or `xfr.example.test`).",
              },
              algorithm: {
                enum: ["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"],
                default: "hmac-sha256",
                description: "The HMAC algorithm.",
              },
              secret: {
                type: "string",
                minLength: 1,
                description:
                  "The shared secret, base64 (as `keymgr -t` or `tsig-keygen` print it). Never logged or shown.",
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
          default: "2s",
          description: "How long to wait for one upstream answer before trying the next.",
        },
        cacheSize: {
          type: "integer",
          minimum: 0,
          maximum: 10000000,
          default: 10000,
          description: "Most answers the forwarder keeps in its cache (0: no cache).",
        },
        tcpIdleTimeout: {
          ...duration,
          default: "10s",
          description: "How long an idle DNS-over-TCP connection stays open.",
        },
        tcpMessageTimeout: {
          ...duration,
          default: "2s",
          description:
            "A query over TCP must arrive whole within this of its first byte, or the connection closes (a byte now and then does not keep it open).",
        },
        tcpMaxConnections: {
          type: "integer",
          minimum: 1,
          maximum: 1000000,
          default: 1000,
          description:
            "Open DNS-over-TCP connections per listener. At the cap a new connection closes the least recently active idle one (then one stuck mid-query) rather than being refused.",
        },
        transfersOut: {
          type: "integer",
          minimum: 1,
          maximum: 10000,
          default: 10,
          description:
            "Zone transfers (AXFR, IXFR over TCP) being sent at once, to all clients together (with `workers`, counted by the primary process for all workers; BIND's `transfers-out`). Each holds its encoded zone until the client has read it; one more is answered REFUSED and logged (`ERR_DNS_TRANSFER_REFUSED`), and the secondary retries.",
        },
        tls: {
          type: "object",
          additionalProperties: false,
          required: ["listen"],
          description:
            "DNS over TLS (RFC 7858): the same zones and forwarder, with the TCP limits, on its own addresses.",
          properties: {
            listen: {
              type: "array",
              items: listenAddress,
              minItems: 1,
              description: "Addresses to answer DNS over TLS on.",
            },
            site: {
              type: "string",
              minLength: 1,
              description:
                "The HTTP site (one of its host names) whose certificate DNS over TLS presents. Default: the default site's.",
            },
          },
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
          default: "127.0.0.1:9090",
          description: "`HOST:PORT` of the admin listener. Must be loopback unless `allowRemote`.",
        },
        allowRemote: {
          type: "boolean",
          default: false,
          description: "Allow a non-loopback admin address (the inspector shows every request's headers).",
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
          default: 1000,
          description: "Recent DNS queries, HTTP exchanges and WebSocket sessions kept, each.",
        },
        frames: {
          type: "integer",
          minimum: 10,
          maximum: 10000,
          default: 200,
          description: "Frames kept per WebSocket session while an inspector watches.",
        },
      },
    },
    log: {
      type: "object",
      default: {},
      additionalProperties: false,
      description: "Logging.",
      properties: {
        level: {
          enum: ["fatal", "error", "warn", "info", "debug", "trace", "silent"],
          default: "info",
          description: "Server log level.",
        },
        access: {
          description:
            "Access log: one line per request. `false` turns it off. Default `{format: json, output: stdout}`.",
          default: {},
          oneOf: [
            { const: false },
            {
              type: "object",
              additionalProperties: false,
              properties: {
                format: {
                  enum: ["json", "combined"],
                  default: "json",
                  description: "`json` or the combined log format of nginx and Apache.",
                },
                output: {
                  type: "string",
                  minLength: 1,
                  default: "stdout",
                  description: "`stdout`, `stderr`, or a file path (relative to the config file's folder).",
                },
              },
            },
          ],
        },
      },
    },
    state: {
      type: "string",
      minLength: 1,
      description:
        "Folder where Ferry keeps its local CA and the certificates it issues (created 0700). Default: `$XDG_DATA_HOME/ferry`, or `~/.local/share/ferry`.",
    },
    workers: {
      oneOf: [{ type: "integer", minimum: 1, maximum: 1024 }, { const: "auto" }],
      default: 1,
      expects: "a number of processes (1–1024) or auto",
      description:
        "Processes serving the same listeners (Node's cluster), `auto` for one per core. Each worker answers HTTP, TLS and DNS; the primary restarts a worker that dies, passes SIGHUP, SIGUSR1 and SIGTERM on to all, and runs the admin listener, fed by every worker. With more than one, realtime channels are shared through the primary (or a `broker`), and the primary places `tls: acme` orders for all.",
    },
    shutdown: {
      type: "object",
      default: {},
      additionalProperties: false,
      description: "Graceful stop on SIGINT/SIGTERM.",
      properties: {
        grace: {
          ...duration,
          default: "10s",
          description: "How long in-flight requests may take to finish before connections are closed.",
        },
      },
    },
  },
} as const;
