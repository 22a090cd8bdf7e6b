/**
 * H1Parser against RFC 9112, row by row: each row is the bytes a client
 * sends and what the parser must make of them (the request it reads, or the
 * `failure` it refuses with). Every row is also fed split at every byte
 * boundary and one byte at a time, through a feeder that keeps and appends
 * bytes as the connection does (h1-connection.ts `drive()`/`append()`): the
 * outcome must not depend on how the bytes arrive.
 *
 * Then properties (fast-check): any valid request, or pipeline of them,
 * parses to what was sent however it is split; random bytes and mutated
 * requests never throw, parse the same split or whole, and never make the
 * feeder keep more than maxRequestLine + maxHeaderSize + 64 bytes.
 *
 * FC_SEED=n runs the properties with another seed.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import fc from "fast-check";
import { type H1Failure, type H1Head, type H1Limits, H1Parser } from "./h1-parser.js";

// --- a feeder that buffers as the connection does ---------------------------------------------

/** One message as the sink saw it. Body chunks are the parser's own slices, never copied. */
interface Message {
  head: H1Head;
  chunks: Buffer[];
  complete: boolean;
}

interface Fed {
  messages: Message[];
  failure: H1Failure | null;
  /** The parser stopped after an upgrade's head; `rest` is every byte after that head. */
  upgraded: boolean;
  rest: Buffer;
  /** Bytes the feeder still keeps for the parser at the end (an incomplete head). */
  pending: number;
  /** The most bytes the feeder had to keep for the parser between two reads. */
  maxKept: number;
  /** Where in the stream the bytes after the last complete message begin, when those were refused or wait. */
  failedAt: number | null;
}

/** Free space in the feeder's buffers is filled with this: a parser reading past `end` finds line ends. */
const FILL = 0x0a;

/**
 * Feeds `chunks` as h1-connection.ts does: unparsed bytes are kept in a
 * buffer, the next read is appended into its free space or a new buffer
 * (never over bytes already handed out), and `execute` is called again from
 * the offset it returned, until it waits, refuses or hands the connection over.
 */
function feed(chunks: readonly Buffer[], limits: H1Limits): Fed {
  const fed: Fed = {
    messages: [],
    failure: null,
    upgraded: false,
    rest: Buffer.alloc(0),
    pending: 0,
    maxKept: 0,
    failedAt: null,
  };
  const rest: Buffer[] = [];
  let current: Message | null = null;
  let upgradeHead = false;
  const parser = new H1Parser(limits, {
    onHead(head) {
      assert.ok(current === null || current.complete, "a head before the last message completed");
      current = { head, chunks: [], complete: false };
      fed.messages.push(current);
      upgradeHead = head.upgrade;
    },
    onBody(chunk) {
      assert.ok(current !== null && !current.complete, "a body chunk outside a message");
      assert.ok(chunk.length > 0, "an empty body chunk");
      current.chunks.push(chunk);
    },
    onComplete() {
      assert.ok(current !== null && !current.complete, "a message completed twice");
      current.complete = true;
    },
  });
  let pend: Buffer | null = null;
  let ps = 0;
  let pe = 0;
  /** The stream offsets of pend[0], of all read so far, and of the end of the last complete message. */
  let base = 0;
  let read = 0;
  let lastEnd = 0;
  for (const chunk of chunks) {
    if (fed.failure !== null) break;
    if (fed.upgraded) {
      rest.push(chunk);
      continue;
    }
    if (chunk.length === 0) continue;
    if (pend === null) {
      pend = Buffer.alloc(chunk.length + 7, FILL);
      chunk.copy(pend);
      base = read;
      ps = 0;
      pe = chunk.length;
    } else if (pe + chunk.length <= pend.length) {
      chunk.copy(pend, pe);
      pe += chunk.length;
    } else {
      const live = pe - ps;
      const next = Buffer.alloc(Math.max(32, 2 * (live + chunk.length)), FILL);
      pend.copy(next, 0, ps, pe);
      chunk.copy(next, live);
      base += ps;
      pend = next;
      ps = 0;
      pe = live + chunk.length;
    }
    read += chunk.length;
    for (;;) {
      const done = fed.messages.filter((m) => m.complete).length;
      const at = parser.execute(pend, ps, pe);
      if (at < 0) {
        fed.failure = parser.failure;
        fed.failedAt = lastEnd;
        assert.ok(fed.failure !== null, "refused without a failure");
        pend = null;
        break;
      }
      assert.ok(at >= ps && at <= pe, `execute returned ${at} outside [${ps}, ${pe}]`);
      if (fed.messages.filter((m) => m.complete).length > done) lastEnd = base + at;
      if (upgradeHead) {
        assert.equal(at, parser.headEnd, "an upgrade's head ends where execute stopped");
        fed.upgraded = true;
        rest.push(Buffer.from(pend.subarray(at, pe)));
        pend = null;
        break;
      }
      if (at === pe) {
        pend = null;
        break;
      }
      if (parser.waiting) {
        ps = at;
        break;
      }
      assert.ok(at > ps, "execute stopped where it started and is not waiting");
      ps = at;
    }
    if (pend !== null) fed.maxKept = Math.max(fed.maxKept, pe - ps);
  }
  fed.pending = pend === null ? 0 : pe - ps;
  if (fed.pending > 0) fed.failedAt = lastEnd;
  fed.rest = Buffer.concat(rest);
  return fed;
}

/** What a feed came to, in plain values (for deepEqual between two ways of feeding). */
function summary(fed: Fed) {
  return {
    messages: fed.messages.map((m) => ({
      ...m.head,
      body: Buffer.concat(m.chunks).toString("latin1"),
      complete: m.complete,
    })),
    failure: fed.failure,
    upgraded: fed.upgraded,
    rest: fed.rest.toString("latin1"),
    pending: fed.pending,
  };
}

const bytesOf = (text: string) => Buffer.from(text, "latin1");

function splitAt(buf: Buffer, cuts: readonly number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out;
}

const oneByOne = (buf: Buffer) => Array.from({ length: buf.length }, (_, i) => buf.subarray(i, i + 1));

/** Whole, split at every boundary, and byte by byte: the same outcome each way. */
function assertSplitInvariant(buf: Buffer, limits: H1Limits): void {
  const whole = summary(feed([buf], limits));
  for (let i = 1; i < buf.length; i++) {
    const split = summary(feed([buf.subarray(0, i), buf.subarray(i)], limits));
    assert.deepEqual(split, whole, `split at byte ${i} of ${JSON.stringify(buf.toString("latin1"))}`);
  }
  assert.deepEqual(summary(feed(oneByOne(buf), limits)), whole, "fed one byte at a time");
}

// --- the rows ---------------------------------------------------------------------------------

/** Small limits, so the limit rows stay short: a head may be 64 + 256 + 64 bytes. */
const LIMITS: H1Limits = { maxRequestLine: 64, maxHeaderSize: 256, maxHeaderCount: 8 };
const MAX_LINE = LIMITS.maxRequestLine + 64;
const MAX_HEAD = LIMITS.maxRequestLine + LIMITS.maxHeaderSize + 64;

