/**
 * `tls: acme` in a cluster's worker (`workers` > 1): the primary places the
 * orders (one per certificate, whatever the number of workers) and every
 * worker serves its challenges, since the CA's check may reach any of them
 * through the shared listeners. This is the worker's side:
 * - a certificate comes from the state folder (where the primary's order
 *   stored it) or from the primary; a missing, expiring or expired one is
 *   asked for, at most every few seconds;
 * - a challenge the primary sends is served here at once and acknowledged,
 *   so the primary tells the CA to check only once every worker serves it.
 *
 * Protocol over the cluster's IPC channel:
 * worker → primary `acme-hello` (sent before the worker listens: from then on
 * it is sent every challenge, those in progress at once), `acme-want` {names}, `acme-ack` {id};
 * primary → worker `acme-challenge` {id, challenge}, `acme-cert` {names, cert, key, notAfter}.
 */
import { type AcmeSource, acmeDir, readStored, renewalTime, serveChallenge } from "./acme.js";
import type { ChallengeEvent } from "./acme-worker.js";
import type { Issued } from "./local-ca.js";

export type AcmeToPrimary =
  | { t: "acme-hello" }
  | { t: "acme-want"; names: string[] }
  | { t: "acme-ack"; id: number };

export type AcmeToWorker =
  | { t: "acme-challenge"; id: number; challenge: ChallengeEvent }
  | ({ t: "acme-cert"; names: string[] } & Issued);

/** A worker asks again for the same names no sooner than this. */
const ASK_EVERY_MS = 5000;

export class AcmeRemote implements AcmeSource {
  private readonly certs = new Map<string, { issued: Issued; renewAt: number }>();
  /** When each certificate was last asked for. */
  private readonly asked = new Map<string, number>();
  private readonly dir: string;
  private readonly onMessage = (msg: AcmeToWorker) => this.handle(msg);

  constructor(
    state: string,
    private readonly send: (msg: AcmeToPrimary) => void = (msg) => process.send?.(msg),
  ) {
    this.dir = acmeDir(state);
    process.on("message", this.onMessage);
    // Before any listener of this worker opens: the CA's check may reach it as soon as it does.
    this.send({ t: "acme-hello" });
  }

  /** A message from the primary (anything not for ACME is left alone). */
  handle(msg: AcmeToWorker): void {
    if (msg === null || typeof msg !== "object") return;
    if (msg.t === "acme-challenge") {
      serveChallenge(msg.challenge);
      this.send({ t: "acme-ack", id: msg.id });
    } else if (msg.t === "acme-cert") {
      this.keep(msg.names.join(","), { cert: msg.cert, key: msg.key, notAfter: msg.notAfter });
    }
  }

  get(names: readonly string[]): Issued | null {
    const key = names.join(",");
    const now = Date.now();
    let have = this.certs.get(key);
    // Missing or due for renewal: the disk (where the primary's order stores it) and then the primary, every few seconds.
    if (
      (have === undefined || now > have.renewAt) &&
      now - (this.asked.get(key) ?? Number.NEGATIVE_INFINITY) >= ASK_EVERY_MS
    ) {
      this.asked.set(key, now);
      if (have === undefined) {
        const stored = readStored(this.dir, names);
        if (stored !== null) have = this.keep(key, stored);
      }
      if (have === undefined || now > have.renewAt) this.send({ t: "acme-want", names: [...names] });
    }
    return have !== undefined && have.issued.notAfter > now ? have.issued : null;
  }

  private keep(key: string, issued: Issued): { issued: Issued; renewAt: number } {
    const had = this.certs.get(key);
    if (had !== undefined && had.issued.cert === issued.cert) return had;
    const entry = { issued, renewAt: renewalTime(issued.cert) };
    this.certs.set(key, entry);
    return entry;
  }

  /** The primary's settings rule: it places the orders (and forgets names no longer in use). */
  configure(): void {}

  stop(): void {
    process.off("message", this.onMessage);
  }
}
