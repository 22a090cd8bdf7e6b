/**
 * The trip behind `ferry fetch`: DNS (Ferry's own resolver when a server is
 * given, else the system's), TCP connect, TLS handshake for https, request,
 * first byte, download, each timed on one clock.
 */

import { promises as dnsPromises } from "node:dns";
import http from "node:http";
import net from "node:net";
import { performance } from "node:perf_hooks";
import tls from "node:tls";
import { FerryError, UsageError } from "../core/errors.js";
import { lookup } from "../dns/client.js";
import { Rcode, RRType, typeName } from "../dns/wire/constants.js";
import { rdataText } from "../dns/wire/present.js";

/** Milliseconds each phase took (`tls` 0 for plain http, `dns` 0 for an address). */
export interface Phases {
  dns: number;
  connect: number;
  tls: number;
  ttfb: number;
  download: number;
  total: number;
}

export interface Trace {
  url: string;
  /** The address connected to, and its port. */
  ip: string;
  port: number;
  dns: {
    /** `HOST:PORT` of the server asked, `system` for the system resolver, or `none` for an address. */
    server: string;
    /** What the answer said, as `TYPE data` lines. */
    answers: string[];
  };
  tls: {
    protocol: string;
    cipher: string;
    subject: string;
    issuer: string;
    validTo: string;
    alpn: string;
  } | null;
  phases: Phases;
  request: { method: string; path: string; headers: [string, string][] };
  status: number;
  statusText: string;
  httpVersion: string;
  headers: [string, string][];
  body: Buffer;
}

export interface TraceOptions {
  /** Ask this DNS server with Ferry's own resolver. */
  dns?: { host: string; port: number };
  /** Accept any TLS certificate. */
  insecure?: boolean;
  /** Extra roots to trust (PEM), e.g. Ferry's local CA. */
  ca?: string;
  timeoutMs?: number;
  userAgent?: string;
  /** Largest body kept in memory. */
  maxBody?: number;
}

const round = (v: number) => Math.round(v * 1000) / 1000;

async function resolve(
  host: string,
  opts: TraceOptions,
): Promise<{ ip: string; server: string; answers: string[] }> {
  if (net.isIP(host)) return { ip: host, server: "none", answers: [] };
  if (opts.dns) {
    const server = `${opts.dns.host}:${opts.dns.port}`;
    const answers: string[] = [];
    for (const type of [RRType.A, RRType.AAAA]) {
      const r = await lookup(host, type, { server: opts.dns, timeoutMs: opts.timeoutMs ?? 5000 });
      const m = r.message;
      for (const rr of m.answers) answers.push(`${typeName(rr.type)} ${rdataText(rr)}`);
      const addr = m.answers.find((rr) => rr.type === type);
      if (addr) return { ip: rdataText(addr), server, answers };
      if (m.rcode !== Rcode.NOERROR)
        throw new FerryError(
          "ERR_FETCH",
          `${host}: ${server} answered ${Object.keys(Rcode).find((k) => Rcode[k as keyof typeof Rcode] === m.rcode) ?? m.rcode}`,
        );
    }
    throw new FerryError("ERR_FETCH", `${host}: ${server} has no A or AAAA record for it`);
  }
  const all = await dnsPromises.lookup(host, { all: true }).catch((err: NodeJS.ErrnoException) => {
    throw new FerryError("ERR_FETCH", `${host}: the system resolver failed (${err.code ?? err.message})`);
  });
  return {
    ip: all[0]!.address,
    server: "system",
    answers: all.map((a) => `${a.family === 6 ? "AAAA" : "A"} ${a.address}`),
  };
}

function connect(ip: string, port: number, timeoutMs: number): Promise<net.Socket> {
  return new Promise((resolveSocket, reject) => {
    const s = net.connect({ host: ip, port });
    const timer = setTimeout(() => {
      s.destroy();
      reject(new FerryError("ERR_FETCH", `connect to ${ip}:${port} timed out`));
    }, timeoutMs);
    s.once("connect", () => {
      clearTimeout(timer);
      resolveSocket(s);
    });
    s.once("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new FerryError("ERR_FETCH", `cannot connect to ${ip}:${port}: ${err.code ?? err.message}`));
    });
  });
}

