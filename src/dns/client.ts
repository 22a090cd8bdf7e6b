/**
 * A DNS stub client: one question to one server over UDP (retrying over TCP
 * when the answer is truncated), TCP, TLS (RFC 7858) or HTTPS (RFC 8484,
 * POST over HTTP/2). Random IDs (0 over HTTPS, as RFC 8484 §4.1 asks); an
 * answer is accepted only when its ID and question match what was asked.
 */

import { randomInt } from "node:crypto";
import dgram from "node:dgram";
import { lookup as dnsLookup } from "node:dns/promises";
import http2 from "node:http2";
import net, { isIP, isIPv6 } from "node:net";
import { performance } from "node:perf_hooks";
import tls from "node:tls";
import { timerMs } from "../core/clock.js";
import { Flag, RRType } from "./wire/constants.js";
import type { Message } from "./wire/message.js";
import { decodeMessage } from "./wire/reader.js";
import { encodeMessage } from "./wire/writer.js";

export interface LookupOptions {
  server: { host: string; port: number };
  tcp?: boolean;
  /** DNS over TLS (RFC 7858): the name the certificate must carry, and extra roots to trust (PEM). */
  tls?: { servername?: string; ca?: string };
  /** DNS over HTTPS (RFC 8484) instead: the path to POST to (with `tls` for the certificate check). */
  https?: { path: string };
  timeoutMs?: number;
  /** Send EDNS0 with this payload size (default 1232); 0 sends no OPT. */
  ednsPayload?: number;
  recursion?: boolean;
}

export interface LookupResult {
  message: Message;
  transport: "udp" | "tcp" | "tls" | "https";
  bytes: number;
  ms: number;
  /** Whether a truncated UDP answer was retried over TCP. */
  retriedOverTcp: boolean;
}

function build(name: string, type: number, opts: LookupOptions): Message {
  const payload = opts.ednsPayload ?? 1232;
  return {
    id: opts.https ? 0 : randomInt(0, 0x10000),
    flags: opts.recursion === false ? 0 : Flag.RD,
    opcode: 0,
    rcode: 0,
    questions: [{ name, type, klass: 1 }],
    answers: [],
    authority: [],
    additional:
      payload > 0
        ? [{ name: "", type: RRType.OPT, klass: payload, ttl: 0, data: { type: "opt", options: [] } }]
        : [],
  };
}

function matches(q: Message, a: Message): boolean {
  const x = q.questions[0]!;
  const y = a.questions[0];
  return (
    a.id === q.id &&
    (a.flags & Flag.QR) !== 0 &&
    y !== undefined &&
    y.type === x.type &&
    y.name.toLowerCase() === x.name.toLowerCase()
  );
}

function overUdp(wire: Buffer, query: Message, opts: LookupOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = dgram.createSocket(isIPv6(opts.server.host) ? "udp6" : "udp4");
    const timer = setTimeout(
      () => {
        s.close();
        reject(
          new Error(
            `no answer from ${opts.server.host}:${opts.server.port} within ${opts.timeoutMs ?? 3000} ms`,
          ),
        );
      },
      timerMs(opts.timeoutMs ?? 3000),
    );
    s.on("message", (m, rinfo) => {
      // Anti-spoofing: only the server we asked, with our ID and question.
      if (rinfo.port !== opts.server.port || rinfo.address !== opts.server.host) return;
      try {
        if (!matches(query, decodeMessage(m))) return;
      } catch {
        return;
      }
      clearTimeout(timer);
      s.close();
      resolve(m);
    });
    s.on("error", (e: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      s.close();
      reject(
        e.code === "ECONNREFUSED"
          ? new Error(`nothing answers DNS on ${opts.server.host}:${opts.server.port} (udp port unreachable)`)
          : e,
      );
    });
    // Connected, so the kernel hands ICMP "port unreachable" back as ECONNREFUSED at once (no wait for the
    // timeout), and drops datagrams from any other address before they reach us.
    s.connect(opts.server.port, opts.server.host, () => s.send(wire));
  });
}

