/**
 * The secondary's side of a transfer: asks a primary over TCP for IXFR
 * (with the serial it holds) or AXFR (when it holds none), reads the framed
 * answer messages, checks each (ID, rcode, TSIG: every signed message
 * verified, the chain of MACs followed across unsigned ones), and tells what
 * came: the zone is current, a whole zone, or the steps since its serial.
 */
import { randomInt } from "node:crypto";
import net from "node:net";
import type { ListenAddress } from "../../core/config/types.js";
import { FerryError } from "../../core/errors.js";
import { Flag, RRClass, RRType } from "../wire/constants.js";
import type { Record } from "../wire/message.js";
import { decodeMessage } from "../wire/reader.js";
import { encodeMessage } from "../wire/writer.js";
import type { Zone } from "../zone/zone.js";
import { serialOf, type ZoneDiff } from "./journal.js";
import { IXFR } from "./serve.js";
import { findTsig, signMessage, TsigError, type TsigKey, verifyTsig } from "./tsig.js";

/** A transfer bigger than this is refused (the zone is held in memory twice while it is applied). */
export const MAX_TRANSFER_BYTES = 256 * 1024 * 1024;

export interface FetchOptions {
  origin: string;
  primary: ListenAddress;
  key: TsigKey | null;
  /** The copy held now (IXFR from its serial), or null (AXFR). */
  current: Zone | null;
  /** The whole transfer must end within this. */
  timeoutMs: number;
}

export type FetchResult =
  | { kind: "current"; serial: number }
  | { kind: "axfr"; records: Record[]; bytes: number; messages: number }
  | { kind: "ixfr"; steps: ZoneDiff[]; bytes: number; messages: number };

const fail = (why: string): never => {
  throw new FerryError("ERR_DNS_SECONDARY", why);
};

function request(o: FetchOptions, id: number): Buffer {
  const soa = o.current?.soa;
  return encodeMessage({
    id,
    flags: 0,
    opcode: 0,
    rcode: 0,
    questions: [{ name: o.origin, type: soa ? IXFR : RRType.AXFR, klass: RRClass.IN }],
    answers: [],
    authority: soa ? [soa] : [],
    additional: [],
  });
}

/** Sends the request and collects the framed answers until `done` says the last record came. */
function exchange(o: FetchOptions, wire: Buffer, onMessage: (m: Buffer) => boolean): Promise<number> {
  return new Promise((resolve, reject) => {
    const socket = net.connect({ host: o.primary.host, port: o.primary.port });
    const chunks: Buffer[] = [];
    let have = 0;
    let total = 0;
    let messages = 0;
    const timer = setTimeout(
      () => finish(new Error(`no whole answer within ${o.timeoutMs} ms`)),
      o.timeoutMs,
    );
    const finish = (err: Error | null) => {
      clearTimeout(timer);
      socket.destroy();
      if (err) reject(err);
      else resolve(total);
    };
    socket.on("connect", () => {
      const len = Buffer.alloc(2);
      len.writeUInt16BE(wire.length, 0);
      socket.write(Buffer.concat([len, wire]));
    });
    socket.on("data", (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      total += chunk.length;
      if (total > MAX_TRANSFER_BYTES)
        return finish(new Error(`the transfer passed ${MAX_TRANSFER_BYTES} bytes`));
      let buf = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
      chunks.length = 0;
      while (have >= 2 && have >= 2 + buf.readUInt16BE(0)) {
        const len = buf.readUInt16BE(0);
        const msg = buf.subarray(2, 2 + len);
        buf = buf.subarray(2 + len);
        have -= 2 + len;
        messages++;
        try {
          if (onMessage(msg)) return finish(null);
        } catch (err) {
          return finish(err as Error);
        }
      }
      if (have > 0) chunks.push(buf);
    });
    socket.on("error", (err) => finish(err));
    socket.on("close", () =>
      finish(new Error(`the primary closed the connection after ${messages} messages`)),
    );
  });
}

/** Reads the records of an AXFR or IXFR answer as they come; `push` returns true after the last one. */
class AnswerReader {
  private serial = -1;
  private count = 0;
  /** null until the second record decides AXFR or IXFR. */
  private incremental: boolean | null = null;
  readonly records: Record[] = [];
  readonly steps: ZoneDiff[] = [];
  private step: ZoneDiff | null = null;
  private adding = false;