/** What the one request in a row's bytes must parse to (only the fields named are checked). */
interface Accepted {
  method?: string;
  target?: string;
  version?: "1.0" | "1.1";
  headers?: string[];
  body?: string;
  keepAlive?: boolean;
  upgrade?: boolean;
  expectContinue?: boolean;
  chunked?: boolean;
  contentLength?: number;
  host?: string;
  hostCount?: number;
  /** The message is complete (default) or still reading its body. */
  complete?: boolean;
  /** How many messages the bytes hold (default 1); the fields above are the first's. */
  messages?: number;
  /** Bytes left for the next head, not complete yet (default 0). */
  pending?: number;
  /** After an upgrade: the bytes that follow its head. */
  rest?: string;
}

type Expect = Accepted | H1Failure;
/** [rule, request bytes (latin1), outcome] */
type Row = [string, string, Expect];

const ok = (a: Accepted = {}): Accepted => a;

const TE = "POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n";
const CL = (n: number | string) => `POST / HTTP/1.1\r\nHost: a\r\nContent-Length: ${n}\r\n\r\n`;

const sections: [string, Row[]][] = [
  [
    "§2.2 Message Parsing",
    [
      ["CRLF ends every line", "GET / HTTP/1.1\r\nHost: a\r\n\r\n", ok({ headers: ["Host", "a"] })],
      ["one empty line (CRLF) before the request line is ignored", "\r\nGET / HTTP/1.1\r\n\r\n", ok()],
      [
        "an empty line between pipelined requests is ignored",
        "GET /1 HTTP/1.1\r\n\r\n\r\nGET /2 HTTP/1.1\r\n\r\n",
        ok({ messages: 2 }),
      ],
      ["more empty lines are ignored too (as llhttp and nginx)", "\r\n\r\nGET / HTTP/1.1\r\n\r\n", ok()],
      ["an empty line of a bare LF", "\nGET / HTTP/1.1\r\n\r\n", "line-ending"],
      ["a bare CR before the request line", "\rGET / HTTP/1.1\r\n\r\n", "line-ending"],
      ["bare LF ending the request line", "GET / HTTP/1.1\nHost: a\r\n\r\n", "line-ending"],
      ["bare LF ending a field line", "GET / HTTP/1.1\r\nHost: a\nX: 1\r\n\r\n", "line-ending"],
      ["bare LF as the empty line", "GET / HTTP/1.1\r\nHost: a\r\n\n", "line-ending"],
      ["bare CR in the request target", "GET /a\rb HTTP/1.1\r\n\r\n", "target"],
      ["bare CR in a field value", "GET / HTTP/1.1\r\nX: a\rb\r\n\r\n", "header-value"],
      ["bare CR in a field name", "GET / HTTP/1.1\r\nX\rY: 1\r\n\r\n", "header-name"],
      ["CR CR LF ending a field line", "GET / HTTP/1.1\r\nX: 1\r\r\n\r\n", "header-value"],
      ["CR CR LF ending the request line", "GET / HTTP/1.1\r\r\n\r\n", "version"],
      [
        "whitespace between the start line and the first field",
        "GET / HTTP/1.1\r\n Host: a\r\n\r\n",
        "obs-fold",
      ],
    ],
  ],
  [
    "§3 Request Line",
    [
      ["origin-form", "GET /a/b?c=d&e HTTP/1.1\r\n\r\n", ok({ method: "GET", target: "/a/b?c=d&e" })],
      [
        "absolute-form",
        "GET http://a.example:8080/p?q HTTP/1.1\r\n\r\n",
        ok({ target: "http://a.example:8080/p?q" }),
      ],
      [
        "authority-form (CONNECT hands the connection over)",
        "CONNECT a.example:443 HTTP/1.1\r\nHost: a.example:443\r\n\r\ntunnel",
        ok({ method: "CONNECT", target: "a.example:443", upgrade: true, complete: false, rest: "tunnel" }),
      ],
      ["asterisk-form", "OPTIONS * HTTP/1.1\r\n\r\n", ok({ method: "OPTIONS", target: "*" })],
      ["a fragment is kept as sent", "GET /a#b HTTP/1.1\r\n\r\n", ok({ target: "/a#b" })],
      [
        "every visible ASCII character in the target",
        "GET /!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~ HTTP/1.1\r\n\r\n",
        ok({ target: "/!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~" }),
      ],
      [
        "methods are case-sensitive tokens: `get` is one (501 later)",
        "get / HTTP/1.1\r\n\r\n",
        ok({ method: "get" }),
      ],
      ["an extension method", "M-SEARCH * HTTP/1.1\r\n\r\n", ok({ method: "M-SEARCH" })],
      // GET, HEAD and POST come back as constants: their neighbours must still read as sent.
      ["HEAD", "HEAD / HTTP/1.1\r\n\r\n", ok({ method: "HEAD" })],
      ["POST", "POST / HTTP/1.1\r\nContent-Length: 0\r\n\r\n", ok({ method: "POST" })],
      ["a method one letter off GET", "GEX / HTTP/1.1\r\n\r\n", ok({ method: "GEX" })],
      ["a method one letter off HEAD", "HEAT / HTTP/1.1\r\n\r\n", ok({ method: "HEAT" })],
      ["a method one letter off POST", "PUST / HTTP/1.1\r\n\r\n", ok({ method: "PUST" })],
      ["GET's prefix", "GE / HTTP/1.1\r\n\r\n", ok({ method: "GE" })],
      ["longer than GET", "GETS / HTTP/1.1\r\n\r\n", ok({ method: "GETS" })],
      [
        "every tchar in a method",
        "!#$%&'*+-.^_`|~09azAZ / HTTP/1.1\r\n\r\n",
        ok({ method: "!#$%&'*+-.^_`|~09azAZ" }),
      ],
      ["a method not a token", "G@T / HTTP/1.1\r\n\r\n", "method"],
      ["a delimiter in a method", "GE(T / HTTP/1.1\r\n\r\n", "method"],
      ["a tab after the method", "GET\t/ HTTP/1.1\r\n\r\n", "method"],
      ["NUL in a method", "GE\0T / HTTP/1.1\r\n\r\n", "method"],
      ["obs-text in a method", "G\xc9T / HTTP/1.1\r\n\r\n", "method"],
      ["no method", " / HTTP/1.1\r\n\r\n", "request-line"],
      ["two SP before the target", "GET  / HTTP/1.1\r\n\r\n", "request-line"],
      ["two SP before the version", "GET /  HTTP/1.1\r\n\r\n", "version"],
      ["a tab before the version", "GET /\tHTTP/1.1\r\n\r\n", "target"],
      ["SP after the version", "GET / HTTP/1.1 \r\n\r\n", "version"],
      ["no target", "GET HTTP/1.1\r\n\r\n", "request-line"],
      ["no version", "GET /\r\n\r\n", "request-line"],
      ["empty lines alone wait for a request line", "\r\n\r\n", ok({ messages: 0 })],
      ["SP in the target", "GET /a b HTTP/1.1\r\n\r\n", "version"],
      ["HTAB in the target", "GET /a\tb HTTP/1.1\r\n\r\n", "target"],
      ["NUL in the target", "GET /a\0b HTTP/1.1\r\n\r\n", "target"],
      ["a control character in the target", "GET /a\x01b HTTP/1.1\r\n\r\n", "target"],
      ["DEL in the target", "GET /a\x7fb HTTP/1.1\r\n\r\n", "target"],
      ["obs-text in the target (RFC 3986 is ASCII)", "GET /caf\xe9 HTTP/1.1\r\n\r\n", "target"],
    ],
  ],
  [
    "§2.3 HTTP Version",
    [
      ["HTTP/1.1", "GET / HTTP/1.1\r\n\r\n", ok({ version: "1.1", keepAlive: true })],
      ["HTTP/1.0", "GET / HTTP/1.0\r\n\r\n", ok({ version: "1.0", keepAlive: false })],
      ["HTTP/2.0 on an HTTP/1 connection (505)", "GET / HTTP/2.0\r\n\r\n", "unsupported-version"],
      ["HTTP/0.9 (505)", "GET / HTTP/0.9\r\n\r\n", "unsupported-version"],
      ["HTTP/1.2 (505)", "GET / HTTP/1.2\r\n\r\n", "unsupported-version"],
      ["HTTP/3.0 (505)", "GET / HTTP/3.0\r\n\r\n", "unsupported-version"],
      ["HTTP/9.9 (505)", "GET / HTTP/9.9\r\n\r\n", "unsupported-version"],
      ["the name is case-sensitive", "GET / http/1.1\r\n\r\n", "version"],
      ["two minor digits", "GET / HTTP/1.10\r\n\r\n", "version"],
      ["two major digits", "GET / HTTP/11.1\r\n\r\n", "version"],
      ["no minor", "GET / HTTP/1\r\n\r\n", "version"],
      ["no dot", "GET / HTTP/11\r\n\r\n", "version"],
      ["a comma for the dot", "GET / HTTP/1,1\r\n\r\n", "version"],
      ["letters for digits", "GET / HTTP/a.b\r\n\r\n", "version"],
      ["another protocol", "GET / HTTPS/1.1\r\n\r\n", "version"],
      ["ICE", "SOURCE / ICE/1.0\r\n\r\n", "version"],
    ],
  ],
  [
    "§5 Field Syntax",
    [
      [
        "names and values as sent; OWS around the value is not part of it",
        "GET / HTTP/1.1\r\nHost: a\r\nX-Mixed-Case:  v 1\t2 \t\r\nx-empty:\r\nx-blank: \t \r\n\r\n",
        ok({ headers: ["Host", "a", "X-Mixed-Case", "v 1\t2", "x-empty", "", "x-blank", ""] }),
      ],
      ["no OWS at all", "GET / HTTP/1.1\r\nX:v\r\n\r\n", ok({ headers: ["X", "v"] })],
      [
        "obs-text in a value (latin1, as sent)",
        "GET / HTTP/1.1\r\nX: caf\xe9 \x80\xff\r\n\r\n",
        ok({ headers: ["X", "caf\xe9 \x80\xff"] }),
      ],
      [
        "every visible ASCII character in a value",
        "GET / HTTP/1.1\r\nX: !\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~\r\n\r\n",
        ok({ headers: ["X", "!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~"] }),
      ],
      ["a colon in a value", "GET / HTTP/1.1\r\nX: a:b\r\n\r\n", ok({ headers: ["X", "a:b"] })],
      [
        "every tchar in a name",
        "GET / HTTP/1.1\r\n!#$%&'*+-.^_`|~09azAZ: 1\r\n\r\n",
        ok({ headers: ["!#$%&'*+-.^_`|~09azAZ", "1"] }),
      ],
      ["SP before the colon (§5.1: 400)", "GET / HTTP/1.1\r\nHost : a\r\n\r\n", "header-name"],
      ["HTAB before the colon", "GET / HTTP/1.1\r\nHost\t: a\r\n\r\n", "header-name"],
      ["no colon", "GET / HTTP/1.1\r\nHost a\r\n\r\n", "header-name"],
      ["an empty name", "GET / HTTP/1.1\r\n: a\r\n\r\n", "header-name"],
      ["a name of obs-text", "GET / HTTP/1.1\r\nX\xe9: a\r\n\r\n", "header-name"],
      ["a name with DEL", "GET / HTTP/1.1\r\nX\x7f: a\r\n\r\n", "header-name"],
      ["a name with NUL", "GET / HTTP/1.1\r\nX\0: a\r\n\r\n", "header-name"],
      ["NUL in a value", "GET / HTTP/1.1\r\nX: a\0b\r\n\r\n", "header-value"],
      ["DEL in a value", "GET / HTTP/1.1\r\nX: a\x7fb\r\n\r\n", "header-value"],
      ["a control character ending a value", "GET / HTTP/1.1\r\nX: a\x0b\r\n\r\n", "header-value"],
      ["a control character starting a value", "GET / HTTP/1.1\r\nX: \x0ca\r\n\r\n", "header-value"],
      [
        "Host and how many there were",
        "GET / HTTP/1.1\r\nHost: a\r\nhOST: b\r\n\r\n",
        ok({ host: "b", hostCount: 2 }),
      ],
      ["no Host", "GET / HTTP/1.1\r\n\r\n", ok({ host: "", hostCount: 0 })],
    ],
  ],
  [
    "§5.2 Obsolete Line Folding",
    [
      ["a continuation line starting with SP", "GET / HTTP/1.1\r\nX: a\r\n b\r\n\r\n", "obs-fold"],
      ["a continuation line starting with HTAB", "GET / HTTP/1.1\r\nX: a\r\n\tb\r\n\r\n", "obs-fold"],
      [
        "a folded Transfer-Encoding",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip,\r\n chunked\r\n\r\n",
        "obs-fold",
      ],
      ["a folded field name", "GET / HTTP/1.1\r\nname\r\n : value\r\n\r\n", "header-name"],
    ],
  ],
  [
    "§6.1 Transfer-Encoding",
    [
      ["chunked", `${TE}5\r\nhello\r\n0\r\n\r\n`, ok({ chunked: true, contentLength: -1, body: "hello" })],
      [
        "coding names are case-insensitive",
        "POST / HTTP/1.1\r\nTransfer-Encoding: ChUnKeD\r\n\r\n0\r\n\r\n",
        ok({ chunked: true }),
      ],
      [
        "OWS around the value",
        "POST / HTTP/1.1\r\nTransfer-Encoding:   chunked  \r\n\r\n0\r\n\r\n",
        ok({ chunked: true }),
      ],
      [
        "HTAB before the value is OWS, not part of the list",
        "POST / HTTP/1.1\r\nTransfer-Encoding:\tchunked\r\n\r\n0\r\n\r\n",
        ok({ chunked: true }),
      ],
      [
        "an empty list element before chunked (RFC 9110 §5.6.1.2)",
        "POST / HTTP/1.1\r\nTransfer-Encoding: , chunked\r\n\r\n0\r\n\r\n",
        ok({ chunked: true }),
      ],
      [
        "an empty list element after chunked (llhttp refuses it: one reading of the body only)",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked,\r\n\r\n0\r\n\r\n",
        "transfer-encoding",
      ],
      [
        "chunked twice in one field",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, chunked\r\n\r\n",
        "transfer-encoding",
      ],
      [
        "chunked twice in two fields",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
        "transfer-encoding",
      ],
      [
        "chunked not last",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
        "transfer-encoding",
      ],
      [
        "chunked not last, over two fields",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: gzip\r\n\r\n",
        "transfer-encoding",
      ],
      [
        "a coding before chunked that Ferry does not implement (501)",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
        "transfer-coding",
      ],
      [
        "the same over two fields",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nTransfer-Encoding: chunked\r\n\r\n",
        "transfer-coding",
      ],
      ["only another coding (501)", "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n", "transfer-coding"],
      ["identity (501)", "POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n", "transfer-coding"],
      ["an empty value", "POST / HTTP/1.1\r\nTransfer-Encoding:\r\n\r\n", "transfer-encoding"],
      ["only commas", "POST / HTTP/1.1\r\nTransfer-Encoding: , ,\r\n\r\n", "transfer-encoding"],
      [
        "codings without a comma",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip chunked\r\n\r\n",
        "transfer-encoding",
      ],
      [
        "a parameter on chunked",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked;q=1\r\n\r\n",
        "transfer-encoding",
      ],
      ["a coding not a token", 'POST / HTTP/1.1\r\nTransfer-Encoding: chu"nked\r\n\r\n', "transfer-encoding"],
      [
        "chunkedchunked (another coding)",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunkedchunked\r\n\r\n",
        "transfer-coding",
      ],
      [
        "HTAB inside the list (llhttp reads it otherwise: refused)",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip,\tchunked\r\n\r\n",
        "transfer-encoding",
      ],
      ["HTAB after chunked", "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\t\r\n\r\n", "transfer-encoding"],
      [
        "Transfer-Encoding in HTTP/1.0 is faulty framing",
        "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n",
        "transfer-encoding",
      ],
      [
        "Content-Length and Transfer-Encoding (§6.3 ¶3)",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
        "content-length-with-transfer-encoding",
      ],
      [
        "Transfer-Encoding and Content-Length",
        "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 5\r\n\r\n",
        "content-length-with-transfer-encoding",
      ],
      [
        "Content-Length with another coding",
        "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\nContent-Length: 5\r\n\r\n",
        "content-length-with-transfer-encoding",
      ],
    ],
  ],
  [
    "§6.2 Content-Length",
    [
      [
        "a body of Content-Length bytes",
        `${CL(5)}hello`,
        ok({ contentLength: 5, chunked: false, body: "hello" }),
      ],
      ["0: no body", CL(0), ok({ contentLength: 0, body: "" })],
      ["leading zeros", `${CL("005")}hello`, ok({ contentLength: 5, body: "hello" })],
      ["OWS around", `POST / HTTP/1.1\r\nContent-Length: \t5 \r\n\r\nhello`, ok({ body: "hello" })],
      [
        "15 digits",
        `${CL("999999999999999")}abc`,
        ok({ contentLength: 999999999999999, body: "abc", complete: false }),
      ],
      ["16 digits: too large to be real", CL("1000000000000000"), "content-length"],
      ["16 digits even when small", CL("0000000000000005"), "content-length"],
      [
        "two of the same value",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\nhello",
        "duplicate-content-length",
      ],
      [
        "two values",
        "POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 6\r\n\r\nhello!",
        "duplicate-content-length",
      ],
      ["a list", CL("5, 5"), "content-length"],
      ["a sign", CL("+5"), "content-length"],
      ["negative", CL("-1"), "content-length"],
      ["a decimal point", CL("5.0"), "content-length"],
      ["hex", CL("0x5"), "content-length"],
      ["SP inside", CL("1 2"), "content-length"],
      ["empty", "POST / HTTP/1.1\r\nContent-Length:\r\n\r\n", "content-length"],
      ["a body not all sent yet", `${CL(5)}hel`, ok({ body: "hel", complete: false })],
      [
        "HTAB after the value (llhttp refuses it)",
        "POST / HTTP/1.1\r\nContent-Length: 5\t\r\n\r\nhello",
        "content-length",
      ],
      [
        "HTAB before the value is OWS",
        "POST / HTTP/1.1\r\nContent-Length:\t5\r\n\r\nhello",
        ok({ body: "hello" }),
      ],
    ],
  ],
  [
    "§6.3 Message Body Length",
    [
      [
        "no Content-Length, no Transfer-Encoding: no body, and what follows is the next request",
        "POST / HTTP/1.1\r\n\r\nGET / HTT",
        ok({ contentLength: -1, body: "", pending: 9 }),
      ],
      [
        "bytes after a Content-Length body are the next request",
        `${CL(2)}abGET /2 HTTP/1.1\r\n\r\n`,
        ok({ body: "ab", messages: 2 }),
      ],
      [
        "a GET may have a body",
        "GET / HTTP/1.1\r\nContent-Length: 2\r\n\r\nab",
        ok({ method: "GET", body: "ab" }),
      ],
    ],
  ],
  [
    "§7.1 Chunked Transfer Coding",
    [
      [
        "two chunks and the last chunk",
        `${TE}5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n`,
        ok({ body: "hello world" }),
      ],
      ["lower-case hex", `${TE}a\r\n0123456789\r\n0\r\n\r\n`, ok({ body: "0123456789" })],
      ["upper-case hex", `${TE}A\r\n0123456789\r\n0\r\n\r\n`, ok({ body: "0123456789" })],
      [
        "leading zeros, and a last chunk of zeros",
        `${TE}0005\r\nhello\r\n000\r\n\r\n`,
        ok({ body: "hello" }),
      ],
      ["12 hex digits", `${TE}ffffffffffff\r\nab`, ok({ body: "ab", complete: false })],
      ["13 hex digits: too large to be real", `${TE}1000000000000\r\n`, "chunk-size"],
      ["13 hex digits even when small", `${TE}0000000000005\r\nhello\r\n0\r\n\r\n`, "chunk-size"],
      ["a size not hex", `${TE}g\r\n`, "chunk-size"],
      ["a size with 0x", `${TE}0x5\r\nhello\r\n0\r\n\r\n`, "chunk-size"],
      ["a signed size", `${TE}-5\r\n`, "chunk-size"],
      ["an empty size", `${TE}\r\nhello\r\n0\r\n\r\n`, "chunk-size"],
      ["SP after the size (BWS, refused as llhttp does)", `${TE}5 \r\nhello\r\n0\r\n\r\n`, "chunk-size"],
      ["HTAB after the size", `${TE}5\t\r\nhello\r\n0\r\n\r\n`, "chunk-size"],
      ["SP before the size", `${TE} 5\r\nhello\r\n0\r\n\r\n`, "chunk-size"],
      ["bare LF after the size", `${TE}5\nhello\r\n0\r\n\r\n`, "line-ending"],
      ["bare CR after the size", `${TE}5\rhello\r\n0\r\n\r\n`, "line-ending"],
      ["chunk data not followed by CRLF", `${TE}5\r\nhello0\r\n\r\n`, "chunk-end"],
      ["chunk data followed by a bare LF", `${TE}5\r\nhello\n0\r\n\r\n`, "chunk-end"],
      ["chunk data followed by a bare CR", `${TE}5\r\nhello\r0\r\n\r\n`, "chunk-end"],
      ["chunk data longer than its size", `${TE}3\r\nhello\r\n0\r\n\r\n`, "chunk-end"],
      ["no last chunk", `${TE}3\r\nfoo\r\n\r\n`, "chunk-size"],
      ["a body not all sent yet", `${TE}5\r\nhel`, ok({ body: "hel", complete: false })],
      [
        "bytes after the last chunk are the next request",
        `${TE}0\r\n\r\nGET /2 HTTP/1.1\r\n\r\n`,
        ok({ messages: 2 }),
      ],
    ],
  ],
  [
    "§7.1.1 Chunk Extensions",
    [
      ["a name", `${TE}5;a\r\nhello\r\n0\r\n\r\n`, ok({ body: "hello" })],
      ["a name and a token value", `${TE}5;a=b\r\nhello\r\n0\r\n\r\n`, ok({ body: "hello" })],
      ["a quoted value with escapes", `${TE}5;a="b \\"c\\"; d"\r\nhello\r\n0\r\n\r\n`, ok({ body: "hello" })],
      ["several, and on the last chunk", `${TE}5;a;b=c;d="e"\r\nhello\r\n0;z\r\n\r\n`, ok({ body: "hello" })],
      ["a control character", `${TE}5;a\x01\r\nhello\r\n0\r\n\r\n`, "chunk-extension"],
      ["NUL", `${TE}5;a=\0\r\nhello\r\n0\r\n\r\n`, "chunk-extension"],
      ["bare LF ending it", `${TE}5;a\nhello\r\n0\r\n\r\n`, "line-ending"],
      ["bare CR in it", `${TE}5;a\rb\r\nhello\r\n0\r\n\r\n`, "line-ending"],
      [
        "more than 4 KiB of extensions (a server ought to limit them)",
        `${TE}5;${"a".repeat(4097)}\r\nhello\r\n0\r\n\r\n`,
        "chunk-extension",
      ],
      ["';' and no name", `${TE}5;\r\nhello\r\n0\r\n\r\n`, "chunk-extension"],
      ["a name not a token", `${TE}5;a b\r\nhello\r\n0\r\n\r\n`, "chunk-extension"],
      ["a name of obs-text", `${TE}5;\xe9\r\nhello\r\n0\r\n\r\n`, "chunk-extension"],
      ["a value not a token", `${TE}5;a=b c\r\nhello\r\n0\r\n\r\n`, "chunk-extension"],
      ["an unbalanced quote", `${TE}5;a="b\r\nhello\r\n0\r\n\r\n`, "chunk-extension"],
      ["'=' and no name", `${TE}5;=b\r\nhello\r\n0\r\n\r\n`, "chunk-extension"],
      ["'=' and no value", `${TE}5;a=\r\nhello\r\n0\r\n\r\n`, "chunk-extension"],
      ["BWS after ';' (refused as llhttp does)", `${TE}5; a\r\nhello\r\n0\r\n\r\n`, "chunk-extension"],
    ],
  ],
  [
    "§7.1.2 Chunked Trailer Section",
    [
      [
        "trailer fields are read and dropped",
        `${TE}5\r\nhello\r\n0\r\nX-T: 1\r\nX-U:\r\n\r\n`,
        ok({ body: "hello", headers: ["Host", "a", "Transfer-Encoding", "chunked"] }),
      ],
      ["SP before the colon", `${TE}0\r\nX-T : 1\r\n\r\n`, "header-name"],
      ["no colon", `${TE}0\r\nX-T\r\n\r\n`, "header-name"],
      ["an empty name", `${TE}0\r\n: 1\r\n\r\n`, "header-name"],
      ["a name not a token", `${TE}0\r\nX@T: 1\r\n\r\n`, "header-name"],
      ["obs-fold", `${TE}0\r\nX-T: 1\r\n 2\r\n\r\n`, "obs-fold"],
      ["a control character in a value", `${TE}0\r\nX-T: 1\x7f\r\n\r\n`, "header-value"],
      ["bare LF ending a field", `${TE}0\r\nX-T: 1\n\r\n`, "line-ending"],
      ["bare LF ending the section", `${TE}0\r\nX-T: 1\r\n\n`, "line-ending"],
      ["bare CR in a value", `${TE}0\r\nX-T: 1\r2\r\n\r\n`, "line-ending"],
      ["Content-Length as a trailer field", `${TE}0\r\nContent-Length: 5\r\n\r\n`, "trailer-framing"],
      [
        "Transfer-Encoding as a trailer field",
        `${TE}0\r\ntransfer-encoding: chunked\r\n\r\n`,
        "trailer-framing",
      ],
      [
        "a trailer section past maxHeaderSize",
        `${TE}0\r\nX-T: ${"t".repeat(260)}\r\n\r\n`,
        "trailers-too-large",
      ],
    ],
  ],
  [
    "§9.3 Persistence, §7.8 Upgrade (RFC 9110), §10.1.1 Expect (RFC 9110)",
    [
      ["HTTP/1.1 persists", "GET / HTTP/1.1\r\n\r\n", ok({ keepAlive: true })],
      ["Connection: close", "GET / HTTP/1.1\r\nConnection: close\r\n\r\n", ok({ keepAlive: false })],
      [
        "close in a list, any case",
        "GET / HTTP/1.1\r\nConnection: keep-alive,  CLOSE\r\n\r\n",
        ok({ keepAlive: false }),
      ],
      [
        "close in a second field",
        "GET / HTTP/1.1\r\nConnection: a\r\nConnection: close\r\n\r\n",
        ok({ keepAlive: false }),
      ],
      [
        "a token that only starts with close",
        "GET / HTTP/1.1\r\nConnection: closed\r\n\r\n",
        ok({ keepAlive: true }),
      ],
      [
        "`keep-alive x` is no keep-alive token (HTTP/1.0 closes)",
        "GET / HTTP/1.0\r\nConnection: keep-alive x\r\n\r\n",
        ok({ keepAlive: false }),
      ],
      ["HTTP/1.0 closes", "GET / HTTP/1.0\r\n\r\n", ok({ keepAlive: false })],
      [
        "HTTP/1.0 with keep-alive",
        "GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n",
        ok({ keepAlive: true }),
      ],
      [
        "HTTP/1.0 with keep-alive and close",
        "GET / HTTP/1.0\r\nConnection: keep-alive, close\r\n\r\n",
        ok({ keepAlive: false }),
      ],
      [
        "an upgrade: the parser stops after the head, what follows is the new protocol's",
        "GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n\x81\x00GET / HTTP/1.1\r\n\r\n",
        ok({ upgrade: true, complete: false, rest: "\x81\x00GET / HTTP/1.1\r\n\r\n" }),
      ],
      [
        "an upgrade's Content-Length body is the new protocol's too",
        "GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: x\r\nContent-Length: 3\r\n\r\nabc",
        ok({ upgrade: true, complete: false, rest: "abc" }),
      ],
      [
        "Upgrade without Connection: upgrade",
        "GET / HTTP/1.1\r\nUpgrade: websocket\r\n\r\n",
        ok({ upgrade: false }),
      ],
      [
        "Connection: upgrade without Upgrade",
        "GET / HTTP/1.1\r\nConnection: upgrade\r\n\r\n",
        ok({ upgrade: false }),
      ],
      [
        "an upgrade in HTTP/1.0 is ignored (RFC 9110 §7.8)",
        "GET / HTTP/1.0\r\nConnection: upgrade\r\nUpgrade: x\r\nContent-Length: 3\r\n\r\nabc",
        ok({ upgrade: false, body: "abc" }),
      ],
      [
        "Expect: 100-continue, any case",
        "POST / HTTP/1.1\r\nExpect: 100-Continue\r\nContent-Length: 1\r\n\r\nx",
        ok({ expectContinue: true, body: "x" }),
      ],
      [
        "another expectation",
        "GET / HTTP/1.1\r\nExpect: 100-continue-x\r\n\r\n",
        ok({ expectContinue: false }),
      ],
    ],
  ],
  [
    "limits (414, 431)",
    [
      [
        "a request line of maxRequestLine + 64 bytes before its LF",
        `GET /${"a".repeat(MAX_LINE - 15)} HTTP/1.1\r\n\r\n`,
        ok(),
      ],
      [
        "one byte more, method SP target still within it",
        `GET /${"a".repeat(MAX_LINE - 14)} HTTP/1.1\r\n\r\n`,
        "long-request-line",
      ],
      [
        "method SP target past maxRequestLine + 64",
        `GET /${"a".repeat(MAX_LINE - 4)} HTTP/1.1\r\n\r\n`,
        "long-request-line",
      ],
      ["a request line with no end past the limit", `GET /${"a".repeat(MAX_LINE)}`, "long-request-line"],
      [
        "an incomplete request line within the limit waits",
        `GET /${"a".repeat(MAX_LINE - 10)}`,
        ok({ messages: 0, pending: MAX_LINE - 5 }),
      ],
      [
        `${LIMITS.maxHeaderCount} fields`,
        `GET / HTTP/1.1\r\n${"X: 1\r\n".repeat(LIMITS.maxHeaderCount)}\r\n`,
        ok(),
      ],
      [
        `${LIMITS.maxHeaderCount + 1} fields`,
        `GET / HTTP/1.1\r\n${"X: 1\r\n".repeat(LIMITS.maxHeaderCount + 1)}\r\n`,
        "too-many-headers",
      ],
      [
        "a field line ending past the head's limit",
        `GET / HTTP/1.1\r\nX: ${"a".repeat(MAX_HEAD)}\r\n\r\n`,
        "head-too-large",
      ],
      ["a head with no end past the limit", `GET / HTTP/1.1\r\nX: ${"a".repeat(MAX_HEAD)}`, "head-too-large"],
      [
        "a head whose final LF is at maxRequestLine + maxHeaderSize + 64",
        `GET / HTTP/1.1\r\nX: ${"a".repeat(MAX_HEAD - 22)}\r\n\r\n`,
        ok(),
      ],
      [
        "one byte more, the last field line still within it",
        `GET / HTTP/1.1\r\nX: ${"a".repeat(MAX_HEAD - 21)}\r\n\r\n`,
        "head-too-large",
      ],
    ],
  ],
];

