/**
 * The TLS settings of every listener: TLS 1.2 and 1.3 only, Mozilla's
 * "intermediate" cipher list for TLS 1.2 (forward secrecy, AEAD only: no
 * static RSA, no CBC), modern curves, and session tickets whose keys rotate.
 */
import { randomBytes } from "node:crypto";
import type tls from "node:tls";

/** TLS 1.2 suites of Mozilla's intermediate profile (TLS 1.3's are fixed by OpenSSL). */
export const CIPHERS = [
  "ECDHE-ECDSA-AES128-GCM-SHA256",
  "ECDHE-RSA-AES128-GCM-SHA256",
  "ECDHE-ECDSA-AES256-GCM-SHA384",
  "ECDHE-RSA-AES256-GCM-SHA384",
  "ECDHE-ECDSA-CHACHA20-POLY1305",
  "ECDHE-RSA-CHACHA20-POLY1305",
  "DHE-RSA-AES128-GCM-SHA256",
  "DHE-RSA-AES256-GCM-SHA384",
].join(":");

export const TLS_PROFILE: tls.SecureContextOptions & tls.TlsOptions = {
  minVersion: "TLSv1.2",
  ciphers: CIPHERS,
  ecdhCurve: "X25519:prime256v1:secp384r1",
  honorCipherOrder: false,
};

/** How often session-ticket keys are replaced (resumption across a rotation falls back to a full handshake). */
export const TICKET_ROTATION_MS = 12 * 3600_000;

/** Rotates a server's session-ticket keys on a timer; returns the stop function. */
export function rotateTicketKeys(server: tls.Server): () => void {
  const t = setInterval(() => server.setTicketKeys(randomBytes(48)), TICKET_ROTATION_MS);
  t.unref();
  return () => clearInterval(t);
}
