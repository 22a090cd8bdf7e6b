/**
 * `tls: acme` with `workers` > 1, the primary's side (the worker's is
 * tls/acme-remote.ts): the primary runs the one ACME manager, so each
 * certificate is ordered once. A challenge is sent to every worker that has
 * said hello (each does before its listeners open) and the CA is told to
 * check only once each has acknowledged it (any of them may get the CA's
 * request); a worker that says hello meanwhile is sent the challenges in
 * progress at once. A certificate issued is sent to every worker (and stored
 * in the state folder, where a worker that starts later finds it).
 */
import type { Worker } from "node:cluster";
import { AcmeManager, type AcmeSettings } from "../tls/acme.js";
import type { AcmeToPrimary, AcmeToWorker } from "../tls/acme-remote.js";
import type { ChallengeEvent } from "../tls/acme-worker.js";

/** How long every worker has to acknowledge a challenge before the order fails (and is retried later). */
const ACK_TIMEOUT_MS = 10_000;

interface Waiting {
  pending: Set<Worker>;
  done: () => void;
}

function challengeKey(c: ChallengeEvent): string {
  return c.type === "http-01" ? `http-01 ${c.token}` : `tls-alpn-01 ${c.name.toLowerCase()}`;
}

export class AcmeLeader {
  private readonly manager: AcmeManager;
  /** Challenges being served now, sent to workers that start while an order runs. */
  private readonly live = new Map<string, ChallengeEvent>();
  private readonly waiting = new Map<number, Waiting>();
  private nextId = 1;
  /** Workers that said hello and have not exited: the ones that serve challenges. */
  private readonly serving = new Set<Worker>();

  /** `all` lists every worker process, starting ones too. */
  constructor(
    settings: AcmeSettings,
    state: string,
    private readonly all: () => Iterable<Worker>,
  ) {
    this.manager = new AcmeManager(settings, state, {
      serve: (c) => this.serve(c),
      issued: (names, issued) => {
        for (const w of this.all()) send(w, { t: "acme-cert", names: [...names], ...issued });
      },
    });
  }

  configure(settings: AcmeSettings | null, inUse: readonly (readonly string[])[]): void {
    this.manager.configure(settings, inUse);
  }

  /** Handles a worker's ACME message; false when `msg` is not one. */
  handle(w: Worker, msg: AcmeToPrimary): boolean {
    if (msg.t === "acme-hello") {
      this.serving.add(w);
      for (const challenge of this.live.values()) send(w, { t: "acme-challenge", id: 0, challenge });
      return true;
    }
    if (msg.t === "acme-want") {
      const have = this.manager.get(msg.names);
      if (have !== null) send(w, { t: "acme-cert", names: msg.names, ...have });
      return true;
    }
    if (msg.t === "acme-ack") {
      const wait = this.waiting.get(msg.id);
      if (wait !== undefined) {
        wait.pending.delete(w);
        if (wait.pending.size === 0) wait.done();
      }
      return true;
    }
    return false;
  }

  /** A worker is gone: nothing waits for it any more. */
  forget(w: Worker): void {
    this.serving.delete(w);
    for (const wait of this.waiting.values()) {
      if (wait.pending.delete(w) && wait.pending.size === 0) wait.done();
    }
  }

  stop(): void {
    this.manager.stop();
  }

  /** Sends a challenge to every worker; resolves once each serves it. */
  private serve(challenge: ChallengeEvent): Promise<void> {
    const key = challengeKey(challenge);
    if (challenge.op === "set") this.live.set(key, challenge);
    else this.live.delete(key);
    const id = this.nextId++;
    const pending = new Set(this.serving);
    if (pending.size === 0)
      return challenge.op === "set"
        ? Promise.reject(new Error("no worker is running to serve the challenge"))
        : Promise.resolve();
    return new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.waiting.delete(id);
        reject(
          new Error(`${pending.size} worker(s) did not confirm serving the ${challenge.type} challenge`),
        );
      }, ACK_TIMEOUT_MS);
      this.waiting.set(id, {
        pending,
        done: () => {
          clearTimeout(timer);
          this.waiting.delete(id);
          resolve();
        },
      });
      for (const w of pending) send(w, { t: "acme-challenge", id, challenge });
    });
  }
}

function send(w: Worker, msg: AcmeToWorker): void {
  if (w.isConnected()) w.send(msg);
}
