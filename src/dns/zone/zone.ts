/**
 * A loaded zone: its records grouped by owner and type, the empty
 * non-terminals between them and the apex, and the checks every zone must pass.
 */
import { FerryError } from "../../core/errors.js";
import { RRType } from "../wire/constants.js";
import type { Record } from "../wire/message.js";

/** All RRsets of one owner name. */
export interface ZoneNode {
  /** Owner as written in the zone. */
  name: string;
  rrsets: Map<number, Record[]>;
}

/** Lower-case names of the ancestors of `key` strictly below `apex` (nearest first). */
export function ancestorsBelow(key: string, apex: string): string[] {
  const out: string[] = [];
  let k = key;
  while (k !== apex) {
    const dot = k.indexOf(".");
    if (dot < 0) break;
    k = k.slice(dot + 1);
    if (k === apex) break;
    out.push(k);
  }
  return out;
}

/** True when `key` is `apex` or below it (both lower case). */
export function inZone(key: string, apex: string): boolean {
  return apex === "" || key === apex || key.endsWith(`.${apex}`);
}

/** A zone ready to answer from. */
export class Zone {
  readonly origin: string;
  /** Lower-case origin. */
  readonly apex: string;
  readonly soa: Record;
  readonly nodes = new Map<string, ZoneNode>();
  /** Names that exist only because something exists below them. */
  readonly ents = new Set<string>();
  readonly source: string;
  readonly size: number;

  constructor(origin: string, records: Record[], source: string) {
    this.origin = origin.replace(/\.$/, "");
    this.apex = this.origin.toLowerCase();
    this.source = source;
    this.size = records.length;
    const fail = (msg: string): never => {
      throw new FerryError("ERR_DNS_ZONE_INVALID", `${source}: ${msg}`);
    };
    for (const r of records) {
      const key = r.name.toLowerCase();
      if (!inZone(key, this.apex)) fail(`${r.name} is outside the zone ${this.origin || "."}`);
      let node = this.nodes.get(key);
      if (!node) {
        node = { name: r.name, rrsets: new Map() };
        this.nodes.set(key, node);
      }
      const set = node.rrsets.get(r.type);
      if (set) {
        // An RRset has one TTL (RFC 2181 §5.2): the first one stated wins.
        set.push({ ...r, ttl: set[0]!.ttl });
      } else node.rrsets.set(r.type, [r]);
    }
    const apexNode = this.nodes.get(this.apex);
    const soas = apexNode?.rrsets.get(RRType.SOA);
    if (soas?.length !== 1) fail(`the zone needs exactly one SOA at its apex ${this.origin || "."}`);
    this.soa = soas![0]!;
    for (const [key, node] of this.nodes) {
      if (node.rrsets.has(RRType.SOA) && key !== this.apex)
        fail(`SOA at ${node.name}, which is not the apex`);
      if (node.rrsets.has(RRType.CNAME) && node.rrsets.size > 1)
        fail(`${node.name} has a CNAME and other data`);
      if (node.rrsets.has(RRType.CNAME) && node.rrsets.get(RRType.CNAME)!.length > 1)
        fail(`${node.name} has more than one CNAME`);
      for (const a of ancestorsBelow(key, this.apex)) if (!this.nodes.has(a)) this.ents.add(a);
    }
    for (const e of this.ents) if (this.nodes.has(e)) this.ents.delete(e);
  }

  /** Whether a name exists (has data, or is an empty non-terminal). */
  exists(key: string): boolean {
    return this.nodes.has(key) || this.ents.has(key);
  }

  /** The SOA as it goes into a negative answer: TTL = min(SOA TTL, MINIMUM) (RFC 2308 §3). */
  negativeSoa(): Record {
    const min = this.soa.data.type === "soa" ? this.soa.data.minimum : this.soa.ttl;
    return { ...this.soa, ttl: Math.min(this.soa.ttl, min) };
  }
}
