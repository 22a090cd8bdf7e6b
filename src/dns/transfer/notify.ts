/**
 * NOTIFY (RFC 1996): tells a zone's secondaries that it has a new serial, so
 * they ask for it at once instead of at their next SOA refresh. Sent over UDP
 * to each secondary when the zone loads and on every new serial, signed with
 * the zone's TSIG key when it has one, and retried (1 s, 2 s, 4 s …) until
 * the secondary acknowledges or MAX_ATTEMPTS have gone unanswered. A newer
 * serial replaces an unacknowledged older one.
 */
import { randomInt } from "node:crypto";
import dgram from "node:dgram";
import { isIPv6 } from "node:net";
import type { ListenAddress } from "../../core/config/types.js";
import { Flag, Opcode, RRClass, RRType } from "../wire/constants.js";
import { encodeMessage } from "../wire/writer.js";
import type { Zone } from "../zone/zone.js";
import { serialOf } from "./journal.js";
import { findTsig, signMessage, TsigError, type TsigKey, verifyTsig } from "./tsig.js";

export const MAX_ATTEMPTS = 6;
const FIRST_WAIT_MS = 1000;

/** What one NOTIFY came to, for logs and the inspector. */
export interface NotifyOutcome {
  zone: string;
  serial: number;
  target: string;
  /** `acked`: the secondary answered; `failed`: no answer after MAX_ATTEMPTS, or an error answer. */
  result: "acked" | "failed";
  attempts: number;
  /** The answer's rcode (acked or refused), or null when none came. */
  rcode: number | null;
  reason: string | null;
}

interface Pending {
  socket: dgram.Socket;
  timer: NodeJS.Timeout | null;
}

export class Notifier {
  private readonly pending = new Map<string, Pending>();
  private readonly report: (o: NotifyOutcome) => void;

  constructor(report: (o: NotifyOutcome) => void) {
    this.report = report;
  }

  /** Sends NOTIFY for `zone`'s current serial to every target (replacing any still unacknowledged). */
  notify(zone: Zone, targets: readonly ListenAddress[], key: TsigKey | null): void {
    for (const t of targets) this.send(zone, t, key);
  }

  private send(zone: Zone, target: ListenAddress, key: TsigKey | null): void {
    const name = `${zone.apex}|${target.host}|${target.port}`;
    this.cancel(name);
    const where = isIPv6(target.host) ? `[${target.host}]:${target.port}` : `${target.host}:${target.port}`;
    const serial = serialOf(zone.soa);
    const socket = dgram.createSocket(isIPv6(target.host) ? "udp6" : "udp4");
    // Connected: only the target's answers reach this socket.
    let connected = false;
    socket.connect(target.port, target.host, () => {
      connected = true;
      attempt();
    });
    const p: Pending = { socket, timer: null };
    this.pending.set(name, p);
    let attempts = 0;
    let id = 0;
    let mac: Buffer | null = null;
    const done = (o: Omit<NotifyOutcome, "zone" | "serial" | "target" | "attempts">) => {
      this.cancel(name);
      this.report({ zone: zone.origin, serial, target: where, attempts, ...o });
    };
    const attempt = () => {
      if (attempts >= MAX_ATTEMPTS) {
        done({ result: "failed", rcode: null, reason: `no answer to ${attempts} NOTIFY messages` });
        return;
      }
      attempts++;
      id = randomInt(0, 0x10000);
      let wire = encodeMessage({
        id,
        flags: Flag.AA,
        opcode: Opcode.NOTIFY,
        rcode: 0,
        questions: [{ name: zone.origin, type: RRType.SOA, klass: RRClass.IN }],
        answers: [zone.soa],
        authority: [],
        additional: [],
      });
      if (key !== null) {
        const s = signMessage(wire, key, { now: Math.floor(Date.now() / 1000) });
        wire = s.wire;
        mac = s.mac;
      }
      if (connected) socket.send(wire);
      p.timer = setTimeout(attempt, FIRST_WAIT_MS * 2 ** (attempts - 1));
    };
    socket.on("message", (msg) => {
      if (msg.length < 12 || msg.readUInt16BE(0) !== id) return;
      const word = msg.readUInt16BE(2);
      if ((word & Flag.QR) === 0 || ((word >> 11) & 0xf) !== Opcode.NOTIFY) return;
      const rcode = word & 0xf;
      if (key !== null) {
        // The acknowledgement of a signed NOTIFY must be signed with the same key (RFC 8945 §5.3).
        let ok = false;
        try {
          const tsig = findTsig(msg);
          const keys = new Map([[key.name, key]]);
          ok =
            tsig !== null &&
            verifyTsig(msg, tsig, keys, Math.floor(Date.now() / 1000), mac).error === TsigError.NOERROR;
        } catch {
          ok = false;
        }
        // An answer that does not verify is not the secondary's (or not for us): keep waiting and retrying.
        if (!ok) return;
      }
      if (rcode === 0) done({ result: "acked", rcode, reason: null });
      else done({ result: "failed", rcode, reason: `answered with rcode ${rcode}` });
    });
    socket.on("error", () => {}); // ICMP port unreachable and the like: the next attempt tries again
  }

  private cancel(name: string): void {
    const p = this.pending.get(name);
    if (p === undefined) return;
    this.pending.delete(name);
    if (p.timer !== null) clearTimeout(p.timer);
    p.socket.close();
  }

  close(): void {
    for (const name of [...this.pending.keys()]) this.cancel(name);
  }
}