function checkAccepted(fed: Fed, want: Accepted): void {
  assert.equal(fed.failure, null, `refused: ${fed.failure}`);
  assert.equal(fed.messages.length, want.messages ?? 1, "messages");
  assert.equal(fed.pending, want.pending ?? 0, "bytes pending");
  assert.equal(fed.upgraded, want.upgrade === true, "upgraded");
  if (want.rest !== undefined) assert.equal(fed.rest.toString("latin1"), want.rest);
  const m = fed.messages[0];
  if (m === undefined) return;
  const h = m.head;
  assert.equal(m.complete, want.complete ?? true, "complete");
  if (want.method !== undefined) assert.equal(h.method, want.method);
  if (want.target !== undefined) assert.equal(h.target, want.target);
  if (want.version !== undefined) assert.equal(`1.${h.versionMinor}`, want.version);
  if (want.headers !== undefined) assert.deepEqual(h.rawHeaders, want.headers);
  if (want.body !== undefined) assert.equal(Buffer.concat(m.chunks).toString("latin1"), want.body);
  for (const k of [
    "keepAlive",
    "upgrade",
    "expectContinue",
    "chunked",
    "contentLength",
    "host",
    "hostCount",
  ] as const)
    if (want[k] !== undefined) assert.equal(h[k], want[k], k);
}

