/**
 * Ferry's error classes. Every error a user can meet carries a stable `code`
 * that is documented in `docs/errors.md`; a test keeps the two lists in sync.
 */

/** Every stable error code Ferry uses, with a one-line meaning. */
export const ERROR_CODES = {
  ERR_USAGE: "The command line is not valid (unknown flag, missing argument, bad value).",
  ERR_CONFIG_READ: "The configuration file could not be read.",
  ERR_CONFIG_SYNTAX: "The configuration file is not valid YAML.",
  ERR_CONFIG_INVALID:
    "The configuration does not match the schema, or two parts of it contradict each other.",
  ERR_LISTEN: "A listener could not bind its address (in use, not permitted, or not a local address).",
  ERR_HTTP_BAD_REQUEST: "A client sent a malformed HTTP request; it got 400 and the connection was closed.",
  ERR_HTTP_FRAMING:
    "A request's body framing was ambiguous or malformed (two Content-Lengths, Content-Length with Transfer-Encoding, chunked not last, a bad chunk); it got 400 (501 for a transfer coding other than chunked) and the connection was closed.",
  ERR_HTTP_URI_TOO_LONG: "A request line was longer than `http.limits.maxRequestLine`; the client got 414.",
  ERR_HTTP_HEADERS_TOO_LARGE:
    "Request headers exceeded `http.limits.maxHeaderSize` or `maxHeaderCount`; the client got 431.",
  ERR_HTTP_REQUEST_TIMEOUT:
    "A client did not send its headers within `http.limits.headerTimeout`, or its whole request within `requestTimeout`; it got 408.",
  ERR_HTTP_BODY_TOO_LARGE: "A request body exceeded `http.limits.maxBodySize`; the client got 413.",
  ERR_HTTP_PIPELINE_FLOOD:
    "A client had more than 256 pipelined requests waiting for their replies on one connection; the connection was closed.",
  ERR_ACCESS_LOG_WRITE:
    "The access log could not be written (a full disk, a closed pipe, a reader that does not keep up); the lines of that chunk were dropped and serving went on.",
  ERR_ACCESS_LOG_REOPEN:
    "SIGUSR1 asked to reopen the access log file and it could not be opened; Ferry keeps writing to the old file.",
  ERR_HTTP_VERSION:
    "A request line named an HTTP version other than 1.0 or 1.1 (e.g. HTTP/2.0 as text); the client got 505 and the connection was closed.",
  ERR_HTTP_INTERNAL:
    "A handler failed unexpectedly (a bug); the client got 500 and a warning names the cause.",
  ERR_PROXY_CONNECT:
    "No connection to an upstream could be opened (refused, unreachable, or over `timeouts.connect`); after the retries the client got 502.",
  ERR_PROXY_RESET:
    "An upstream closed or reset the connection before its response headers; the client got 502 (idempotent requests without a body were retried first).",
  ERR_PROXY_TIMEOUT: "An upstream sent no response headers within `timeouts.response`; the client got 504.",
  ERR_PROXY_BAD_RESPONSE: "An upstream's response head was not valid HTTP/1.1; the client got 502.",
  ERR_PROXY_UNAVAILABLE:
    "Every upstream of a proxy location was down (health checks or passive ejection); the client got 503.",
  ERR_PROXY_CUT:
    "An upstream cut a response short (reset, fewer bytes than its Content-Length, or silent for `timeouts.idle`); the client's connection was cut too, so it never sees a complete-looking reply.",
  ERR_TLS_CERT:
    "A site's certificate or key file could not be used (unreadable, not PEM, key and certificate do not match, or expired); the message names the file. At start Ferry stops; on a reload the old certificate keeps serving.",
  ERR_TLS_ACME:
    "An ACME order for a `tls: acme` site failed (the CA refused, a challenge failed, the CA is unreachable); Ferry retries with a backoff and serves a local-CA certificate meanwhile.",
  ERR_TLS_LOCAL_CA:
    "Ferry's local CA (`tls: internal`) could not be created or read in the state folder (permissions, a damaged file).",
  ERR_DNS_FORMAT:
    "A DNS message broke the wire format; the server answered FORMERR, or dropped it when not even the question was readable.",
  ERR_HTTP_FILE_READ: "A file under a site root could not be read although it exists; the client got 500.",
  ERR_DNS_ZONE_SYNTAX:
    "A zone file is not a valid RFC 1035 master file; the message names the file and line.",
  ERR_DNS_ZONE_INVALID:
    "A zone parses but breaks a rule (no SOA at the apex, data outside the zone, CNAME beside other data).",
  ERR_DNS_LOOKUP:
    "`ferry lookup` got no usable answer (timeout, unreachable server, or an answer that does not match).",
  ERR_DNS_TCP_MESSAGE_TIMEOUT:
    "A DNS-over-TCP query did not arrive whole within `dns.tcpMessageTimeout` of its first byte; the connection was closed.",
  ERR_DNS_TCP_EVICTED:
    "At `dns.tcpMaxConnections`, the least recently active idle DNS-over-TCP connection was closed to make room for a new one.",
  ERR_DNS_TCP_FULL:
    "A new DNS-over-TCP connection was refused: every connection at `dns.tcpMaxConnections` was waiting for answers.",
  ERR_DNS_INTERNAL:
    "Answering a DNS message failed unexpectedly (a bug); that message or connection was dropped, the server kept serving.",
  ERR_DNS_TRANSFER_REFUSED:
    "An AXFR or IXFR was refused: the client is not in the zone's `transfer.allow`, did not sign with the zone's `transfer.tsig` key, or asked for a zone not served here.",
  ERR_DNS_TSIG:
    "A signed DNS message failed its TSIG check (BADKEY: unknown key; BADSIG: wrong MAC; BADTIME: clocks more than the fudge apart); the answer was NOTAUTH.",
  ERR_DNS_NOTIFY:
    "A secondary did not acknowledge a zone's NOTIFY after every retry, or answered it with an error or an unsigned answer to a signed NOTIFY.",
  ERR_DNS_SECONDARY:
    "A secondary zone's refresh from its primary failed (unreachable, refused, a bad TSIG, a malformed transfer); Ferry serves its last copy and retries at the SOA retry interval.",
  ERR_DNS_SECONDARY_EXPIRED:
    "A secondary zone had no good refresh for longer than its SOA expire; Ferry stopped serving it until the primary answers again.",
  ERR_REALTIME_BROKER:
    "A realtime endpoint's broker (Redis) is unreachable: publishes get 503 `broker_unavailable`, subscribes the error `broker_unavailable`, connected clients stay; Ferry reconnects with a backoff.",
  ERR_WORKER_DIED:
    "A worker process (`workers` > 1) exited without being asked; the primary started it again (not after five quick deaths in a row).",
  ERR_WS_PROTOCOL:
    "A WebSocket client broke RFC 6455 (or sent a message over the limit); Ferry closed it with 1002, 1007 or 1009.",
  ERR_WS_INTERNAL:
    "Handling a WebSocket client's message failed unexpectedly (a bug); that connection was closed with 1011, the server kept serving.",
  ERR_WS_SLOW_CONSUMER:
    "A WebSocket client read slower than its messages arrived; past `maxBackpressure` queued bytes it was disconnected.",
  ERR_WS_IDLE_TIMEOUT:
    "A WebSocket client sent nothing, not even a pong, for `idleTimeout`; it was closed with 4000.",
  ERR_FETCH:
    "`ferry fetch` could not complete the trip: the name did not resolve, the connection or TLS handshake failed, or the answer broke off.",
  ERR_RELOAD:
    "A reload (SIGHUP) was refused because the new configuration is invalid; the old one keeps serving.",
} as const;

