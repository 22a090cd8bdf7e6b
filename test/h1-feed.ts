/**
 * Feeds Ferry's HTTP/1.1 parser as a connection does (h1-connection.ts):
 * unparsed bytes are kept and the next read appended; records what it
 * parsed. Shared by the parser's rule table and the llhttp differential.
 */
import fc from "fast-check";
import type { H1Failure, H1Head, H1Limits } from "../src/http/engine/h1-parser.js";
import { H1Parser } from "../src/http/engine/h1-parser.js";

export interface Parsed {
  heads: H1Head[];
  bodies: string[];
  failure: H1Failure | null;
  /** The most bytes the feeder had to keep for the parser at once. */
  held: number;
}

/** Feeds `chunks` as a connection does: unparsed bytes are kept and more appended. */
export function parse(chunks: Buffer[], limits: H1Limits): Parsed {
  const out: Parsed = { heads: [], bodies: [], failure: null, held: 0 };
  let body: Buffer[] = [];
  const parser = new H1Parser(limits, {
    onHead: (h) => {
      out.heads.push(h);
      body = [];
    },
    onBody: (c) => body.push(Buffer.from(c)),
    onComplete: () => out.bodies.push(Buffer.concat(body).toString("latin1")),
  });
  let pend: Buffer | null = null;
  for (const chunk of chunks) {
    pend = pend === null ? chunk : Buffer.concat([pend, chunk]);
    let at = 0;
    while (pend !== null && at < pend.length) {
      const next = parser.execute(pend, at, pend.length);
      if (next < 0) {
        out.failure = parser.failure;
        return out;
      }
      if (next === pend.length) pend = null;
      else {
        at = next;
        if (parser.waiting || parser.state === 9 /* upgraded */) break;
      }
    }
    if (pend !== null) {
      pend = pend.subarray(at);
      out.held = Math.max(out.held, pend.length);
    }
  }
  return out;
}

// Generators of valid requests.
const token = fc.stringMatching(/^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,12}$/);
const value = fc.stringMatching(/^[\x21-\x7e\x80-\xff]([\x20-\x7e\x80-\xff\t]{0,20}[\x21-\x7e\x80-\xff])?$/);
const reserved = /^(content-length|transfer-encoding|host|connection|upgrade|expect)$/i;
export const request = fc
  .record({
    method: fc.constantFrom("GET", "POST", "PUT", "DELETE", "PATCH", "OPTIONS"),
    target: fc.stringMatching(/^\/[\x21-\x7e]{0,30}$/),
    headers: fc.array(fc.tuple(token, value), { maxLength: 8 }),
    body: fc.option(fc.uint8Array({ maxLength: 300 }), { nil: undefined }),
    chunks: fc.array(fc.integer({ min: 1, max: 64 }), { minLength: 1, maxLength: 6 }),
    chunked: fc.boolean(),
  })
  .map((r) => ({ ...r, headers: r.headers.filter(([n]) => !reserved.test(n)) }));

export function wire(r: {
  method: string;
  target: string;
  headers: [string, string][];
  body: Uint8Array | undefined;
  chunks: number[];
  chunked: boolean;
}): Buffer {
  let head = `${r.method} ${r.target} HTTP/1.1\r\nHost: x\r\n`;
  for (const [n, v] of r.headers) head += `${n}: ${v}\r\n`;
  const body = Buffer.from(r.body ?? []);
  if (r.body === undefined) return Buffer.from(`${head}\r\n`, "latin1");
  if (!r.chunked)
    return Buffer.concat([Buffer.from(`${head}Content-Length: ${body.length}\r\n\r\n`, "latin1"), body]);
  const parts = [Buffer.from(`${head}Transfer-Encoding: chunked\r\n\r\n`, "latin1")];
  let at = 0;
  for (let i = 0; at < body.length; i++) {
    const n = Math.min(r.chunks[i % r.chunks.length]!, body.length - at);
    parts.push(Buffer.from(`${n.toString(16)}\r\n`), body.subarray(at, at + n), Buffer.from("\r\n"));
    at += n;
  }
  parts.push(Buffer.from("0\r\n\r\n"));
  return Buffer.concat(parts);
}

export function splitAt(buf: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (buf.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let prev = 0;
  for (const p of points) {
    out.push(buf.subarray(prev, p));
    prev = p;
  }
  out.push(buf.subarray(prev));
  return out.filter((b) => b.length > 0);
}