for (const [section, rows] of sections) {
  describe(section, () => {
    for (const [rule, text, expect] of rows) {
      test(rule, () => {
        const buf = bytesOf(text);
        const fed = feed([buf], LIMITS);
        if (typeof expect === "string") assert.equal(fed.failure, expect);
        else checkAccepted(fed, expect);
        assertSplitInvariant(buf, LIMITS);
      });
    }
  });
}

// --- the parser's own contract with the connection ----------------------------------------------

describe("execute's contract (h1-connection.ts relies on it)", () => {
  test("pipelined requests in one buffer: execute stops after each message", () => {
    const parts = [
      "GET /1 HTTP/1.1\r\n\r\n",
      "POST /2 HTTP/1.1\r\nContent-Length: 2\r\n\r\nab",
      "POST /3 HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nc\r\n0\r\nT: 1\r\n\r\n",
      "\r\nGET /4 HTTP/1.0\r\n\r\n",
    ];
    const text = parts.join("");
    const buf = bytesOf(text);
    const events: string[] = [];
    const parser = new H1Parser(LIMITS, {
      onHead: (h) => events.push(`head ${h.target}`),
      onBody: (c) => events.push(`body ${c.toString("latin1")}`),
      onComplete: () => events.push("complete"),
    });
    const stops: number[] = [];
    const perCall: string[][] = [];
    for (let at = 0; at < buf.length; ) {
      const before = events.length;
      at = parser.execute(buf, at, buf.length);
      assert.ok(at > 0, `refused: ${parser.failure}`);
      assert.equal(parser.waiting, false);
      assert.equal(parser.idle, true, "between messages after each stop");
      stops.push(at);
      perCall.push(events.slice(before));
    }
    let sum = 0;
    const ends = parts.map((p) => {
      sum += p.length;
      return sum;
    });
    assert.deepEqual(stops, ends);
    assert.deepEqual(perCall, [
      ["head /1", "complete"],
      ["head /2", "body ab", "complete"],
      ["head /3", "body c", "complete"],
      ["head /4", "complete"],
    ]);
  });

  test("an incomplete head: execute returns its start, waits, and takes the same bytes again with more", () => {
    const text = "GET / HTTP/1.1\r\nHost: a\r\nX: 1\r\n\r\n";
    const parser = new H1Parser(LIMITS, { onHead: () => {}, onBody: () => {}, onComplete: () => {} });
    for (const cut of [3, 17, 20, 27, text.length - 1]) {
      const buf = bytesOf(`xx${text}`);
      assert.equal(parser.execute(buf, 2, 2 + cut), 2, `cut at ${cut}`);
      assert.equal(parser.waiting, true);
      assert.equal(parser.idle, cut === 3, "the parser keeps what it has checked of the head");
    }
    const buf = bytesOf(`xx${text}`);
    assert.equal(parser.execute(buf, 2, buf.length), buf.length);
    assert.equal(parser.waiting, false);
    assert.equal(parser.headEnd, buf.length);
  });

  test("inBody is true while a body is read, and body chunks are slices of the buffer given", () => {
    const buf = bytesOf(`${CL(10)}0123456789`);
    const bodies: Buffer[] = [];
    const parser = new H1Parser(LIMITS, {
      onHead: () => {},
      onBody: (c) => bodies.push(c),
      onComplete: () => {},
    });
    const headEnd = buf.length - 10;
    assert.equal(parser.execute(buf, 0, headEnd + 4), headEnd + 4);
    assert.equal(parser.inBody, true);
    assert.equal(parser.execute(buf, headEnd + 4, buf.length), buf.length);
    assert.equal(parser.inBody, false);
    assert.equal(bodies.length, 2);
    assert.equal(bodies[0]!.buffer, buf.buffer, "a slice, not a copy");
    assert.equal(Buffer.concat(bodies).toString(), "0123456789");
  });

  test("after a refusal nothing more is parsed", () => {
    const buf = bytesOf("GET / HTTP/1.1\r\nBad Name: 1\r\n\r\nGET / HTTP/1.1\r\n\r\n");
    let heads = 0;
    const parser = new H1Parser(LIMITS, { onHead: () => heads++, onBody: () => {}, onComplete: () => {} });
    assert.equal(parser.execute(buf, 0, buf.length), -1);
    assert.equal(parser.failure, "header-name");
    parser.execute(buf, 0, buf.length);
    assert.equal(heads, 0);
  });
});

