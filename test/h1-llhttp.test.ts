/**
 * Ferry's HTTP/1.1 parser against llhttp (node's, as node:http runs it):
 * the same byte streams go to a node:http server over a real loopback
 * socket and to Ferry's parser (split at random points). Both must agree
 * on accepting or refusing each request and, where both accept, on the
 * method, target, version, headers and body bytes. Ferry may be stricter
 * only where RFC 9112 says so (STRICTER below); never laxer.
 */
import assert from "node:assert/strict";
import http, { METHODS } from "node:http";
import net from "node:net";
import { after, before, describe, test } from "node:test";
import fc from "fast-check";
import { resolveTarget } from "../src/http/request-checks.js";
import { parse, request, splitAt, wire } from "./h1-feed.js";

const LIMITS = { maxRequestLine: 8 * 1024, maxHeaderSize: 56 * 1024, maxHeaderCount: 1000 };
const KNOWN = new Set(METHODS);

type Outcome =
  | { kind: "accept"; method: string; target: string; version: string; headers: string[]; body: string }
  | { kind: "reject"; why: string }
  | { kind: "incomplete" };

let server: http.Server;
let port = 0;
/** The case whose connection opens next; each server socket keeps the case it belongs to. */
let next: ((o: Outcome) => void) | null = null;
const kCase = Symbol("case");

const kFirst = Symbol("first");
type CaseSocket = net.Socket & {
  [kCase]?: (o: Outcome) => void;
  [kFirst]?: { req: http.IncomingMessage; chunks: Buffer[] };
};

function settleFor(socket: net.Socket, o: Outcome): void {
  (socket as CaseSocket)[kCase]?.(o);
}

/** Reads what node has parsed of the first message's body so far. */
function drain(socket: CaseSocket): void {
  const first = socket[kFirst]!;
  for (let c = first.req.read() as Buffer | null; c !== null; c = first.req.read() as Buffer | null)
    first.chunks.push(c);
}

/** The first message was complete: what llhttp made of it. */
function accepted(socket: CaseSocket): void {
  drain(socket);
  const { req, chunks } = socket[kFirst]!;
  settleFor(socket, {
    kind: "accept",
    method: req.method ?? "",
    target: req.url ?? "",
    version: req.httpVersion,
    headers: req.rawHeaders,
    body: Buffer.concat(chunks).toString("latin1"),
  });
}