function handshake(
  socket: net.Socket,
  servername: string,
  insecure: boolean,
  ca: string | undefined,
): Promise<tls.TLSSocket> {
  return new Promise((resolveTls, reject) => {
    const t = tls.connect({
      socket,
      servername: net.isIP(servername) ? undefined : servername,
      rejectUnauthorized: !insecure,
      ...(ca === undefined ? {} : { ca: [...tls.rootCertificates, ca] }),
      ALPNProtocols: ["http/1.1"],
    });
    t.once("secureConnect", () => resolveTls(t));
    t.once("error", (err: NodeJS.ErrnoException) =>
      reject(
        new FerryError("ERR_FETCH", `TLS handshake with ${servername} failed: ${err.code ?? err.message}`),
      ),
    );
  });
}

function pairs(raw: string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < raw.length; i += 2) out.push([raw[i]!, raw[i + 1]!]);
  return out;
}

/** Fetches `url` with GET and times every step. */
export async function traceFetch(url: string, opts: TraceOptions = {}): Promise<Trace> {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new UsageError(`${url} is not a URL`);
  }
  const secure = u.protocol === "https:";
  if (!secure && u.protocol !== "http:") throw new UsageError(`${url}: only http:// and https:// URLs`);
  const host = u.hostname.replace(/^\[|\]$/g, "");
  const port = Number(u.port || (secure ? 443 : 80));
  const timeoutMs = opts.timeoutMs ?? 10_000;
  const t0 = performance.now();
  const resolved = await resolve(host, opts).catch((err: unknown) => {
    if (err instanceof FerryError) throw err;
    throw new FerryError("ERR_FETCH", `${host}: ${(err as Error).message}`);
  });
  // An address needs no lookup: the phase is zero, not the cost of a resolved promise.
  const tDns = resolved.server === "none" ? t0 : performance.now();
  const raw = await connect(resolved.ip, port, timeoutMs);
  const tConnect = performance.now();
  let socket: net.Socket = raw;
  let tlsInfo: Trace["tls"] = null;
  if (secure) {
    const t = await handshake(raw, host, opts.insecure === true, opts.ca);
    const cert = t.getPeerCertificate();
    const cipher = t.getCipher();
    tlsInfo = {
      protocol: t.getProtocol() ?? "",
      cipher: cipher?.name ?? "",
      subject: String(cert?.subject?.CN ?? ""),
      issuer: String(cert?.issuer?.CN ?? ""),
      validTo: cert?.valid_to ?? "",
      alpn: t.alpnProtocol || "",
    };
    socket = t;
  }
  const tTls = secure ? performance.now() : tConnect;
  const path = `${u.pathname}${u.search}`;
  const headers: [string, string][] = [
    ["Host", u.host],
    ["User-Agent", opts.userAgent ?? "ferry"],
    ["Accept", "*/*"],
    ["Connection", "close"],
  ];
  let tFirst = 0;
  socket.once("data", () => {
    tFirst = performance.now();
  });
  const maxBody = opts.maxBody ?? 64 * 1024 * 1024;
  return new Promise((resolveTrace, reject) => {
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new FerryError("ERR_FETCH", `no complete answer within ${timeoutMs} ms`));
    }, timeoutMs);
    const req = http.request(
      {
        method: "GET",
        path,
        createConnection: () => socket,
        headers: Object.fromEntries(headers),
        setHost: false,
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        res.on("data", (c: Buffer) => {
          size += c.length;
          if (size <= maxBody) chunks.push(c);
        });
        res.on("end", () => {
          clearTimeout(timer);
          const tEnd = performance.now();
          if (tFirst === 0) tFirst = tEnd;
          socket.destroy();
          resolveTrace({
            url,
            ip: resolved.ip,
            port,
            dns: { server: resolved.server, answers: resolved.answers },
            tls: tlsInfo,
            phases: {
              dns: round(tDns - t0),
              connect: round(tConnect - tDns),
              tls: round(tTls - tConnect),
              ttfb: round(tFirst - tTls),
              download: round(tEnd - tFirst),
              total: round(tEnd - t0),
            },
            request: { method: "GET", path, headers },
            status: res.statusCode ?? 0,
            statusText: res.statusMessage ?? "",
            httpVersion: res.httpVersion,
            headers: pairs(res.rawHeaders),
            body: Buffer.concat(chunks),
          });
        });
        res.on("error", (err) => {
          clearTimeout(timer);
          reject(new FerryError("ERR_FETCH", `the answer broke off: ${err.message}`));
        });
      },
    );
    req.on("error", (err: NodeJS.ErrnoException) => {
      clearTimeout(timer);
      reject(new FerryError("ERR_FETCH", `request failed: ${err.code ?? err.message}`));
    });
    req.end();
  });
}
