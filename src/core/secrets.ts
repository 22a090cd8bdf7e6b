/**
 * Secrets never leave Ferry in clear: wherever it shows or prints data (the
 * inspector, logs, `/metrics`, `ferry check`), credentials are masked.
 * Headers keep their name and, for Authorization, the scheme; cookies keep
 * their names. Config keys that hold secrets print as MASK.
 */

export const MASK = "••••••";

/** Request and response headers whose values are credentials. */
const SECRET_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "cookie",
  "set-cookie",
  "x-api-key",
  "x-auth-token",
  "x-csrf-token",
]);

/** Config keys whose values are secrets, wherever they appear. */
const SECRET_KEYS = new Set(["publishKey", "token", "secret", "key", "password"]);

/** True for a config key whose value is a secret. */
export function isSecretKey(key: string | number | undefined): boolean {
  return typeof key === "string" && SECRET_KEYS.has(key);
}

/** True for a header whose value is a credential (name in any case). */
export function isSecretHeader(name: string): boolean {
  return SECRET_HEADERS.has(name.toLowerCase());
}

/** A header value fit to show: the scheme of an Authorization, the names of cookies, nothing else. */
export function maskHeader(name: string, value: string): string {
  const lower = name.toLowerCase();
  if (!SECRET_HEADERS.has(lower)) return value;
  if (lower === "authorization" || lower === "proxy-authorization") {
    const space = value.indexOf(" ");
    return space > 0 ? `${value.slice(0, space)} ${MASK}` : MASK;
  }
  if (lower === "cookie")
    return value
      .split(";")
      .map((c) => {
        const eq = c.indexOf("=");
        return eq > 0 ? `${c.slice(0, eq).trim()}=${MASK}` : MASK;
      })
      .join("; ");
  if (lower === "set-cookie") {
    const eq = value.indexOf("=");
    const semi = value.indexOf(";");
    return eq > 0 ? `${value.slice(0, eq)}=${MASK}${semi > eq ? value.slice(semi) : ""}` : MASK;
  }
  return MASK;
}

/** Masks a flat `[name, value, …]` header list (returns a new list). */
export function maskHeaderList(flat: readonly string[]): string[] {
  const out = flat.slice();
  for (let i = 0; i + 1 < out.length; i += 2) out[i + 1] = maskHeader(out[i]!, out[i + 1]!);
  return out;
}

/**
 * A URL with the password of its user info masked: `redis://user:PASSWORD@host`
 * → `redis://user:••••••@host`. Everything up to the last `@` counts as user
 * info, so a password with an unescaped `/` or `@` (a URL the schema refused)
 * is masked too; user info without a `:` is masked whole.
 */
export function maskUrl(url: string): string {
  const scheme = url.indexOf("://");
  const at = url.lastIndexOf("@");
  if (scheme < 0 || at < scheme) return url;
  const info = url.slice(scheme + 3, at);
  const colon = info.indexOf(":");
  const shown = colon >= 0 ? `${info.slice(0, colon)}:${MASK}` : MASK;
  return `${url.slice(0, scheme + 3)}${shown}@${url.slice(at + 1)}`;
}

/** A config value as Ferry may show it: secrets masked, a broker URL without its password. */
export function shownValue(key: string | number | undefined, value: string): string {
  if (isSecretKey(key)) return MASK;
  // A broker URL may carry a password (redis://:PASSWORD@host or redis://user:PASSWORD@host).
  if (key === "broker") return maskUrl(value);
  return value;
}

/** A deep copy of a config (or any JSON-like value) with every secret key's value masked. */
export function maskConfig<T>(value: T): T {
  return JSON.parse(JSON.stringify(value, (k, v) => (typeof v === "string" ? shownValue(k, v) : v))) as T;
}
