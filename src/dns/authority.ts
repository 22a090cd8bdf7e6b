/**
 * Authoritative answers from a zone (RFC 1034 §4.3.2, RFC 2308, RFC 4592,
 * RFC 6672, RFC 8482): referrals at delegations, DS from the parent side,
 * DNAME substitution, CNAME chains inside the zone, wildcards, NXDOMAIN vs
 * NODATA, and addresses of MX/NS/SRV targets in the additional section.
 */
import { RRType } from "./wire/constants.js";
import type { Record } from "./wire/message.js";
import { ancestorsBelow, inZone, type Zone } from "./zone/zone.js";

/** What the zone says to one question. */
export interface Answer {
  rcode: number;
  aa: boolean;
  answer: Record[];
  authority: Record[];
  additional: Record[];
}

/** How many CNAME/DNAME steps are followed before giving up. */
export const MAX_CHAIN = 8;

function withOwner(set: Record[], owner: string): Record[] {
  return set.map((r) => (r.name === owner ? r : { ...r, name: owner }));
}

function addAddresses(zone: Zone, target: string, out: Record[], seen: Set<string>): void {
  const key = target.toLowerCase();
  if (seen.has(key) || !inZone(key, zone.apex)) return;
  seen.add(key);
  const node = zone.nodes.get(key);
  if (!node) return;
  for (const t of [RRType.A, RRType.AAAA]) {
    const set = node.rrsets.get(t);
    if (set) out.push(...set);
  }
}

function additionalFor(zone: Zone, records: Record[], out: Record[], seen: Set<string>): void {
  for (const r of records) {
    const d = r.data;
    if (r.type === RRType.NS && d.type === "name") addAddresses(zone, d.name, out, seen);
    else if (d.type === "mx") addAddresses(zone, d.exchange, out, seen);
    else if (d.type === "srv") addAddresses(zone, d.target, out, seen);
  }
}

/** The delegation or DNAME above (or, for NS, at) `key`, nearest the apex first. */
function findCut(zone: Zone, key: string, qtype: number): { kind: "ns" | "dname"; key: string } | null {
  const above = ancestorsBelow(key, zone.apex).reverse();
  for (const a of above) {
    const node = zone.nodes.get(a);
    if (!node) continue;
    if (node.rrsets.has(RRType.NS)) return { kind: "ns", key: a };
    if (node.rrsets.has(RRType.DNAME)) return { kind: "dname", key: a };
  }
  // The name itself: a delegation point answers with a referral, except for DS (parent side).
  if (key !== zone.apex && qtype !== RRType.DS && zone.nodes.get(key)?.rrsets.has(RRType.NS))
    return { kind: "ns", key };
  return null;
}

/** The wildcard that covers a name that does not exist (RFC 4592 §3.3.1), if any. */
function wildcardFor(zone: Zone, key: string): Map<number, Record[]> | null {
  let encloser = zone.apex;
  for (const a of ancestorsBelow(key, zone.apex)) {
    if (zone.exists(a)) {
      encloser = a;
      break;
    }
  }
  const wild = zone.nodes.get(encloser ? `*.${encloser}` : "*");
  return wild ? wild.rrsets : null;
}

/** Answers `qname`/`qtype` (qname as asked) from `zone`. */
export function answerFromZone(zone: Zone, qname: string, qtype: number): Answer {
  const res: Answer = { rcode: 0, aa: true, answer: [], authority: [], additional: [] };
  const seen = new Set<string>();
  const visited = new Set<string>();
  let name = qname;
  for (let hop = 0; hop <= MAX_CHAIN; hop++) {
    const key = name.toLowerCase();
    if (!inZone(key, zone.apex) || visited.has(key)) break;
    visited.add(key);
    const cut = findCut(zone, key, qtype);
    if (cut?.kind === "ns") {
      const node = zone.nodes.get(cut.key)!;
      const ns = node.rrsets.get(RRType.NS)!;
      if (res.answer.length === 0) res.aa = false;
      res.authority.push(...ns);
      additionalFor(zone, ns, res.additional, seen);
      return res;
    }
    if (cut?.kind === "dname") {
      const dname = zone.nodes.get(cut.key)!.rrsets.get(RRType.DNAME)![0]!;
      if (dname.data.type !== "name") break;
      const target = `${name.slice(0, name.length - cut.key.length)}${dname.data.name}`;
      res.answer.push(dname, {
        name,
        type: RRType.CNAME,
        klass: 1,
        ttl: dname.ttl,
        data: { type: "name", name: target },
      });
      // The synthesized CNAME is itself the answer to a CNAME question.
      if (qtype === RRType.CNAME) return res;
      name = target;
      continue;
    }
    let rrsets = zone.nodes.get(key)?.rrsets;
    if (rrsets === undefined) {
      if (zone.ents.has(key)) {
        res.authority.push(zone.negativeSoa());
        return res;
      }
      const wild = wildcardFor(zone, key);
      if (wild === null) {
        res.rcode = 3;
        res.authority.push(zone.negativeSoa());
        return res;
      }
      rrsets = wild;
    }
    if (qtype === RRType.ANY) {
      // RFC 8482: one RRset is enough (the lowest type present).
      const types = [...rrsets.keys()].sort((a, b) => a - b);
      const first = withOwner(rrsets.get(types[0]!)!, name);
      res.answer.push(...first);
      additionalFor(zone, first, res.additional, seen);
      return res;
    }
    const want = rrsets.get(qtype);
    if (want) {
      const owned = withOwner(want, name);
      res.answer.push(...owned);
      additionalFor(zone, owned, res.additional, seen);
      return res;
    }
    const cname = rrsets.get(RRType.CNAME);
    if (cname && qtype !== RRType.CNAME && cname[0]!.data.type === "name") {
      res.answer.push(...withOwner(cname, name));
      name = cname[0]!.data.name;
      continue;
    }
    res.authority.push(zone.negativeSoa());
    return res;
  }
  return res;
}