/** A stable error code. */
export type ErrorCode = keyof typeof ERROR_CODES;

/** Base class of Ferry's errors: a message for people, a code for programs. */
export class FerryError extends Error {
  /** Stable, documented code such as `ERR_CONFIG_INVALID`. */
  readonly code: ErrorCode;

  constructor(code: ErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.code = code;
    this.name = "FerryError";
  }
}

/** Where in a config file a problem is. */
export interface SourcePosition {
  file: string;
  line: number;
  column: number;
}

/** One problem in a configuration, pointing at the key it is about. */
export interface ConfigProblem {
  /** Dotted path of the key, e.g. `http.sites[0].root`. */
  key: string;
  message: string;
  position?: SourcePosition;
}

/** A configuration that cannot be used; carries every problem found, each with its place. */
export class ConfigError extends FerryError {
  readonly problems: ConfigProblem[];

  constructor(code: ErrorCode, problems: ConfigProblem[]) {
    // In file order (line, then column); problems without a place keep their order, last.
    const sorted = problems
      .map((p, i) => ({ p, i }))
      .sort(
        (a, b) =>
          (a.p.position?.line ?? Number.MAX_SAFE_INTEGER) - (b.p.position?.line ?? Number.MAX_SAFE_INTEGER) ||
          (a.p.position?.column ?? 0) - (b.p.position?.column ?? 0) ||
          a.i - b.i,
      )
      .map((x) => x.p);
    super(code, sorted.map(formatProblem).join("\n"));
    this.problems = sorted;
    this.name = "ConfigError";
  }
}

/** Formats a problem as `file:line:column: key: message`. */
export function formatProblem(p: ConfigProblem): string {
  const where = p.position ? `${p.position.file}:${p.position.line}:${p.position.column}: ` : "";
  return `${where}${p.key ? `${p.key}: ` : ""}${p.message}`;
}

/** A command-line mistake (exit code 2). */
export class UsageError extends FerryError {
  constructor(message: string) {
    super("ERR_USAGE", message);
    this.name = "UsageError";
  }
}
