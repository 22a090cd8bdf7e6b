/**
 * TLS-ALPN-01 (RFC 8737) on Ferry's TLS listeners. The CA connects with ALPN
 * `acme-tls/1` and SNI set to the name being validated, and must be shown a
 * self-signed certificate carrying the key authorization's digest. Other
 * clients of that name must keep getting the site's real certificate, but
 * node picks the certificate (SNI) before it sees the ALPN list, so the
 * choice is made earlier: while a challenge is pending, the first bytes of
 * each connection (the ClientHello) are read, the ALPN extension is looked
 * for, and the bytes are put back before either the listener's own TLS
 * server or the challenge server takes the socket. With no challenge
 * pending, a connection goes straight to the listener (one Map size check).
 */
import type net from "node:net";
import tls from "node:tls";
import { decideByFirstBytes } from "../core/first-bytes.js";
import { ACME_TLS_ALPN, tlsAlpnChallenges } from "./acme-challenges.js";

/** The ALPN protocols a ClientHello offers ([] when none), "more" when the record is incomplete, null when it is not one. */
export function clientHelloAlpn(buf: Buffer): string[] | "more" | null {
  if (buf.length < 5) return buf.length > 0 && buf[0] !== 0x16 ? null : "more";
  if (buf[0] !== 0x16) return null; // not a handshake record
  const recordEnd = 5 + buf.readUInt16BE(3);
  if (recordEnd - 5 > 16384 + 2048) return null;
  if (buf.length < recordEnd) return "more";
  let p = 5;
  if (buf[p] !== 0x01) return null; // not a ClientHello
  const helloEnd = Math.min(recordEnd, p + 4 + buf.readUIntBE(p + 1, 3));
  p += 4 + 2 + 32; // type, length, client_version, random
  const need = (n: number) => p + n <= helloEnd;
  if (!need(1)) return null;
  p += 1 + buf[p]!; // session_id
  if (!need(2)) return null;
  p += 2 + buf.readUInt16BE(p); // cipher_suites
  if (!need(1)) return null;
  p += 1 + buf[p]!; // compression_methods
  if (!need(2)) return [];
  const extEnd = Math.min(helloEnd, p + 2 + buf.readUInt16BE(p));
  p += 2;
  while (p + 4 <= extEnd) {
    const type = buf.readUInt16BE(p);
    const len = buf.readUInt16BE(p + 2);
    p += 4;
    if (p + len > extEnd) return null;
    if (type === 16 /* application_layer_protocol_negotiation */) {
      const out: string[] = [];
      let q = p + 2;
      const end = Math.min(p + len, p + 2 + buf.readUInt16BE(p));
      while (q < end) {
        const n = buf[q]!;
        if (q + 1 + n > end) return null;
        out.push(buf.toString("latin1", q + 1, q + 1 + n));
        q += 1 + n;
      }
      return out;
    }
    p += len;
  }
  return [];
}

/** The server that answers validations: the challenge certificate for the name asked, ALPN acme-tls/1, then close. */
function challengeServer(): tls.Server {
  const server = tls.createServer({
    ALPNProtocols: [ACME_TLS_ALPN],
    minVersion: "TLSv1.2",
    SNICallback: (name, cb) => {
      const ctx = tlsAlpnChallenges.get(name.toLowerCase());
      if (ctx === undefined) cb(new Error(`no TLS-ALPN-01 challenge for ${name}`));
      else cb(null, ctx);
    },
  });
  // RFC 8737 §3: once the handshake is done the validation is complete; nothing else is spoken.
  server.on("secureConnection", (socket) => socket.end());
  server.on("tlsClientError", () => {});
  return server;
}

let challenges: tls.Server | null = null;

/** Routes the connections of `server` (a TLS listener) that are TLS-ALPN-01 validations to the challenge server. */
export function answerTlsAlpnChallenges(server: tls.Server, timeoutMs: number): void {
  const own = server.listeners("connection")[0] as (socket: net.Socket) => void;
  server.removeListener("connection", own);
  server.on("connection", (socket: net.Socket) => {
    if (tlsAlpnChallenges.size === 0) {
      own.call(server, socket);
      return;
    }
    decideByFirstBytes(
      socket,
      timeoutMs,
      (head) => {
        const alpn = clientHelloAlpn(head);
        return alpn === "more" ? "more" : alpn?.includes(ACME_TLS_ALPN) === true;
      },
      (challenge) => {
        if (challenge) {
          challenges ??= challengeServer();
          challenges.emit("connection", socket);
        } else own.call(server, socket);
      },
    );
  });
}
