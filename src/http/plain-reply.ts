import { STATUS_CODES } from "node:http";
import type { Reply } from "./types.js";

/** A short plain-text answer such as `404 Not Found`, with optional extra headers (flat list). */
export function plainReply(status: number, site = "", location = "", extra: string[] = []): Reply {
  const body = Buffer.from(`${status} ${STATUS_CODES[status] ?? ""}\n`);
  return {
    status,
    headers: ["Content-Type", "text/plain; charset=utf-8", "Content-Length", String(body.length), ...extra],
    body,
    site,
    location,
  };
}