// --- properties -------------------------------------------------------------------------------

/** Limits the generated requests stay well inside. */
const ROOMY: H1Limits = { maxRequestLine: 512, maxHeaderSize: 4096, maxHeaderCount: 64 };
const SEED = Number(process.env.FC_SEED ?? 0x5eed);

const TCHAR = "!#$%&'*+-.^_`|~0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ";
const chars = (from: number, to: number) =>
  Array.from({ length: to - from + 1 }, (_, i) => String.fromCharCode(from + i));
const VCHAR = chars(0x21, 0x7e);
const OBS_TEXT = chars(0x80, 0xff);

const token = (max: number) => fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: max });
const FRAMING = /^(content-length|transfer-encoding|connection|upgrade|expect)$/i;
const fieldName = token(16).filter((n) => !FRAMING.test(n));
const ows = fc.constantFrom("", " ", "\t", "  ", " \t ");
/** [as sent, as parsed]: OWS around the value is not part of it. */
const fieldValue = fc
  .tuple(
    ows,
    fc.string({
      unit: fc.oneof(fc.constantFrom(...VCHAR), fc.constantFrom(...OBS_TEXT), fc.constantFrom(" ", "\t")),
      maxLength: 24,
    }),
    ows,
  )
  .map(([a, v, b]) => [`${a}${v}${b}`, v.replace(/^[ \t]+|[ \t]+$/g, "")] as const);

