/**
 * The local CA as `ferry serve` uses it: in a worker thread. Its X.509
 * library (@peculiar/x509, with reflect-metadata and the ASN.1 schemas it
 * pulls in) slows every request of the thread that loads it by 12–18%
 * (measured: 1 KiB static file, 58k → 48–51k req/s, with nothing else
 * changed), so the serving thread never loads it. Issuing costs one message
 * each way; an idle worker is unref'd and never keeps Ferry alive.
 */
import { X509Certificate } from "node:crypto";
import { Worker } from "node:worker_threads";
import { FerryError } from "../core/errors.js";
import type { Issued } from "./local-ca.js";

/** What the certificate store needs from a CA. */
export interface CertificateAuthority {
  /** Path of the root certificate (PEM). */
  readonly certPath: string;
  readonly certPem: string;
  /** A leaf certificate for `names` (DNS names, `*.` wildcards, IP addresses). */
  issue(names: readonly string[]): Promise<Issued>;
}

type Reply = { id: number; issued: Issued } | { id: number; error: string };

export class CAThread implements CertificateAuthority {
  private next = 1;
  private readonly waiting = new Map<number, { resolve: (i: Issued) => void; reject: (e: Error) => void }>();

  private constructor(
    private readonly worker: Worker,
    readonly certPath: string,
    readonly certPem: string,
  ) {
    worker.on("message", (m: Reply) => {
      const w = this.waiting.get(m.id);
      if (w === undefined) return;
      this.waiting.delete(m.id);
      if (this.waiting.size === 0) this.worker.unref();
      if ("issued" in m) w.resolve(m.issued);
      else w.reject(new FerryError("ERR_TLS_LOCAL_CA", `the local CA could not issue: ${m.error}`));
    });
    worker.on("error", (err) => this.failAll(err));
    worker.on("exit", () => this.failAll(new Error("the local CA's thread stopped")));
    // Idle, the thread never keeps Ferry alive; while a certificate is being issued it does.
    worker.unref();
  }

  /** The root's SHA-256 fingerprint, `AB:CD:…` as openssl prints it. */
  get fingerprint(): string {
    return new X509Certificate(this.certPem).fingerprint256;
  }

  /** Starts the thread and opens the CA in `state` (creating the root the first time). */
  static open(state: string): Promise<CAThread> {
    const worker = new Worker(new URL("./local-ca-worker.js", import.meta.url), {
      workerData: { state },
      // Not the flags Ferry was started with (--input-type, --eval… make no sense for a module file).
      execArgv: [],
    });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) =>
        reject(
          new FerryError("ERR_TLS_LOCAL_CA", `cannot start the local CA: ${err.message}`, { cause: err }),
        );
      worker.once("error", onError);
      worker.once("message", (m: { ready?: true; certPath: string; certPem: string; failed?: string }) => {
        worker.removeListener("error", onError);
        if (m.failed !== undefined) {
          void worker.terminate();
          reject(new FerryError("ERR_TLS_LOCAL_CA", m.failed));
        } else resolve(new CAThread(worker, m.certPath, m.certPem));
      });
    });
  }

  issue(names: readonly string[]): Promise<Issued> {
    const id = this.next++;
    return new Promise((resolve, reject) => {
      if (this.waiting.size === 0) this.worker.ref();
      this.waiting.set(id, { resolve, reject });
      this.worker.postMessage({ id, names: [...names] });
    });
  }

  private failAll(err: Error): void {
    for (const w of this.waiting.values())
      w.reject(new FerryError("ERR_TLS_LOCAL_CA", `the local CA could not issue: ${err.message}`));
    this.waiting.clear();
  }
}
