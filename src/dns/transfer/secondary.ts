/**
 * A zone served as a secondary (RFC 1034 §4.3.5): its copy comes from the
 * primary by AXFR, then follows it by IXFR at every SOA refresh, on NOTIFY,
 * and at the retry interval after a failure; the copy is served until the
 * SOA expire passes without a good refresh. Each new copy is written to
 * `file` (a master file) so a restart serves at once; its mtime is when the
 * primary last confirmed it, so expiry survives restarts too.
 */
import {
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from "node:fs";
import path from "node:path";
import { timerMs } from "../../core/clock.js";
import type { ListenAddress } from "../../core/config/types.js";
import type { Record } from "../wire/message.js";
import { recordText } from "../wire/present.js";
import { encodeRData } from "../wire/writer.js";
import { parseMasterFile } from "../zone/master-file.js";
import { Zone } from "../zone/zone.js";
import { serialAfter, serialOf, zoneRecords } from "./journal.js";
import type { TsigKey } from "./tsig.js";
import { fetchZone } from "./xfr-client.js";

/** Retries while there is no copy at all: 1 s, 2 s … up to this. */
const MAX_BOOTSTRAP_RETRY_MS = 60_000;
const TRANSFER_TIMEOUT_MS = 60_000;

/** What a refresh came to, for logs and the inspector. */
export interface SecondaryOutcome {
  zone: string;
  primary: string;
  /** `notified`: a NOTIFY from the primary was taken (by a worker that is not the leader: passed on to it). */
  result: "loaded" | "updated" | "current" | "failed" | "expired" | "notified";
  /** For `updated`: how the copy came. */
  kind: "axfr" | "ixfr" | null;
  serial: number;
  /** For `updated`: the serial held before (null when there was none). */
  from: number | null;
  records: number;
  reason: string | null;
  /** Seconds to the next refresh. */
  next: number;
}

export interface SecondaryOptions {
  origin: string;
  file: string;
  primary: ListenAddress;
  key: TsigKey | null;
  /** A new copy to serve (null: expired, stop serving it). */
  onZone: (zone: Zone | null) => void;
  report: (o: SecondaryOutcome) => void;
}

/** A SOA timer in seconds, as the primary publishes it; 0 is taken as 1 (a 0 would transfer without pause). */
export function soaField(zone: Zone, f: "refresh" | "retry" | "expire"): number {
  return Math.max(1, zone.soa.data.type === "soa" ? zone.soa.data[f] : 3600);
}

/** Applies IXFR steps to a copy; throws when a step does not start at the copy's serial or removes what is not there. */
export function applySteps(
  zone: Zone,
  steps: { fromSoa: Record; toSoa: Record; deleted: Record[]; added: Record[] }[],
  source: string,
): Zone {
  // Removals match by owner, type, class and data (RFC 1995 §4: the TTL of a removed record does not count).
  const key = (r: Record) =>
    `${r.name.toLowerCase()}|${r.type}|${r.klass}|${encodeRData(r).toString("base64")}`;
  const records = new Map<string, Record>();
  for (const r of zoneRecords(zone)) records.set(key(r), r);
  let serial = serialOf(zone.soa);
  let soa = zone.soa;
  for (const s of steps) {
    if (serialOf(s.fromSoa) !== serial)
      throw new Error(`an IXFR step from serial ${serialOf(s.fromSoa)}, the copy is at ${serial}`);
    for (const r of s.deleted)
      if (!records.delete(key(r)))
        throw new Error(`an IXFR step removes ${recordText(r)}, which the copy does not have`);
    for (const r of s.added) records.set(key(r), r);
    serial = serialOf(s.toSoa);
    soa = s.toSoa;
  }
  return new Zone(zone.origin, [soa, ...records.values()], source);
}

export class SecondaryZone {
  private readonly o: SecondaryOptions;
  private current: Zone | null = null;
  /** When the primary last confirmed the copy (ms since the epoch). */
  private confirmedAt = 0;
  private timer: NodeJS.Timeout | null = null;
  private expiry: NodeJS.Timeout | null = null;
  private running = false;
  private again = false;
  private closed = false;
  private bootstrapWait = 1000;
  private readonly where: string;

  constructor(o: SecondaryOptions) {
    this.o = o;
    this.where = o.primary.host.includes(":")
      ? `[${o.primary.host}]:${o.primary.port}`
      : `${o.primary.host}:${o.primary.port}`;
  }

  get zone(): Zone | null {
    return this.current;
  }

  /** True for a NOTIFY source this zone listens to (the primary's address). */
  fromPrimary(client: string): boolean {
    const c = client.startsWith("::ffff:") ? client.slice(7) : client;
    return c === this.o.primary.host;
  }

  get keyName(): string | null {
    return this.o.key?.name ?? null;
  }

  /** Serves the copy on disk at once (when there is one still within its expire), then refreshes. */
  start(): void {
    try {
      const text = readFileSync(this.o.file, "utf8");
      const zone = new Zone(
        this.o.origin,
        parseMasterFile(text, { file: this.o.file, origin: this.o.origin }),
        this.o.file,
      );
      const confirmed = statSync(this.o.file).mtimeMs;
      if (Date.now() - confirmed < soaField(zone, "expire") * 1000) {
        this.current = zone;
        this.confirmedAt = confirmed;
        this.o.onZone(zone);
        this.armExpiry();
        this.report("loaded", null, null, "the copy kept on disk");
      }
    } catch {
      // No copy yet, or one that does not parse: the first transfer makes it.
    }
    this.schedule(0);
  }

  /** The primary said there is a new serial: refresh now (once more after a refresh under way). */
  notified(): void {
    if (this.running) this.again = true;
    else this.schedule(0);
  }

  private schedule(ms: number): void {
    if (this.closed) return;
    if (this.timer !== null) clearTimeout(this.timer);
    this.timer = setTimeout(() => void this.refresh(), timerMs(ms)); // a longer SOA interval is checked again then
    this.timer.unref();
  }

  private armExpiry(): void {
    if (this.expiry !== null) clearTimeout(this.expiry);
    if (this.current === null || this.closed) return;
    const left = this.confirmedAt + soaField(this.current, "expire") * 1000 - Date.now();
    this.expiry = setTimeout(
      () => {
        if (this.current === null) return;
        if (Date.now() - this.confirmedAt < soaField(this.current, "expire") * 1000) return this.armExpiry();
        const serial = serialOf(this.current.soa);
        const expire = soaField(this.current, "expire");
        this.current = null;
        this.o.onZone(null);
        // The copy goes too: a restart, or another worker serving it from disk, must not serve it again.
        try {
          unlinkSync(this.o.file);
        } catch {}
        this.report("expired", null, null, `no good refresh within the SOA expire (${expire} s)`, serial);
      },
      timerMs(Math.max(0, left)),
    );
    this.expiry.unref();
  }

  private async refresh(): Promise<void> {
    if (this.closed) return;
    this.running = true;
    this.again = false;
    const held = this.current;
    try {
      let r = await fetchZone({
        origin: this.o.origin,
        primary: this.o.primary,
        key: this.o.key,
        current: held,
        timeoutMs: TRANSFER_TIMEOUT_MS,
      });
      // A single SOA newer than the copy: the primary will not send differences; take the whole zone.
      if (r.kind === "current" && held !== null && serialAfter(r.serial, serialOf(held.soa)))
        r = await fetchZone({
          origin: this.o.origin,
          primary: this.o.primary,
          key: this.o.key,
          current: null,
          timeoutMs: TRANSFER_TIMEOUT_MS,
        });
      if (this.closed) return;
      if (r.kind === "current") {
        this.confirm(held!, false);
        this.report("current", null, serialOf(held!.soa), null);
      } else {
        let next: Zone;
        if (r.kind === "axfr") next = new Zone(this.o.origin, r.records, this.o.file);
        else {
          try {
            next = applySteps(held!, r.steps, this.o.file);
          } catch (err) {
            // A journal that does not fit the copy: take the whole zone instead.
            if (this.closed) return;
            const whole = await fetchZone({
              origin: this.o.origin,
              primary: this.o.primary,
              key: this.o.key,
              current: null,
              timeoutMs: TRANSFER_TIMEOUT_MS,
            });
            if (whole.kind !== "axfr") throw err;
            next = new Zone(this.o.origin, whole.records, this.o.file);
          }
        }
        if (this.closed) return;
        // A copy not newer than the one held changes nothing (a primary restored from an older state, say).
        if (held !== null && !serialAfter(serialOf(next.soa), serialOf(held.soa))) {
          this.confirm(held, false);
          this.report("current", null, serialOf(held.soa), null);
        } else {
          this.confirm(next, true);
          this.report("updated", r.kind, held ? serialOf(held.soa) : null, null);
        }
      }
      this.bootstrapWait = 1000;
      this.schedule(soaField(this.current!, "refresh") * 1000);
    } catch (err) {
      if (this.closed) return;
      const wait = this.current ? soaField(this.current, "retry") * 1000 : this.bootstrapWait;
      if (!this.current) this.bootstrapWait = Math.min(this.bootstrapWait * 2, MAX_BOOTSTRAP_RETRY_MS);
      this.report("failed", null, null, (err as Error).message, undefined, wait / 1000);
      this.schedule(wait);
    } finally {
      this.running = false;
      if (this.again && !this.closed) this.schedule(0);
    }
  }

  /** The primary confirmed `zone` (a new copy, or the one held): serve it, keep it on disk, restart the expire clock. */
  private confirm(zone: Zone, changed: boolean): void {
    this.confirmedAt = Date.now();
    if (changed) {
      this.current = zone;
      this.save(zone);
      this.o.onZone(zone);
    } else {
      try {
        const now = new Date();
        utimesSync(this.o.file, now, now);
      } catch {}
    }
    this.armExpiry();
  }

  private save(zone: Zone): void {
    try {
      mkdirSync(path.dirname(this.o.file), { recursive: true, mode: 0o700 });
      const lines = [
        `; Ferry's copy of ${zone.origin || "."} from its primary ${this.where}, serial ${serialOf(zone.soa)}.`,
        "; Rewritten on every new serial; its modification time is when the primary last confirmed it.",
        recordText(zone.soa),
        ...zoneRecords(zone).map(recordText),
      ];
      const tmp = `${this.o.file}.${process.pid}.tmp`;
      writeFileSync(tmp, `${lines.join("\n")}\n`, { mode: 0o600 });
      renameSync(tmp, this.o.file);
    } catch (err) {
      this.report("failed", null, null, `cannot keep the copy at ${this.o.file}: ${(err as Error).message}`);
    }
  }

  private report(
    result: SecondaryOutcome["result"],
    kind: SecondaryOutcome["kind"],
    from: number | null,
    reason: string | null,
    serial = this.current ? serialOf(this.current.soa) : 0,
    next?: number,
  ): void {
    const zone = this.current;
    this.o.report({
      zone: this.o.origin,
      primary: this.where,
      result,
      kind,
      serial,
      from,
      records: zone ? zone.size : 0,
      reason,
      next: next ?? (zone ? soaField(zone, result === "failed" ? "retry" : "refresh") : 0),
    });
  }

  close(): void {
    this.closed = true;
    if (this.timer !== null) clearTimeout(this.timer);
    if (this.expiry !== null) clearTimeout(this.expiry);
  }
}
