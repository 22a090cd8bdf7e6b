/**
 * The answers of a zone transfer, as DNS messages for one TCP connection:
 * AXFR (RFC 5936: the SOA, every record, the SOA again) and IXFR (RFC 1995:
 * the current SOA, then per step the old SOA, what was removed, the new SOA
 * and what was added, then the current SOA; the current SOA alone when the
 * client is up to date; a whole-zone answer when the journal does not reach
 * back to the client's serial). Records are cut into messages of at most
 * MESSAGE_BYTES; the question goes in the first message only.
 */
import { Flag } from "../wire/constants.js";
import type { Message, Question, Record } from "../wire/message.js";
import { encodeRData } from "../wire/writer.js";
import type { Zone } from "../zone/zone.js";
import { type Journal, serialAfter, serialOf, zoneRecords } from "./journal.js";

/** Records per message up to about this many bytes (uncompressed estimate; the wire is smaller). */
export const MESSAGE_BYTES = 16 * 1024;

/** The records of an AXFR answer, in order. */
export function axfrRecords(zone: Zone): Record[] {
  return [zone.soa, ...zoneRecords(zone), zone.soa];
}

/**
 * The records of an IXFR answer for a client at `clientSerial`, and whether
 * it is incremental (false: the whole zone, AXFR-style).
 */
export function ixfrRecords(
  zone: Zone,
  journal: Journal | undefined,
  clientSerial: number,
): { records: Record[]; incremental: boolean } {
  const current = serialOf(zone.soa);
  // Up to date (or ahead, which a secondary of an older primary copy can be): the current SOA alone.
  if (clientSerial === current || serialAfter(clientSerial, current))
    return { records: [zone.soa], incremental: true };
  const steps = journal?.since(clientSerial) ?? null;
  if (steps === null || serialOf(steps.at(-1)!.toSoa) !== current)
    return { records: axfrRecords(zone), incremental: false };
  const records: Record[] = [zone.soa];
  for (const s of steps) records.push(s.fromSoa, ...s.deleted, s.toSoa, ...s.added);
  records.push(zone.soa);
  return { records, incremental: true };
}

function estimate(r: Record): number {
  return r.name.length + 2 + 10 + encodeRData(r).length;
}

/** The answer messages (not encoded) carrying `records`, for a query with `id` and `question`. */
export function transferMessages(id: number, question: Question, records: Record[]): Message[] {
  const out: Message[] = [];
  let current: Record[] = [];
  let bytes = 0;
  const flush = () => {
    out.push({
      id,
      flags: Flag.QR | Flag.AA,
      opcode: 0,
      rcode: 0,
      questions: out.length === 0 ? [question] : [],
      answers: current,
      authority: [],
      additional: [],
    });
    current = [];
    bytes = 0;
  };
  for (const r of records) {
    const size = estimate(r);
    if (current.length > 0 && bytes + size > MESSAGE_BYTES) flush();
    current.push(r);
    bytes += size;
  }
  if (current.length > 0 || out.length === 0) flush();
  return out;
}
