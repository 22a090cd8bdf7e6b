/**
 * Upstream failures in Ferry's words: which stable code, which status the
 * client gets, and whether another upstream may be tried. undici and node
 * report them as error codes; this table is the one place that reads them.
 */

export type ProxyFailure = {
  code: "ERR_PROXY_CONNECT" | "ERR_PROXY_RESET" | "ERR_PROXY_TIMEOUT" | "ERR_PROXY_BAD_RESPONSE";
  status: 502 | 504;
  /** The request never reached the upstream: any method may go to another one. */
  beforeSend: boolean;
};

const CONNECT = new Set([
  "ECONNREFUSED",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "EADDRNOTAVAIL",
  "UND_ERR_CONNECT_TIMEOUT",
  "ETIMEDOUT",
  // An https:// upstream whose certificate is refused: nothing was sent.
  "DEPTH_ZERO_SELF_SIGNED_CERT",
  "SELF_SIGNED_CERT_IN_CHAIN",
  "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
  "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
  "CERT_HAS_EXPIRED",
  "ERR_TLS_CERT_ALTNAME_INVALID",
]);

const RESET = new Set(["UND_ERR_SOCKET", "ECONNRESET", "EPIPE", "UND_ERR_CLOSED"]);

/** Classifies an error from sending a request upstream (not the client's own body errors). */
export function classify(err: unknown): ProxyFailure {
  const code = (err as NodeJS.ErrnoException).code ?? "";
  if (CONNECT.has(code)) return { code: "ERR_PROXY_CONNECT", status: 502, beforeSend: true };
  if (code === "UND_ERR_HEADERS_TIMEOUT" || code === "UND_ERR_BODY_TIMEOUT")
    return { code: "ERR_PROXY_TIMEOUT", status: 504, beforeSend: false };
  if (RESET.has(code)) return { code: "ERR_PROXY_RESET", status: 502, beforeSend: false };
  return { code: "ERR_PROXY_BAD_RESPONSE", status: 502, beforeSend: false };
}

/** Methods that may be sent twice (RFC 9110 §9.2.2). */
export const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "TRACE", "PUT", "DELETE"]);