const method = fc.oneof(
  fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "HEAD"),
  token(12).filter((m) => m !== "CONNECT"),
);
const target = fc.oneof(
  fc.string({ unit: fc.constantFrom(...VCHAR), maxLength: 40 }).map((s) => `/${s}`),
  fc.constant("*"),
  fc.string({ unit: fc.constantFrom(...TCHAR), minLength: 1, maxLength: 12 }).map((h) => `http://${h}/x?y`),
);
const extension = fc.constantFrom("", ";a", ";a=b", ';n="v \\" x"', ";x;y=1", ';k=""');
const body = fc.uint8Array({ maxLength: 200, size: "medium" }).map((b) => Buffer.from(b));

type Framing =
  | { kind: "none" }
  | { kind: "length"; body: Buffer; zeros: number }
  | {
      kind: "chunked";
      body: Buffer;
      sizes: number[];
      zeros: number;
      upper: boolean;
      exts: string[];
      trailers: [string, string][];
    };

const framing: fc.Arbitrary<Framing> = fc.oneof(
  fc.constant({ kind: "none" as const }),
  fc.record({ kind: fc.constant("length" as const), body, zeros: fc.integer({ min: 0, max: 3 }) }),
  fc.record({
    kind: fc.constant("chunked" as const),
    body,
    sizes: fc.array(fc.integer({ min: 1, max: 80 }), { minLength: 1, maxLength: 5 }),
    zeros: fc.integer({ min: 0, max: 3 }),
    upper: fc.boolean(),
    exts: fc.array(extension, { minLength: 1, maxLength: 4 }),
    trailers: fc.array(
      fc.tuple(
        fieldName,
        fieldValue.map(([sent]) => sent),
      ),
      { maxLength: 3 },
    ),
  }),
);