function overTcp(wire: Buffer, opts: LookupOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t = opts.tls;
    const c =
      t === undefined
        ? net.connect(opts.server.port, opts.server.host)
        : tls.connect({
            host: opts.server.host,
            port: opts.server.port,
            servername: t.servername,
            ...(t.ca === undefined ? {} : { ca: [...tls.rootCertificates, t.ca] }),
          });
    const timer = setTimeout(
      () => {
        c.destroy();
        reject(
          new Error(
            `no answer from ${opts.server.host}:${opts.server.port} (tcp) within ${opts.timeoutMs ?? 3000} ms`,
          ),
        );
      },
      timerMs(opts.timeoutMs ?? 3000),
    );
    const len = Buffer.alloc(2);
    len.writeUInt16BE(wire.length);
    c.write(Buffer.concat([len, wire]));
    let buf = Buffer.alloc(0);
    c.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0)) {
        clearTimeout(timer);
        c.destroy();
        resolve(buf.subarray(2, 2 + buf.readUInt16BE(0)));
      }
    });
    c.on("error", (e) => {
      clearTimeout(timer);
      reject(e);
    });
    c.on("end", () => {
      clearTimeout(timer);
      reject(new Error("the server closed the connection without an answer"));
    });
  });
}

/** One POST of `wire` as application/dns-message over HTTP/2 (RFC 8484 §4.1); the answer's body. */
function overHttps(wire: Buffer, opts: LookupOptions): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const t = opts.tls ?? {};
    const host = isIPv6(opts.server.host) ? `[${opts.server.host}]` : opts.server.host;
    const session = http2.connect(`https://${host}:${opts.server.port}`, {
      servername: t.servername,
      ...(t.ca === undefined ? {} : { ca: [...tls.rootCertificates, t.ca] }),
    });
    const fail = (e: Error): void => {
      clearTimeout(timer);
      session.destroy();
      // A refused certificate cancels the pending stream: say why, not that it was canceled.
      const cause = (e as Error & { cause?: unknown }).cause;
      reject(cause instanceof Error ? cause : e);
    };
    const timer = setTimeout(
      () =>
        fail(
          new Error(
            `no answer from ${opts.server.host}:${opts.server.port} (https) within ${opts.timeoutMs ?? 3000} ms`,
          ),
        ),
      timerMs(opts.timeoutMs ?? 3000),
    );
    session.on("error", fail);
    const req = session.request({
      ":method": "POST",
      ":path": opts.https!.path,
      "content-type": "application/dns-message",
      accept: "application/dns-message",
      "content-length": wire.length,
    });
    req.on("error", fail);
    req.on("response", (headers) => {
      const status = Number(headers[":status"]);
      const type = String(headers["content-type"] ?? "");
      if (status !== 200) return fail(new Error(`the DoH server answered HTTP ${status}`));
      if (!type.startsWith("application/dns-message"))
        return fail(
          new Error(`the DoH server answered ${type || "no Content-Type"}, not application/dns-message`),
        );
      const chunks: Buffer[] = [];
      req.on("data", (c: Buffer) => chunks.push(c));
      req.on("end", () => {
        clearTimeout(timer);
        session.close();
        resolve(Buffer.concat(chunks));
      });
    });
    req.end(wire);
  });
}

/** Asks one question. Throws on timeout, network errors, or an answer that does not decode. */
export async function lookup(name: string, type: number, opts: LookupOptions): Promise<LookupResult> {
  if (!isIP(opts.server.host)) {
    // Answers are matched by source address, so a server given by name is resolved first (IPv4 preferred).
    const found = await dnsLookup(opts.server.host, { family: 4 }).catch(() => dnsLookup(opts.server.host));
    opts = { ...opts, server: { host: found.address, port: opts.server.port } };
  }
  const query = build(name, type, opts);
  const wire = encodeMessage(query);
  const started = performance.now();
  let transport: LookupResult["transport"] = opts.https
    ? "https"
    : opts.tls
      ? "tls"
      : opts.tcp
        ? "tcp"
        : "udp";
  let raw =
    transport === "udp"
      ? await overUdp(wire, query, opts)
      : transport === "https"
        ? await overHttps(wire, opts)
        : await overTcp(wire, opts);
  let message = decodeMessage(raw);
  let retried = false;
  if (transport === "udp" && (message.flags & Flag.TC) !== 0) {
    transport = "tcp";
    retried = true;
    raw = await overTcp(wire, opts);
    message = decodeMessage(raw);
  }
  if (!matches(query, message)) throw new Error("the answer does not match the question");
  return { message, transport, bytes: raw.length, ms: performance.now() - started, retriedOverTcp: retried };
}
