/**
 * The local CA as `ferry serve` uses it: in a worker thread. Its X.509
 * library (@peculiar/x509, with reflect-metadata and the ASN.1 schemas it
 * pulls in) slows every request of the thread that loads it by 12–18%
 * (measured: 1 KiB static file, 58k → 48–51k req/s, with nothing else
 * changed), so the serving thread never loads it. Issuing costs one message
 * each way (core/thread.ts).
 */
import { X509Certificate } from "node:crypto";
import { FerryError } from "../core/errors.js";
import { Thread } from "../core/thread.js";
import type { Issued } from "./local-ca.js";

/** What the certificate store needs from a CA. */
export interface CertificateAuthority {
  /** Path of the root certificate (PEM). */
  readonly certPath: string;
  readonly certPem: string;
  /** A leaf certificate for `names` (DNS names, `*.` wildcards, IP addresses). */
  issue(names: readonly string[]): Promise<Issued>;
}

export class CAThread implements CertificateAuthority {
  private constructor(
    private readonly thread: Thread,
    readonly certPath: string,
    readonly certPem: string,
  ) {}

  /** The root's SHA-256 fingerprint, `AB:CD:…` as openssl prints it. */
  get fingerprint(): string {
    return new X509Certificate(this.certPem).fingerprint256;
  }

  /** Starts the thread and opens the CA in `state` (creating the root the first time). */
  static async open(state: string): Promise<CAThread> {
    const thread = Thread.start(new URL("./local-ca-worker.js", import.meta.url), { state });
    try {
      const root = await thread.call<{ certPath: string; certPem: string }>({ kind: "open" });
      return new CAThread(thread, root.certPath, root.certPem);
    } catch (err) {
      thread.terminate();
      throw new FerryError("ERR_TLS_LOCAL_CA", (err as Error).message, { cause: err });
    }
  }

  issue(names: readonly string[]): Promise<Issued> {
    return this.thread.call<Issued>({ kind: "issue", names: [...names] }).catch((err: Error) => {
      throw new FerryError("ERR_TLS_LOCAL_CA", `the local CA could not issue: ${err.message}`);
    });
  }
}
