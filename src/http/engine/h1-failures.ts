/** How Ferry's HTTP/1.1 engine answers each parse failure: status, stable code, and words for the log. */
import type { H1Failure } from "./h1-parser.js";

/** Parse failures: status and stable code (RFC 9112's answers; framing refusals have their own code). */
export const FAILURES: Record<H1Failure, [number, string, string]> = {
  "request-line": [400, "ERR_HTTP_BAD_REQUEST", "malformed request line"],
  method: [400, "ERR_HTTP_BAD_REQUEST", "the method is not a token"],
  target: [400, "ERR_HTTP_BAD_REQUEST", "control characters or spaces in the request target"],
  version: [400, "ERR_HTTP_BAD_REQUEST", "malformed HTTP version"],
  "unsupported-version": [505, "ERR_HTTP_VERSION", "only HTTP/1.0 and HTTP/1.1 are served here"],
  "line-ending": [400, "ERR_HTTP_BAD_REQUEST", "a bare CR or LF ends a line"],
  "header-name": [400, "ERR_HTTP_BAD_REQUEST", "malformed header name (or whitespace before the colon)"],
  "header-value": [400, "ERR_HTTP_BAD_REQUEST", "control characters in a header value"],
  "obs-fold": [400, "ERR_HTTP_BAD_REQUEST", "a folded header line (obs-fold)"],
  "long-request-line": [414, "ERR_HTTP_URI_TOO_LONG", "the request line is too long"],
  "head-too-large": [431, "ERR_HTTP_HEADERS_TOO_LARGE", "the headers are too large"],
  "too-many-headers": [431, "ERR_HTTP_HEADERS_TOO_LARGE", "too many headers"],
  "content-length": [400, "ERR_HTTP_FRAMING", "Content-Length is not a number"],
  "duplicate-content-length": [400, "ERR_HTTP_FRAMING", "more than one Content-Length"],
  "content-length-with-transfer-encoding": [400, "ERR_HTTP_FRAMING", "Content-Length with Transfer-Encoding"],
  "transfer-encoding": [400, "ERR_HTTP_FRAMING", "Transfer-Encoding without chunked last and once"],
  "transfer-coding": [501, "ERR_HTTP_FRAMING", "a transfer coding other than chunked"],
  "chunk-size": [400, "ERR_HTTP_FRAMING", "malformed chunk size"],
  "chunk-extension": [400, "ERR_HTTP_FRAMING", "malformed chunk extension"],
  "chunk-end": [400, "ERR_HTTP_FRAMING", "chunk data not followed by CRLF"],
  "trailers-too-large": [431, "ERR_HTTP_HEADERS_TOO_LARGE", "the trailer fields are too large"],
  "trailer-framing": [400, "ERR_HTTP_FRAMING", "a trailer field named Content-Length or Transfer-Encoding"],
};