before(async () => {
  server = http.createServer({ requireHostHeader: false, maxHeaderSize: 64 * 1024 }, (req, res) => {
    const socket = req.socket as CaseSocket;
    // Only the first message of a case is compared (bytes after it may be refused as a second one).
    if (socket[kFirst] !== undefined) return;
    socket[kFirst] = { req, chunks: [] };
    req.on("readable", () => drain(socket));
    req.on("end", () => {
      accepted(socket);
      res.end();
    });
    req.on("error", () => settleFor(socket, { kind: "incomplete" }));
  });
  server.on("connection", (socket: CaseSocket) => {
    socket[kCase] = next ?? undefined;
    next = null;
  });
  server.on("clientError", (err: NodeJS.ErrnoException, socket: net.Socket) => {
    // The client's end in the middle of a message is not a refusal of what was sent.
    const first = (socket as CaseSocket)[kFirst];
    // A complete first message, then bytes refused as a second: the first was accepted.
    if (first?.req.complete) accepted(socket as CaseSocket);
    else if (err.code === "HPE_INVALID_EOF_STATE" || err.code === "ECONNRESET")
      settleFor(socket, { kind: "incomplete" });
    else settleFor(socket, { kind: "reject", why: err.code ?? err.message });
    socket.destroy();
  });
  server.on("upgrade", (_req, socket: net.Socket) => {
    settleFor(socket, { kind: "reject", why: "upgrade (not generated)" });
    socket.destroy();
  });
  server.on("connect", (_req, socket: net.Socket) => {
    settleFor(socket, { kind: "reject", why: "connect (not generated)" });
    socket.destroy();
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  port = (server.address() as net.AddressInfo).port;
});
after(() => new Promise<void>((r) => server.close(() => r())));

/** What llhttp made of `bytes`: one connection, the bytes, then the client's end. The first outcome wins. */
function viaNode(bytes: Buffer): Promise<Outcome> {
  return new Promise((resolve) => {
    let done = false;
    const settle = (o: Outcome) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(o);
    };
    const timer = setTimeout(() => settle({ kind: "incomplete" }), 2000);
    next = settle;
    const s = net.connect(port, "127.0.0.1", () => s.end(bytes));
    s.on("error", () => {});
    s.resume();
    s.on("close", () => setTimeout(() => settle({ kind: "incomplete" }), 50));
  });
}

/** What Ferry's engine makes of `bytes`: the parser, then the method check it answers 501 for. */
function viaFerry(bytes: Buffer, cuts: number[]): Outcome {
  const r = parse(splitAt(bytes, cuts), LIMITS);
  const h = r.heads[0];
  if (h !== undefined && r.bodies.length > 0) {
    if (!KNOWN.has(h.method)) return { kind: "reject", why: "unknown method (501)" };
    return {
      kind: "accept",
      method: h.method,
      target: h.target,
      version: `1.${h.versionMinor}`,
      headers: h.rawHeaders,
      body: r.bodies[0]!,
    };
  }
  if (r.failure !== null) return { kind: "reject", why: r.failure };
  return { kind: "incomplete" };
}

/**
 * What both engines check after their parser (request-checks.ts), applied to both sides alike: the
 * version (llhttp takes any HTTP/D.D; both engines answer 505) and the target's form and host.
 */
function engineChecks(o: Outcome): Outcome {
  if (o.kind !== "accept") return o;
  if (o.version !== "1.0" && o.version !== "1.1") return { kind: "reject", why: `HTTP/${o.version} (505)` };
  let host = "";
  for (let i = 0; i < o.headers.length; i += 2)
    if (o.headers[i]!.toLowerCase() === "host") host = o.headers[i + 1]!;
  if (resolveTarget(o.method, o.target, host) === null)
    return { kind: "reject", why: "target or host (400)" };
  return o;
}

/**
 * Where Ferry refuses what llhttp takes, by design: each names the rule.
 * A case matching none of these where the two disagree fails the test.
 */
const STRICTER: [RegExp, string][] = [
  [
    /^[^\r\n]* HTTP\/1\.0\r\n(?:[^\r\n]*\r\n)*?transfer-encoding:/im,
    "RFC 9112 §6.1: Transfer-Encoding on HTTP/1.0 is faulty framing",
  ],
  [/^transfer-encoding:[^\r\n]*chunked[^\r\n]*chunked/im, "chunked twice (RFC 9112 §6.1: applied once)"],
  [
    /^transfer-encoding:[^\r\n]*(?:gzip|deflate|compress|identity|x-)/im,
    "a transfer coding Ferry does not implement: 501",
  ],
  [/^[^\r\n ]+ {2}/, "RFC 9112 §3: one SP between method and target (llhttp skips extra spaces)"],
  [/^[^\r\n ]+ [^\r\n ]+ {2}/, "RFC 9112 §3: one SP between target and version (llhttp skips extra spaces)"],
  [/^\n/, "RFC 9112 §2.2: an empty line before the request line is CRLF (llhttp also skips a bare LF)"],
];

function stricter(bytes: Buffer): string | null {
  const text = bytes.toString("latin1");
  for (const [re, why] of STRICTER) if (re.test(text)) return why;
  return null;
}

async function compare(bytes: Buffer, cuts: number[]): Promise<void> {
  const node = engineChecks(await viaNode(bytes));
  const ferry = engineChecks(viaFerry(bytes, cuts));
  const show = `${JSON.stringify(bytes.toString("latin1"))} (base64 ${bytes.toString("base64")})`;
  if (node.kind === "accept" && ferry.kind === "accept") {
    assert.deepEqual(ferry, { ...node, version: node.version }, `fields differ for ${show}`);
    return;
  }
  if (node.kind === ferry.kind) return;
  // An incomplete message on one side and a refusal on the other: both refuse to answer it.
  if (node.kind === "incomplete" || ferry.kind === "incomplete") {
    if (node.kind !== "accept" && ferry.kind !== "accept") return;
  }
  if (ferry.kind === "reject" && node.kind === "accept") {
    const why = stricter(bytes);
    assert.ok(why !== null, `Ferry refused (${ferry.why}) what llhttp accepted: ${show}`);
    return;
  }
  assert.fail(
    `Ferry ${ferry.kind}${ferry.kind === "reject" ? ` (${ferry.why})` : ""}, llhttp ${node.kind}${node.kind === "reject" ? ` (${node.why})` : ""}: ${show}`,
  );
}

// Edits that make the framing edges: each takes a valid request's text and returns a variant.
const EDGES: [string, (t: string) => string][] = [
  [
    "duplicate Content-Length",
    (t) => t.replace(/\r\nContent-Length: (\d+)/, "\r\nContent-Length: $1\r\nContent-Length: $1"),
  ],
  ["Content-Length list", (t) => t.replace(/\r\nContent-Length: (\d+)/, "\r\nContent-Length: $1, $1")],
  ["Content-Length plus sign", (t) => t.replace(/\r\nContent-Length: /, "\r\nContent-Length: +")],
  ["Content-Length leading zeros", (t) => t.replace(/\r\nContent-Length: /, "\r\nContent-Length: 00")],
  [
    "Content-Length with Transfer-Encoding",
    (t) => t.replace(/\r\nTransfer-Encoding: chunked/, "\r\nContent-Length: 3\r\nTransfer-Encoding: chunked"),
  ],
  ["chunked, chunked", (t) => t.replace(/Transfer-Encoding: chunked/, "Transfer-Encoding: chunked, chunked")],
  ["gzip, chunked", (t) => t.replace(/Transfer-Encoding: chunked/, "Transfer-Encoding: gzip, chunked")],
  ["chunked, gzip", (t) => t.replace(/Transfer-Encoding: chunked/, "Transfer-Encoding: chunked, gzip")],
  ["CHUNKED", (t) => t.replace(/Transfer-Encoding: chunked/, "Transfer-Encoding: CHUNKED")],
  ["TE leading space", (t) => t.replace(/Transfer-Encoding: chunked/, "Transfer-Encoding:   chunked")],
  ["TE trailing tab", (t) => t.replace(/Transfer-Encoding: chunked/, "Transfer-Encoding: chunked\t")],
  [
    "TE on HTTP/1.0",
    (t) => (t.includes("Transfer-Encoding") ? t.replace(" HTTP/1.1\r\n", " HTTP/1.0\r\n") : t),
  ],
  ["chunk size with leading zeros", (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, "\r\n\r\n000$1\r\n")],
  [
    "chunk size upper-case hex",
    (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, (_m, n: string) => `\r\n\r\n${n.toUpperCase()}\r\n`),
  ],
  ["chunk size then space", (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, "\r\n\r\n$1 \r\n")],
  ["chunk extension", (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, '\r\n\r\n$1;a=b;c="d e"\r\n')],
  ["chunk extension with a control", (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, "\r\n\r\n$1;a\x01\r\n")],
  ["chunk extension with a space", (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, "\r\n\r\n$1;a b\r\n")],
  ["chunk extension empty", (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, "\r\n\r\n$1;\r\n")],
  ["chunk extension open quote", (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, '\r\n\r\n$1;a="b\r\n')],
  ["chunk extension high byte", (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, "\r\n\r\n$1;\xe9\r\n")],
  ["chunk extension ==", (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, "\r\n\r\n$1;a==b\r\n")],
  [
    "chunk extension quoted escape",
    (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, '\r\n\r\n$1;a="x\\"y";b\r\n'),
  ],
  ["chunked, (empty element)", (t) => t.replace(/Transfer-Encoding: chunked/, "Transfer-Encoding: chunked,")],
  ["chunked , (space comma)", (t) => t.replace(/Transfer-Encoding: chunked/, "Transfer-Encoding: chunked ,")],
  ["Content-Length then tab", (t) => t.replace(/\r\nContent-Length: (\d+)/, "\r\nContent-Length: $1\t")],
  ["Content-Length then space", (t) => t.replace(/\r\nContent-Length: (\d+)/, "\r\nContent-Length: $1 ")],
  [
    "Connection: keep-alive x on HTTP/1.0",
    (t) =>
      t
        .replace(" HTTP/1.1\r\n", " HTTP/1.0\r\n")
        .replace("\r\nHost: x", "\r\nConnection: keep-alive x\r\nHost: x"),
  ],
  ["Content-Length trailer", (t) => t.replace(/\r\n0\r\n\r\n$/, "\r\n0\r\nContent-Length: 1\r\n\r\n")],
  [
    "Transfer-Encoding trailer",
    (t) => t.replace(/\r\n0\r\n\r\n$/, "\r\n0\r\nTransfer-Encoding: chunked\r\n\r\n"),
  ],
  ["two leading CRLFs", (t) => `\r\n\r\n${t}`],
  ["chunk data without CRLF", (t) => t.replace(/\r\n0\r\n\r\n$/, "0\r\n\r\n")],
  ["chunk size bare LF", (t) => t.replace(/\r\n\r\n([0-9a-f]+)\r\n/, "\r\n\r\n$1\n")],
  ["trailer", (t) => t.replace(/\r\n0\r\n\r\n$/, "\r\n0\r\nX-T: 1\r\n\r\n")],
  ["bad trailer", (t) => t.replace(/\r\n0\r\n\r\n$/, "\r\n0\r\nX T: 1\r\n\r\n")],
  ["obs-fold", (t) => t.replace("\r\nHost: x\r\n", "\r\nHost: x\r\nX-F: a\r\n b\r\n")],
  ["space before colon", (t) => t.replace("\r\nHost: x", "\r\nHost : x")],
  ["tab before colon", (t) => t.replace("\r\nHost: x", "\r\nHost\t: x")],
  ["bare LF line", (t) => t.replace("\r\nHost: x\r\n", "\r\nHost: x\n")],
  ["bare CR in value", (t) => t.replace("\r\nHost: x", "\r\nHost: x\ry")],
  ["NUL in value", (t) => t.replace("\r\nHost: x", "\r\nHost: x\0y")],
  ["DEL in value", (t) => t.replace("\r\nHost: x", "\r\nHost: x\x7fy")],
  ["control in value", (t) => t.replace("\r\nHost: x", "\r\nHost: x\x0by")],
  ["empty header name", (t) => t.replace("\r\nHost: x", "\r\n: x\r\nHost: x")],
  ["non-token header name", (t) => t.replace("\r\nHost: x", "\r\nX(y): 1\r\nHost: x")],
  ["lower-case method", (t) => t.replace(/^[A-Z]+/, (m) => m.toLowerCase())],
  ["unknown method", (t) => t.replace(/^[A-Z]+/, "FROB")],
  ["space in target", (t) => t.replace(/^([A-Z]+) \//, "$1 /a b")],
  ["control in target", (t) => t.replace(/^([A-Z]+) \//, "$1 /\x01")],
  ["high byte in target", (t) => t.replace(/^([A-Z]+) \//, "$1 /\xe9")],
  ["HTTP/1.0", (t) => t.replace(" HTTP/1.1\r\n", " HTTP/1.0\r\n")],
  ["HTTP/2.0", (t) => t.replace(" HTTP/1.1\r\n", " HTTP/2.0\r\n")],
  ["HTTP/1.10", (t) => t.replace(" HTTP/1.1\r\n", " HTTP/1.10\r\n")],
  ["http/1.1", (t) => t.replace(" HTTP/1.1\r\n", " http/1.1\r\n")],
  ["two spaces after method", (t) => t.replace(/^([A-Z]+) /, "$1  ")],
  ["leading CRLF", (t) => `\r\n${t}`],
  ["leading LF", (t) => `\n${t}`],
];

describe("Ferry's parser and llhttp agree", () => {
  test("on valid requests (Content-Length and chunked, any split)", async () => {
    const samples = fc.sample(fc.tuple(request, fc.array(fc.nat(), { maxLength: 10 })), 200);
    for (const [r, cuts] of samples) await compare(wire(r), cuts);
  });

  test("on every framing edge, applied to generated requests", async () => {
    const samples = fc.sample(fc.tuple(request, fc.array(fc.nat(), { maxLength: 6 })), 10);
    for (const [name, edit] of EDGES) {
      for (const [r, cuts] of samples) {
        const bytes = Buffer.from(edit(wire(r).toString("latin1")), "latin1");
        await compare(bytes, cuts).catch((err: Error) => {
          throw new Error(`${name}: ${err.message}`);
        });
      }
    }
  });

  test("on requests with one byte changed", async () => {
    const samples = fc.sample(
      fc.tuple(request, fc.nat(), fc.integer({ min: 0, max: 255 }), fc.array(fc.nat(), { maxLength: 6 })),
      600,
    );
    for (const [r, at, byte, cuts] of samples) {
      const bytes = Buffer.from(wire(r));
      bytes[at % bytes.length] = byte;
      await compare(bytes, cuts);
    }
  });
});
