/**
 * Address ranges as written in configs (`10.0.0.0/8`, `::1/128`, or a bare
 * address), checked with node's `BlockList`. IPv4-mapped IPv6 peers
 * (`::ffff:127.0.0.1`, what a dual-stack listener reports) match their IPv4 ranges.
 */
import { BlockList, isIP } from "node:net";

/** A range in canonical text (`127.0.0.1/32`), or null when `text` is not one. */
export function parseCidr(text: string): { address: string; prefix: number; family: 4 | 6 } | null {
  const [address = "", bits, extra] = text.trim().split("/");
  if (extra !== undefined) return null;
  const family = isIP(address);
  if (family === 0) return null;
  const max = family === 4 ? 32 : 128;
  if (bits !== undefined && !/^\d{1,3}$/.test(bits)) return null;
  const prefix = bits === undefined ? max : Number(bits);
  if (prefix > max) return null;
  return { address, prefix, family: family as 4 | 6 };
}

/** A set of ranges; `has` answers for a peer address in any spelling node reports. */
export class AddressSet {
  private readonly list = new BlockList();
  readonly empty: boolean;

  constructor(ranges: readonly string[]) {
    this.empty = ranges.length === 0;
    for (const r of ranges) {
      const c = parseCidr(r);
      if (c === null) throw new Error(`${r} is not an address range`);
      this.list.addSubnet(c.address, c.prefix, c.family === 4 ? "ipv4" : "ipv6");
    }
  }

  has(address: string): boolean {
    if (this.empty || address === "") return false;
    const mapped = address.startsWith("::ffff:") && isIP(address.slice(7)) === 4 ? address.slice(7) : address;
    const family = isIP(mapped);
    if (family === 0) return false;
    return this.list.check(mapped, family === 4 ? "ipv4" : "ipv6");
  }
}