const request = fc.record({
  lead: fc.boolean(),
  method,
  target,
  minor: fc.constantFrom(0, 1),
  fields: fc.array(fc.tuple(fieldName, fieldValue), { maxLength: 10 }),
  connection: fc.constantFrom(undefined, "close", "keep-alive", "Keep-Alive", "foo, Close", "keep-alive, te"),
  framing,
});
type Request = typeof request extends fc.Arbitrary<infer R> ? R : never;

/** A request's bytes, and what it must parse to. */
function encode(r: Request): { bytes: Buffer; want: Accepted } {
  const headers: string[] = [];
  let head = `${r.lead ? "\r\n" : ""}${r.method} ${r.target} HTTP/1.${r.minor}\r\n`;
  for (const [name, [sent, parsed]] of r.fields) {
    head += `${name}:${sent}\r\n`;
    headers.push(name, parsed);
  }
  if (r.connection !== undefined) {
    head += `Connection: ${r.connection}\r\n`;
    headers.push("Connection", r.connection);
  }
  const tokens = (r.connection ?? "").toLowerCase().split(/[ ,]+/);
  const keepAlive = !tokens.includes("close") && (r.minor === 1 || tokens.includes("keep-alive"));
  const f = r.framing;
  const want: Accepted = {
    method: r.method,
    target: r.target,
    version: r.minor === 1 ? "1.1" : "1.0",
    keepAlive,
  };
  if (f.kind === "none") return { bytes: bytesOf(`${head}\r\n`), want: { ...want, headers, body: "" } };
  if (f.kind === "length" || r.minor === 0) {
    const b = f.body;
    const value = `${"0".repeat(f.kind === "length" ? f.zeros : 0)}${b.length}`;
    headers.push("Content-Length", value);
    return {
      bytes: Buffer.concat([bytesOf(`${head}Content-Length: ${value}\r\n\r\n`), b]),
      want: { ...want, headers, body: b.toString("latin1"), contentLength: b.length, chunked: false },
    };
  }
  headers.push("Transfer-Encoding", "chunked");
  const parts: Buffer[] = [bytesOf(`${head}Transfer-Encoding: chunked\r\n\r\n`)];
  const hex = (n: number) => {
    const h = `${"0".repeat(f.zeros)}${n.toString(16)}`;
    return f.upper ? h.toUpperCase() : h;
  };
  let at = 0;
  for (let i = 0; at < f.body.length; i++) {
    const n = Math.min(f.sizes[i % f.sizes.length]!, f.body.length - at);
    parts.push(
      bytesOf(`${hex(n)}${f.exts[i % f.exts.length]}\r\n`),
      f.body.subarray(at, at + n),
      bytesOf("\r\n"),
    );
    at += n;
  }
  let end = `${hex(0)}${f.exts[0]}\r\n`;
  for (const [n, v] of f.trailers) end += `${n}:${v}\r\n`;
  parts.push(bytesOf(`${end}\r\n`));
  return {
    bytes: Buffer.concat(parts),
    want: { ...want, headers, body: f.body.toString("latin1"), contentLength: -1, chunked: true },
  };
}

