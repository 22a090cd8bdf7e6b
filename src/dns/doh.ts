/**
 * DNS over HTTPS (RFC 8484) on a site's `/dns-query`: GET with `?dns=`
 * (base64url, no padding) and POST with `application/dns-message`. The
 * answer's Cache-Control max-age is its smallest TTL.
 */

import { HttpBodyTooLargeError } from "../http/errors.js";
import type { Mounts } from "../http/mount.js";
import { plainReply } from "../http/plain-reply.js";
import type { FerryRequest, Reply } from "../http/types.js";
import { RRType } from "./wire/constants.js";
import { decodeMessage } from "./wire/reader.js";

/** The path DoH answers on. */
export const DOH_PATH = "/dns-query";
const TYPE = "application/dns-message";

/** Answers one DNS message for HTTP (TCP size rules); null when the message must be dropped. */
export type DnsAnswer = (query: Buffer) => Buffer | null | Promise<Buffer | null>;

function base64urlDecode(text: string): Buffer | null {
  if (!/^[A-Za-z0-9_-]+$/.test(text)) return null;
  return Buffer.from(text, "base64url");
}

function maxAge(answer: Buffer): number {
  try {
    const m = decodeMessage(answer);
    const ttls = [...m.answers, ...m.authority].filter((r) => r.type !== RRType.OPT).map((r) => r.ttl);
    return ttls.length ? Math.min(...ttls) : 0;
  } catch {
    return 0;
  }
}

/** The reply to a request on `/dns-query`. */
export async function dohReply(req: FerryRequest, answer: DnsAnswer, site: string): Promise<Reply> {
  let query: Buffer | null = null;
  if (req.method === "GET" || req.method === "HEAD") {
    const param = new URLSearchParams(req.query).get("dns");
    query = param === null ? null : base64urlDecode(param);
  } else if (req.method === "POST") {
    const type = req.headers["content-type"];
    if (typeof type !== "string" || type.split(";")[0]!.trim().toLowerCase() !== TYPE)
      return plainReply(415, site, DOH_PATH);
    try {
      query = await req.body(65535);
    } catch (err) {
      return plainReply(err instanceof HttpBodyTooLargeError ? 413 : 400, site, DOH_PATH);
    }
  } else {
    return plainReply(405, site, DOH_PATH, ["Allow", "GET, HEAD, POST"]);
  }
  if (query === null || query.length < 12) return plainReply(400, site, DOH_PATH);
  const out = await answer(query);
  if (out === null) return plainReply(400, site, DOH_PATH);
  return {
    status: 200,
    headers: [
      "Content-Type",
      TYPE,
      "Content-Length",
      String(out.length),
      "Cache-Control",
      `max-age=${maxAge(out)}`,
    ],
    body: out,
    site,
    location: DOH_PATH,
  };
}

/** DNS over HTTPS on `/dns-query` of every site with `dnsOverHttps`, answered by `answer`. */
export function dohMounts(answer: DnsAnswer): Mounts {
  return (site, name) =>
    site.dnsOverHttps
      ? new Map([[DOH_PATH, { kind: "doh", handle: (req: FerryRequest) => dohReply(req, answer, name) }]])
      : new Map();
}
