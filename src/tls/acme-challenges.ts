/**
 * HTTP-01 challenges in progress (RFC 8555 §8.3): token → key authorization.
 * The ACME issuer fills it; the site handler answers
 * `/.well-known/acme-challenge/TOKEN` from it on the plain HTTP listeners.
 */
export const acmeChallenges = new Map<string, string>();

export const ACME_CHALLENGE_PREFIX = "/.well-known/acme-challenge/";
