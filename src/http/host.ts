/**
 * Parses a Host header or URL authority into a lower-case name without port
 * or trailing dot. Returns null when it is not a valid host.
 */
export function parseHost(value: string): string | null {
  let host = value;
  if (host.charCodeAt(0) === 91 /* [ */) {
    const close = host.indexOf("]");
    if (close < 0) return null;
    const rest = host.slice(close + 1);
    if (rest !== "" && !/^:\d{1,5}$/.test(rest)) return null;
    return host.slice(0, close + 1).toLowerCase();
  }
  const colon = host.indexOf(":");
  if (colon >= 0) {
    if (!/^\d{1,5}$/.test(host.slice(colon + 1))) return null;
    host = host.slice(0, colon);
  }
  if (!/^[A-Za-z0-9_.-]*$/.test(host)) return null;
  if (host.endsWith(".")) host = host.slice(0, -1);
  return host.toLowerCase();
}

const hostCache = new Map<string, string | null>();

/** Host headers and authorities repeat: each distinct one is parsed once (at most 1000 kept). */
export function parseHostCached(value: string): string | null {
  let h = hostCache.get(value);
  if (h === undefined) {
    h = parseHost(value);
    if (hostCache.size >= 1000) hostCache.clear();
    hostCache.set(value, h);
  }
  return h;
}