const cuts = fc.array(fc.nat(), { maxLength: 12 });

function assertSameOutcome(split: Fed, whole: Fed, what: string): void {
  assert.deepEqual(summary(split), summary(whole), what);
}

describe("properties", () => {
  test("a valid request parses to what was sent, however its bytes are split", () => {
    fc.assert(
      fc.property(request, cuts, (r, at) => {
        const { bytes, want } = encode(r);
        const whole = feed([bytes], ROOMY);
        checkAccepted(whole, want);
        assert.deepEqual(summary(feed(splitAt(bytes, at), ROOMY)), summary(whole));
      }),
      { numRuns: 600, seed: SEED },
    );
  });

  test("a pipeline of valid requests parses to each in turn, however split", () => {
    fc.assert(
      fc.property(fc.array(request, { minLength: 2, maxLength: 5 }), cuts, (rs, at) => {
        const encoded = rs.map(encode);
        const bytes = Buffer.concat(encoded.map((e) => e.bytes));
        const fed = feed(splitAt(bytes, at), ROOMY);
        assert.equal(fed.failure, null);
        assert.equal(fed.pending, 0);
        assert.equal(fed.messages.length, rs.length);
        encoded.forEach((e, i) => {
          checkAccepted({ ...fed, messages: [fed.messages[i]!] }, e.want);
        });
      }),
      { numRuns: 200, seed: SEED },
    );
  });

  /** Bytes that matter to the parser, more often than chance would pick them. */
  const special = fc.constantFrom(13, 10, 32, 9, 58, 59, 44, 48, 49, 97, 65, 0, 0x7f, 0xff, 0x22);
  const mutation = fc.oneof(
    fc.record({
      op: fc.constant("set" as const),
      at: fc.nat(),
      byte: fc.oneof(special, fc.integer({ min: 0, max: 255 })),
    }),
    fc.record({
      op: fc.constant("insert" as const),
      at: fc.nat(),
      byte: fc.oneof(special, fc.integer({ min: 0, max: 255 })),
    }),
    fc.record({ op: fc.constant("delete" as const), at: fc.nat(), byte: fc.constant(0) }),
    fc.record({ op: fc.constant("repeat" as const), at: fc.nat(), byte: fc.integer({ min: 1, max: 40 }) }),
  );

  function mutate(buf: Buffer, ms: { op: string; at: number; byte: number }[]): Buffer {
    let b = buf;
    for (const m of ms) {
      const at = m.at % (b.length + 1);
      if (m.op === "set" && at < b.length) {
        b = Buffer.from(b);
        b[at] = m.byte;
      } else if (m.op === "insert") b = Buffer.concat([b.subarray(0, at), Buffer.of(m.byte), b.subarray(at)]);
      else if (m.op === "delete") b = Buffer.concat([b.subarray(0, at), b.subarray(at + 1)]);
      else if (m.op === "repeat") b = Buffer.concat([b.subarray(0, at + m.byte), b.subarray(at)]);
    }
    return b;
  }

  test("a mutated request never throws, and parses the same split or whole", () => {
    fc.assert(
      fc.property(request, fc.array(mutation, { minLength: 1, maxLength: 3 }), cuts, (r, ms, at) => {
        const bytes = mutate(encode(r).bytes, ms);
        const chunks = splitAt(bytes, at);
        assertSameOutcome(feed(chunks, LIMITS), feed([bytes], LIMITS), "mutated, small limits");
        assertSameOutcome(feed(chunks, ROOMY), feed([bytes], ROOMY), "mutated");
      }),
      { numRuns: 1500, seed: SEED },
    );
  });

  const bound = LIMITS.maxRequestLine + LIMITS.maxHeaderSize + 64;
  const prefixes = fc.constantFrom(
    "",
    "GET / HTTP/1.1\r\n",
    "GET / HTTP/1.1\r\nX: ",
    TE,
    `${TE}5`,
    `${TE}0\r\n`,
    CL(20),
    "GET / HTTP/1.1\r\nConnection: upgrade\r\nUpgrade: x\r\n",
  );
  const noise = fc.array(
    fc.oneof(
      special,
      fc.integer({ min: 0, max: 255 }),
      fc.constantFrom(...TCHAR.split("").map((c) => c.charCodeAt(0))),
    ),
    {
      maxLength: 600,
      size: "max",
    },
  );

  test("random bytes never throw, and the feeder never keeps more than the limits before a refusal", () => {
    fc.assert(
      fc.property(
        prefixes,
        fc.array(noise, { minLength: 1, maxLength: 8, size: "medium" }),
        (prefix, reads) => {
          const chunks = [bytesOf(prefix), ...reads.map((r) => Buffer.from(r))];
          const fed = feed(chunks, LIMITS);
          assert.ok(fed.maxKept <= bound, `kept ${fed.maxKept} bytes (bound ${bound})`);
          const bytes = Buffer.concat(chunks);
          assertSameOutcome(fed, feed([bytes], LIMITS), "random bytes");
        },
      ),
      { numRuns: 1500, seed: SEED },
    );
  });

  test("a head that never ends is refused once past the limits: the kept bytes stay bounded", () => {
    for (const [prefix, failure] of [
      ["GET /", "long-request-line"],
      ["GET / HTTP/1.1\r\nX: ", "head-too-large"],
      ["GET / HTTP/1.1\r\n", "head-too-large"],
    ] as const) {
      const unit = prefix.endsWith("\r\n") ? "X: 1\r\n" : "a";
      const drip = Array.from({ length: 2 * bound }, () => bytesOf(unit));
      const fed = feed([bytesOf(prefix), ...drip], { ...LIMITS, maxHeaderCount: 10_000 });
      assert.equal(fed.failure, failure, prefix);
      assert.ok(fed.maxKept <= bound, `kept ${fed.maxKept}`);
    }
  });

  test("a body never makes the feeder keep bytes: only heads are kept", () => {
    fc.assert(
      fc.property(request, cuts, (r, at) => {
        const { bytes } = encode(r);
        const fed = feed(splitAt(bytes, at), ROOMY);
        const headLength = bytes.indexOf("\r\n\r\n") + 4;
        assert.ok(fed.maxKept < headLength, `kept ${fed.maxKept} of a ${headLength}-byte head`);
      }),
      { numRuns: 300, seed: SEED },
    );
  });
});
