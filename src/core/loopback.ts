/** Loopback addresses in every spelling: 127.0.0.0/8, ::1 (also written out), IPv4-mapped 127/8, `localhost`. */
import net from "node:net";

const loopback = new net.BlockList();
loopback.addSubnet("127.0.0.0", 8, "ipv4");
loopback.addAddress("::1", "ipv6");

/** True for a loopback host: an address (IPv6 with or without brackets) or the name `localhost`. */
export function isLoopback(host: string): boolean {
  const h = host.startsWith("[") && host.endsWith("]") ? host.slice(1, -1) : host;
  if (h.toLowerCase() === "localhost") return true;
  const family = net.isIP(h);
  // BlockList matches IPv4-mapped IPv6 (::ffff:127.0.0.1) against the IPv4 rule.
  return family !== 0 && loopback.check(h, family === 6 ? "ipv6" : "ipv4");
}
