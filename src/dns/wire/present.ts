/** Presentation (zone-file) text of records, as dig and zone files show them. */
import { typeName } from "./constants.js";
import type { Record } from "./message.js";

function fqdn(name: string): string {
  return name === "" ? "." : `${name}.`;
}

function quote(b: Buffer): string {
  let s = '"';
  for (const c of b) {
    if (c === 0x22 || c === 0x5c) s += `\\${String.fromCharCode(c)}`;
    else if (c < 0x20 || c > 0x7e) s += `\\${String(c).padStart(3, "0")}`;
    else s += String.fromCharCode(c);
  }
  return `${s}"`;
}

/** RDATA as text: `192.0.2.1`, `10 mail.example.test.`, `"text"`, or `\# 3 010203` for unknown types. */
export function rdataText(r: Record): string {
  const d = r.data;
  switch (d.type) {
    case "a":
    case "aaaa":
      return d.address;
    case "name":
      return fqdn(d.name);
    case "soa":
      return `${fqdn(d.mname)} ${fqdn(d.rname)} ${d.serial} ${d.refresh} ${d.retry} ${d.expire} ${d.minimum}`;
    case "mx":
      return `${d.preference} ${fqdn(d.exchange)}`;
    case "txt":
      return d.strings.map(quote).join(" ");
    case "srv":
      return `${d.priority} ${d.weight} ${d.port} ${fqdn(d.target)}`;
    case "caa":
      return `${d.flags} ${d.tag} ${quote(d.value)}`;
    case "ds":
      return `${d.keyTag} ${d.algorithm} ${d.digestType} ${d.digest.toString("hex").toUpperCase()}`;
    case "opt":
      return d.options.map((o) => `${o.code}:${o.data.toString("hex")}`).join(" ");
    case "raw":
      return `\\# ${d.data.length}${d.data.length ? ` ${d.data.toString("hex")}` : ""}`;
  }
}

/** One record line: `www.example.test. 300 IN A 192.0.2.1`. */
export function recordText(r: Record): string {
  return `${fqdn(r.name)}\t${r.ttl}\tIN\t${typeName(r.type)}\t${rdataText(r)}`;
}
