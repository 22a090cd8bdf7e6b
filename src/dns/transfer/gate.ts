/**
 * Zone transfers across workers (`workers` > 1): replays and the
 * `dns.transfersOut` cap are decided once, by the primary process, for all
 * of them, with the same meaning as in one process:
 * - Each worker checks a transfer as before (allowed client, key, its own
 *   memory of MACs), then asks the primary (`admit`). The primary keeps
 *   every worker's MACs, so a request recorded on its way to one worker and
 *   sent to another is still a replay; and it refuses the transfer when the
 *   transfers being sent on all workers together are at the cap.
 * - A transfer whose messages wait for their client (they hold the encoded
 *   zone) is counted (`take`) until the client has read them or gone
 *   (`release`); one sent at once never counts. A worker that dies gives
 *   back all of its own.
 * Two transfers admitted at the same moment on two workers may take the cap
 * one over for as long as they are read: the check and the count are two
 * messages apart.
 *
 * Over the cluster's IPC channel: `{t: "dns-xfr", id, key, mac, expires}`
 * is answered `{t: "dns-xfr-verdict", id, verdict}`; `{t: "dns-xfr-take"}`
 * counts one transfer, `{t: "dns-xfr-done", n}` gives back `n`.
 */
import { ReplayCache } from "./replay.js";
import type { TransferHold, TransferVerdict } from "./serve.js";

/** How long a worker waits for the primary's verdict before refusing the transfer (SERVFAIL). */
const VERDICT_TIMEOUT_MS = 2000;

export interface TransferAsk {
  t: "dns-xfr";
  id: number;
  key: string | null;
  /** The request's MAC, base64; null for an unsigned request. */
  mac: string | null;
  expires: number;
}

export interface TransferTake {
  t: "dns-xfr-take";
}

export interface TransferDone {
  t: "dns-xfr-done";
  n: number;
}

export interface TransferVerdictMessage {
  t: "dns-xfr-verdict";
  id: number;
  verdict: TransferVerdict;
}

/** What the TCP listener asks before it answers a transfer (null in a single process: it decides alone). */
export interface TransferGate {
  admit(hold: TransferHold["hold"]): Promise<TransferVerdict>;
  /** One admitted transfer's messages wait for its client: counted until `release`. */
  take(): void;
  /** `n` counted transfers are over (read by their clients, or their connections closed). */
  release(n: number): void;
}

/** The worker's side, over the cluster's IPC channel; null outside a worker. */
export function workerTransferGate(): TransferGate | null {
  if (process.env.FERRY_WORKER === undefined || typeof process.send !== "function") return null;
  return new IpcTransferGate();
}

/** A send whose failure needs nothing done: the channel closes only as the worker goes. */
function ignore(): void {}

class IpcTransferGate implements TransferGate {
  private next = 1;
  private readonly waiting = new Map<number, (v: TransferVerdict) => void>();

  constructor() {
    process.on("message", (msg: TransferVerdictMessage) => {
      if (msg === null || typeof msg !== "object" || msg.t !== "dns-xfr-verdict") return;
      // A verdict after this worker gave up waiting is dropped: it took nothing.
      const done = this.waiting.get(msg.id);
      this.waiting.delete(msg.id);
      done?.(msg.verdict);
    });
  }

  admit(hold: TransferHold["hold"]): Promise<TransferVerdict> {
    const id = this.next++;
    return new Promise((resolve) => {
      const giveUp = () => {
        if (!this.waiting.delete(id)) return;
        clearTimeout(timer);
        resolve("unanswered");
      };
      const timer = setTimeout(giveUp, VERDICT_TIMEOUT_MS);
      this.waiting.set(id, (v) => {
        clearTimeout(timer);
        resolve(v);
      });
      const ask: TransferAsk = {
        t: "dns-xfr",
        id,
        key: hold.key,
        mac: hold.mac?.toString("base64") ?? null,
        expires: hold.expires,
      };
      process.send!(ask, undefined, {}, (err: Error | null) => {
        if (err !== null) giveUp();
      });
    });
  }

  take(): void {
    process.send?.({ t: "dns-xfr-take" } satisfies TransferTake, undefined, {}, ignore);
  }

  release(n: number): void {
    if (n > 0) process.send?.({ t: "dns-xfr-done", n } satisfies TransferDone, undefined, {}, ignore);
  }
}

/** The primary's side: one memory of MACs and one count of transfers for every worker. */
export class TransferLedger<W> {
  private readonly replays = new ReplayCache();
  private readonly held = new Map<W, number>();
  private total = 0;

  /** `max`: `dns.transfersOut` (a reload may change it). */
  constructor(public max: number) {}

  /** A worker's transfer: a replay, refused at the cap, or free to go (`take` counts it if it waits for its client). */
  admit(ask: Omit<TransferAsk, "t" | "id">, nowSeconds: number): TransferVerdict {
    if (typeof ask.mac === "string" && typeof ask.key === "string") {
      if (this.replays.replayed(ask.key, Buffer.from(ask.mac, "base64"), Number(ask.expires), nowSeconds))
        return "replayed";
    }
    return this.total >= this.max ? "busy" : "ok";
  }

  /** One of `worker`'s transfers waits for its client. */
  take(worker: W): void {
    this.total++;
    this.held.set(worker, (this.held.get(worker) ?? 0) + 1);
  }

  /** `n` of `worker`'s transfers are over (never more than it has). */
  release(worker: W, n: number): void {
    const had = this.held.get(worker) ?? 0;
    const k = Number.isInteger(n) ? Math.min(had, Math.max(0, n)) : 0;
    this.total -= k;
    if (had - k === 0) this.held.delete(worker);
    else this.held.set(worker, had - k);
  }

  /** A worker that died: its transfers are over. */
  forget(worker: W): void {
    this.release(worker, this.held.get(worker) ?? 0);
  }

  /** Transfers counted and not yet released, all workers together. */
  get inProgress(): number {
    return this.total;
  }
}
