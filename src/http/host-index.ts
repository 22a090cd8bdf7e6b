/**
 * Host name → the thing that serves it: exact names first, then the longest
 * `*.` wildcard, then the default. Used for sites (the site table) and for
 * their certificates (SNI), so both always agree on who owns a name.
 */
export class HostIndex<T> {
  private readonly exact = new Map<string, T>();
  /** `.example.test` suffixes, longest first. */
  private readonly wildcards: [string, T][] = [];

  constructor(
    items: readonly T[],
    hosts: (item: T) => readonly string[],
    readonly fallback: T,
  ) {
    for (const item of items) {
      for (const h of hosts(item)) {
        if (h.startsWith("*.")) this.wildcards.push([h.slice(1), item]);
        else if (!this.exact.has(h)) this.exact.set(h, item);
      }
    }
    this.wildcards.sort((a, b) => b[0].length - a[0].length);
  }

  /** The item whose names include `host` (lower case), or null. */
  owner(host: string): T | null {
    const exact = this.exact.get(host);
    if (exact !== undefined) return exact;
    for (let i = 0; i < this.wildcards.length; i++) {
      const [suffix, item] = this.wildcards[i]!;
      if (host.length > suffix.length && host.endsWith(suffix)) return item;
    }
    return null;
  }

  /** The owner of `host`, or the default. */
  find(host: string): T {
    return this.owner(host) ?? this.fallback;
  }
}
