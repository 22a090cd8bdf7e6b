/**
 * The answer chain of a DNS server, built once per zone set and forwarder
 * (CoreDNS's plugin chain): each step either answers the question, filling
 * in the response, or passes it on. Today: the zones' authority, then the
 * forwarder, then REFUSED. A later step (a secondary zone, a cache of its
 * own) is one more entry, not another branch in `handleQuery`.
 */
import { answerFromZone } from "../authority.js";
import type { Forwarder } from "../forward/forwarder.js";
import { Flag, Rcode, RRClass, RRType } from "../wire/constants.js";
import type { Message, Question } from "../wire/message.js";
import type { ZoneSet } from "../zone/zone-set.js";

/** Where an answer came from, for the log, the inspector and the packet cache. */
export type AnswerSource = "zone" | "cache" | "upstream";

/**
 * One step: answers `q` into `res` (rcode, flags, sections; `res.additional`
 * holds the response's OPT record, which must stay last) and says where the
 * answer came from, or returns null to pass the question to the next step.
 */
export type ChainStep = (q: Question, res: Message) => AnswerSource | null | Promise<AnswerSource>;

/** The steps in order; the last one always answers. */
export type QueryChain = readonly ChainStep[];

function isTransfer(q: Question): boolean {
  return q.type === RRType.AXFR || q.type === 251; /* IXFR */
}

/** Names inside one of the zones: the authoritative answer (zone transfers are refused here). */
export function authorityStep(zones: ZoneSet): ChainStep {
  return (q, res) => {
    if (q.klass !== RRClass.IN && q.klass !== RRClass.ANY) return null;
    const zone = zones.find(q.name.toLowerCase());
    if (zone === null) return null;
    if (isTransfer(q)) {
      res.rcode = Rcode.REFUSED;
      return "zone";
    }
    const a = answerFromZone(zone, q.name, q.type);
    res.rcode = a.rcode;
    if (a.aa) res.flags |= Flag.AA;
    res.answers = a.answer;
    res.authority = a.authority;
    res.additional = [...a.additional, ...res.additional];
    return "zone";
  };
}

/** Names outside the zones, class IN: the upstream's answer (RA set), or SERVFAIL when none answered. */
export function forwardStep(forwarder: Forwarder): ChainStep {
  return (q, res) => {
    if (q.klass !== RRClass.IN || isTransfer(q)) return null;
    res.flags |= Flag.RA;
    const opt = res.additional;
    return forwarder.resolve(q).then(
      (f): AnswerSource => {
        res.rcode = f.rcode;
        res.answers = f.answers;
        res.authority = f.authority;
        res.additional = [...f.additional, ...opt];
        return f.cache === "hit" ? "cache" : "upstream";
      },
      (): AnswerSource => {
        res.rcode = Rcode.SERVFAIL;
        return "upstream";
      },
    );
  };
}

/** The end of every chain: not ours to answer. */
export const refuseStep: ChainStep = (_q, res) => {
  res.rcode = Rcode.REFUSED;
  return "zone";
};

/** The chain for a set of zones and an optional forwarder. */
export function buildChain(zones: ZoneSet, forwarder: Forwarder | null): QueryChain {
  const steps: ChainStep[] = [authorityStep(zones)];
  if (forwarder !== null) steps.push(forwardStep(forwarder));
  steps.push(refuseStep);
  return steps;
}
