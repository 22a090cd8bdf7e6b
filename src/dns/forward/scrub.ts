/**
 * Scrubs an upstream's answer to the question's bailiwick before it is
 * cached or returned (as Unbound's scrubber does), so a forwarded answer
 * cannot carry records about unrelated names to Ferry's clients:
 * - answer: only the chain from the question's name (its records of the
 *   asked type, CNAMEs followed, a DNAME above a name of the chain);
 * - authority: only SOA, NS and DS records owned by an ancestor (or the
 *   name itself) of a name of the chain;
 * - additional: only addresses of names the kept records point to (NS,
 *   MX, SRV targets);
 * - nothing at or below one of Ferry's own zones, whose data only the zone
 *   itself gives.
 * Names are written without the final dot, "" being the root.
 */
import { RRType } from "../wire/constants.js";
import type { Question, Record } from "../wire/message.js";

/** True when `name` is `zone` or below it (case-insensitive). */
export function isAtOrBelow(name: string, zone: string): boolean {
  if (zone === "") return true;
  const n = name.toLowerCase();
  const z = zone.toLowerCase();
  return n === z || n.endsWith(`.${z}`);
}

export interface Scrubbed {
  answers: Record[];
  authority: Record[];
  additional: Record[];
  /** How many records were dropped. */
  dropped: number;
}

const AUTHORITY_TYPES = new Set<number>([RRType.SOA, RRType.NS, RRType.DS]);
const RRSIG = 46;

/** The name a record points to (CNAME/NS target, MX exchange, SRV target), lower case. */
function target(r: Record): string | null {
  const d = r.data;
  switch (d.type) {
    case "name":
      return r.type === RRType.CNAME || r.type === RRType.NS ? d.name.toLowerCase() : null;
    case "mx":
      return d.exchange.toLowerCase();
    case "srv":
      return d.target.toLowerCase();
    default:
      return null;
  }
}

/** Scrubs the sections of an upstream answer to `q`; `own` tells names inside Ferry's own zones. */
export function scrub(
  q: Question,
  sections: { answers: Record[]; authority: Record[]; additional: Record[] },
  own: (name: string) => boolean,
): Scrubbed {
  const chain = new Set<string>([q.name.toLowerCase()]);
  const answers: Record[] = [];
  const taken = new Set<Record>();
  // Follow the chain to a fixed point: CNAMEs may come in any order.
  for (let grew = true; grew; ) {
    grew = false;
    for (const r of sections.answers) {
      if (taken.has(r)) continue;
      const owner = r.name.toLowerCase();
      if (own(owner)) continue;
      let keep = false;
      if (r.type === RRType.DNAME) {
        for (const n of chain) if (n !== owner && isAtOrBelow(n, owner)) keep = true;
      } else if (chain.has(owner)) {
        keep = r.type === q.type || q.type === RRType.ANY || r.type === RRType.CNAME || r.type === RRSIG;
      }
      if (!keep) continue;
      taken.add(r);
      answers.push(r);
      if (r.type === RRType.CNAME) {
        const t = target(r);
        if (t !== null && !chain.has(t) && !own(t)) {
          chain.add(t);
          grew = true;
        }
      }
    }
  }
  const pointedTo = new Set<string>();
  for (const r of answers) if (r.type === RRType.MX || r.type === RRType.SRV) addTarget(pointedTo, r);
  const authority = sections.authority.filter((r) => {
    if (!AUTHORITY_TYPES.has(r.type) || own(r.name.toLowerCase())) return false;
    for (const n of chain) if (isAtOrBelow(n, r.name)) return true;
    return false;
  });
  for (const r of authority) if (r.type === RRType.NS) addTarget(pointedTo, r);
  const additional = sections.additional.filter(
    (r) =>
      r.type === RRType.OPT ||
      ((r.type === RRType.A || r.type === RRType.AAAA) &&
        pointedTo.has(r.name.toLowerCase()) &&
        !own(r.name.toLowerCase())),
  );
  const dropped =
    sections.answers.length -
    answers.length +
    sections.authority.length -
    authority.length +
    sections.additional.length -
    additional.length;
  return { answers, authority, additional, dropped };
}

function addTarget(set: Set<string>, r: Record): void {
  const t = target(r);
  if (t !== null) set.add(t);
}
