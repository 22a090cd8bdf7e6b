/**
 * ACME challenges in progress, filled by the ACME issuer (acme.ts):
 * - HTTP-01 (RFC 8555 §8.3): token → key authorization; the site handler
 *   answers `/.well-known/acme-challenge/TOKEN` from it on the plain listeners.
 * - TLS-ALPN-01 (RFC 8737): name → the challenge certificate's context; the
 *   TLS listeners present it to clients that offer ALPN `acme-tls/1` for
 *   that name (alpn-challenge.ts).
 */
import type tls from "node:tls";

export const acmeChallenges = new Map<string, string>();

export const ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/";

export const tlsAlpnChallenges = new Map<string, tls.SecureContext>();

/** The ALPN protocol of a TLS-ALPN-01 validation (RFC 8737 §6.2). */
export const ACME_TLS_ALPN = "acme-tls/1";
