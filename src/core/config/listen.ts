/** `HOST:PORT` text, as listen addresses and upstreams are written. */
import type { ListenAddress } from "./types.js";

/** Parses `HOST:PORT` (`[::1]:8080` for IPv6). */
export function parseListen(text: string): ListenAddress | null {
  const m = /^(?:\[([0-9a-fA-F:.]+)\]|([^:\s[\]]+)):(\d{1,5})$/.exec(text);
  if (!m) return null;
  const port = Number(m[3]);
  if (port > 65535) return null;
  return { host: m[1] ?? m[2]!, port };
}
