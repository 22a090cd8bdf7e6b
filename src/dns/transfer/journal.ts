/**
 * The differences between a zone's versions, for IXFR (RFC 1995): when a
 * zone reloads with a higher serial, the records removed and added are
 * computed and kept, the last few per zone, so a secondary that holds an
 * older serial gets only what changed since.
 */
import { RRType } from "../wire/constants.js";
import type { Record } from "../wire/message.js";
import { encodeRData } from "../wire/writer.js";
import type { Zone } from "../zone/zone.js";

/** One step from serial `from` to serial `to`. */
export interface ZoneDiff {
  fromSoa: Record;
  toSoa: Record;
  deleted: Record[];
  added: Record[];
}

/** Differences kept per zone (older ones fall back to AXFR). */
export const JOURNAL_DEPTH = 32;

export function serialOf(soa: Record): number {
  return soa.data.type === "soa" ? soa.data.serial : 0;
}

/** RFC 1982 serial arithmetic: true when `a` is after `b`. */
export function serialAfter(a: number, b: number): boolean {
  const d = (a - b) >>> 0;
  return d !== 0 && d < 0x80000000;
}

/** Every record of a zone, the apex SOA left out (transfers put it first and last). */
export function zoneRecords(zone: Zone): Record[] {
  const out: Record[] = [];
  const apex = zone.nodes.get(zone.apex);
  const push = (rrsets: Map<number, Record[]>, isApex: boolean) => {
    for (const [type, set] of rrsets) if (!(isApex && type === RRType.SOA)) out.push(...set);
  };
  if (apex) push(apex.rrsets, true);
  for (const [key, node] of zone.nodes) if (key !== zone.apex) push(node.rrsets, false);
  return out;
}

function recordKey(r: Record): string {
  return `${r.name.toLowerCase()}|${r.type}|${r.klass}|${r.ttl}|${encodeRData(r).toString("base64")}`;
}

/** What changed from `old` to `next` (a TTL change is a removal and an addition, as on the wire). */
export function diffZones(old: Zone, next: Zone): ZoneDiff {
  const before = new Map<string, Record>();
  for (const r of zoneRecords(old)) before.set(recordKey(r), r);
  const added: Record[] = [];
  for (const r of zoneRecords(next)) {
    const k = recordKey(r);
    if (before.has(k)) before.delete(k);
    else added.push(r);
  }
  return { fromSoa: old.soa, toSoa: next.soa, deleted: [...before.values()], added };
}

/** A zone's recent differences, oldest first, each starting where the one before ended. */
export class Journal {
  private diffs: ZoneDiff[] = [];

  /** Records a step; a step that does not follow the last one starts the journal again. */
  add(diff: ZoneDiff): void {
    const last = this.diffs.at(-1);
    if (last && serialOf(last.toSoa) !== serialOf(diff.fromSoa)) this.diffs = [];
    this.diffs.push(diff);
    if (this.diffs.length > JOURNAL_DEPTH) this.diffs.shift();
  }

  /** The steps from `serial` to the newest, or null when the journal does not reach back to it. */
  since(serial: number): ZoneDiff[] | null {
    const i = this.diffs.findIndex((d) => serialOf(d.fromSoa) === serial);
    return i < 0 ? null : this.diffs.slice(i);
  }

  /** Forgets every step (the zone was replaced by another, or loaded anew). */
  reset(): void {
    this.diffs = [];
  }

  get size(): number {
    return this.diffs.length;
  }
}
