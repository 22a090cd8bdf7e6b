/**
 * Turns a cached file entry into a reply for one request: picks the
 * representation (content coding), evaluates conditional requests and
 * ranges, and reuses headers prepared once per entry.
 */
import type { FerryRequest, Reply } from "../types.js";
import { type Coding, negotiateEncoding, streamEncoder } from "./compress.js";

/** On-the-fly compression for files too large for the cache, made once per coding (no closure per reply). */
const STREAM_ENCODERS: Record<Coding, { coding: Coding; stream: () => ReturnType<typeof streamEncoder> }> = {
  br: { coding: "br", stream: () => streamEncoder("br") },
  gzip: { coding: "gzip", stream: () => streamEncoder("gzip") },
};

import { evaluateConditions, ifRangeAllows } from "./conditional.js";
import type { FileEntry, Representation } from "./file-cache.js";
import { parseRange } from "./range.js";

/** Location settings that shape file responses. */
export interface ResponseSettings {
  cacheControl: string | null;
  /** Extra response headers, flat. */
  headers: string[];
}

const prepared = new WeakMap<Representation, string[]>();

function validatorHeaders(entry: FileEntry, rep: Representation, s: ResponseSettings): string[] {
  const h = ["ETag", rep.etag, "Last-Modified", entry.lastModified];
  if (entry.negotiated) h.push("Vary", "Accept-Encoding");
  if (s.cacheControl !== null) h.push("Cache-Control", s.cacheControl);
  for (let i = 0; i < s.headers.length; i++) h.push(s.headers[i]!);
  return h;
}

function fullHeaders(entry: FileEntry, rep: Representation, s: ResponseSettings): string[] {
  let h = prepared.get(rep);
  if (h === undefined) {
    h = ["Content-Type", entry.contentType];
    if (rep.size >= 0) h.push("Content-Length", String(rep.size), "Accept-Ranges", "bytes");
    if (rep.coding) h.push("Content-Encoding", rep.coding);
    h.push(...validatorHeaders(entry, rep, s));
    // Shared by every reply of this representation: frozen, so engines may cache what they derive from it.
    Object.freeze(h);
    prepared.set(rep, h);
  }
  return h;
}

function choose(entry: FileEntry, req: FerryRequest): Representation {
  const variants = entry.variants;
  if (variants.length === 0) return entry.identity;
  const accept = req.headers["accept-encoding"];
  const coding = negotiateEncoding(
    typeof accept === "string" ? accept : undefined,
    variants.map((v) => v.coding!),
  );
  if (coding === null) return entry.identity;
  const rep = variants.find((v) => v.coding === coding)!;
  // Ranges need a known length: a request with Range gets identity rather than an on-the-fly stream.
  if (rep.size < 0 && req.headers.range !== undefined) return entry.identity;
  return rep;
}

function bodyOf(rep: Representation, start: number, end: number) {
  if (rep.body)
    return start === 0 && end === rep.body.length - 1 ? rep.body : rep.body.subarray(start, end + 1);
  if (rep.size === 0) return Buffer.alloc(0);
  return { kind: "file" as const, path: rep.file, start, end, encode: null };
}

/** Builds the reply for a file entry; `status` other than 200 is used for error pages and fallbacks. */
export function replyForEntry(
  entry: FileEntry,
  req: FerryRequest,
  s: ResponseSettings,
  site: string,
  location: string,
  status = 200,
): Reply {
  const rep = choose(entry, req);
  if (status !== 200) {
    const h = ["Content-Type", entry.contentType, "Content-Length", String(entry.identity.size)];
    h.push(...s.headers);
    return { status, headers: h, body: bodyOf(entry.identity, 0, entry.identity.size - 1), site, location };
  }
  const h = req.headers;
  if (
    h["if-none-match"] !== undefined ||
    h["if-modified-since"] !== undefined ||
    h["if-match"] !== undefined ||
    h["if-unmodified-since"] !== undefined
  ) {
    const result = evaluateConditions(h, rep.etag, Math.floor(entry.mtimeMs / 1000));
    if (result === "not-modified")
      return { status: 304, headers: validatorHeaders(entry, rep, s), body: null, site, location };
    if (result === "precondition-failed") {
      return {
        status: 412,
        headers: ["Content-Length", "0", ...validatorHeaders(entry, rep, s)],
        body: null,
        site,
        location,
      };
    }
  }
  const range = h.range;
  if (typeof range === "string" && rep.size >= 0) {
    const ifRange = h["if-range"];
    if (ifRangeAllows(typeof ifRange === "string" ? ifRange : undefined, rep.etag, entry.lastModified)) {
      const r = parseRange(range, rep.size);
      if (r === "unsatisfiable") {
        const headers = [
          "Content-Range",
          `bytes */${rep.size}`,
          "Content-Length",
          "0",
          "Accept-Ranges",
          "bytes",
        ];
        headers.push(...validatorHeaders(entry, rep, s));
        return { status: 416, headers, body: null, site, location };
      }
      if (r !== null) {
        const headers = ["Content-Type", entry.contentType, "Content-Length", String(r.end - r.start + 1)];
        headers.push("Content-Range", `bytes ${r.start}-${r.end}/${rep.size}`, "Accept-Ranges", "bytes");
        if (rep.coding) headers.push("Content-Encoding", rep.coding);
        headers.push(...validatorHeaders(entry, rep, s));
        return { status: 206, headers, body: bodyOf(rep, r.start, r.end), site, location };
      }
    }
  }
  if (rep.size < 0) {
    return {
      status: 200,
      headers: fullHeaders(entry, rep, s),
      body: {
        kind: "file",
        path: rep.file,
        start: 0,
        end: entry.size - 1,
        encode: rep.coding === null ? null : STREAM_ENCODERS[rep.coding],
      },
      site,
      location,
    };
  }
  return {
    status: 200,
    headers: fullHeaders(entry, rep, s),
    body: bodyOf(rep, 0, rep.size - 1),
    site,
    location,
  };
}