  push(r: Record): boolean {
    this.count++;
    if (this.count === 1) {
      if (r.type !== RRType.SOA) fail("the answer does not start with the zone's SOA");
      this.serial = serialOf(r);
      this.records.push(r);
      return false;
    }
    if (this.incremental === null) {
      // IXFR's second record is the old SOA of the first step; anything else (AXFR-style) is the whole zone.
      this.incremental = r.type === RRType.SOA && serialOf(r) !== this.serial;
      if (!this.incremental) return this.whole(r);
      this.step = { fromSoa: r, toSoa: r, deleted: [], added: [] };
      this.adding = false;
      return false;
    }
    if (!this.incremental) return this.whole(r);
    const step = this.step!;
    if (r.type === RRType.SOA) {
      if (!this.adding) {
        step.toSoa = r;
        this.adding = true;
        return false;
      }
      this.steps.push(step);
      if (serialOf(r) === this.serial && serialOf(step.toSoa) === this.serial) return true;
      this.step = { fromSoa: r, toSoa: r, deleted: [], added: [] };
      this.adding = false;
      return false;
    }
    (this.adding ? step.added : step.deleted).push(r);
    return false;
  }

  private whole(r: Record): boolean {
    if (r.type === RRType.SOA) {
      if (serialOf(r) !== this.serial) fail("a second SOA with another serial in a whole-zone answer");
      return true;
    }
    this.records.push(r);
    return false;
  }

  /** The answer was one SOA in one message: the primary says the copy is current. */
  get single(): boolean {
    return this.count === 1;
  }

  get isIncremental(): boolean {
    return this.incremental === true;
  }

  get soaSerial(): number {
    return this.serial;
  }
}

/** Asks the primary for what changed (or the whole zone) and reads the answer. */
export async function fetchZone(o: FetchOptions): Promise<FetchResult> {
  const id = randomInt(0, 0x10000);
  let wire = request(o, id);
  let prior: Buffer | null = null;
  if (o.key !== null) {
    const s = signMessage(wire, o.key, { now: Math.floor(Date.now() / 1000) });
    wire = s.wire;
    prior = s.mac;
  }
  const keys = o.key ? new Map([[o.key.name, o.key]]) : new Map<string, TsigKey>();
  const reader = new AnswerReader();
  let messages = 0;
  let unsignedSince: Buffer[] = [];
  let lastSignedDone = true;
  const bytes = await exchange(o, wire, (msg) => {
    messages++;
    if (msg.length < 12 || msg.readUInt16BE(0) !== id || (msg.readUInt16BE(2) & Flag.QR) === 0)
      fail("an answer that does not match the request");
    const rcode = msg.readUInt16BE(2) & 0xf;
    if (rcode !== 0)
      fail(
        `the primary answered rcode ${rcode}${rcode === 5 ? " (REFUSED)" : rcode === 9 ? " (NOTAUTH)" : ""}`,
      );
    if (o.key !== null) {
      const tsig = findTsig(msg);
      if (tsig === null) {
        // §5.3.1: up to 99 messages may go unsigned between signed ones; the first and last must be signed.
        if (messages === 1) fail("the primary's first answer is not signed");
        if (unsignedSince.length >= 99) fail("more than 99 unsigned messages in a row");
        const copy = Buffer.from(msg);
        unsignedSince.push(copy);
        lastSignedDone = false;
      } else {
        const v = verifyTsig(
          msg,
          tsig,
          keys,
          Math.floor(Date.now() / 1000),
          prior,
          messages > 1,
          unsignedSince,
        );
        if (v.error !== TsigError.NOERROR)
          fail(`the primary's answer fails its TSIG check (error ${v.error})`);
        prior = tsig.mac;
        unsignedSince = [];
        lastSignedDone = true;
      }
    }
    const m = decodeMessage(msg);
    let done = false;
    for (const r of m.answers) {
      if (done) fail("records after the final SOA");
      done = reader.push(r);
    }
    // One message holding one SOA: current (or, for AXFR, an empty answer), nothing else follows.
    if (!done && messages === 1 && reader.single && m.answers.length === 1 && o.current !== null) done = true;
    if (done && o.key !== null && !lastSignedDone) fail("the primary's last answer is not signed");
    return done;
  });
  if (reader.single) {
    if (o.current === null) fail("an AXFR answer with the SOA alone");
    return { kind: "current", serial: reader.soaSerial };
  }
  if (reader.isIncremental) return { kind: "ixfr", steps: reader.steps, bytes, messages };
  return { kind: "axfr", records: reader.records, bytes, messages };
}
