/**
 * Certificates from an ACME CA (RFC 8555) for sites with `tls: acme`, with
 * acme-client: an account (its key kept in the state folder, 0600), an
 * order per site, HTTP-01 challenges answered by Ferry's own plain HTTP
 * listeners or TLS-ALPN-01 ones by its TLS listeners (`acme-challenges.ts`,
 * `alpn-challenge.ts`), the chain stored in the state folder,
 * renewal at two thirds of its life, and a backoff on errors. Orders run in
 * a worker thread (acme-worker.ts), so acme-client and its X.509 library
 * never load in the serving thread. It never blocks serving: until a certificate arrives the site answers with one from
 * the local CA.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { tlsCertChannel } from "../core/diagnostics.js";
import { Thread } from "../core/thread.js";
import { acmeChallenges, tlsAlpnChallenges } from "./acme-challenges.js";
import type { ChallengeEvent, OrderRequest } from "./acme-worker.js";
import type { Issued } from "./local-ca.js";

export interface AcmeSettings {
  directory: string;
  email: string | null;
  caRoots: string | null;
  /** Which challenge to answer: HTTP-01 on the plain listeners or TLS-ALPN-01 (RFC 8737) on the TLS ones. */
  challenge: "http-01" | "tls-alpn-01";
}

/** First retry after a failed order; doubled each time up to an hour. */
const FIRST_BACKOFF_MS = 10_000;
const MAX_BACKOFF_MS = 3600_000;

function event(kind: "issued" | "error", site: string, message: string): void {
  if (tlsCertChannel.hasSubscribers)
    tlsCertChannel.publish({
      time: Date.now(),
      kind,
      site,
      file: "",
      message,
      code: kind === "error" ? "ERR_TLS_ACME" : "",
    });
}

/** Serves (or stops serving) a challenge the ACME thread asks for. */
function serveChallenge(data: unknown): void {
  const c = data as ChallengeEvent;
  if (c.type === "http-01") {
    if (c.op === "set") acmeChallenges.set(c.token, c.keyAuthorization);
    else acmeChallenges.delete(c.token);
  } else if (c.op === "set")
    tlsAlpnChallenges.set(c.name.toLowerCase(), tls.createSecureContext({ key: c.key, cert: c.cert }));
  else tlsAlpnChallenges.delete(c.name.toLowerCase());
}

export class AcmeManager {
  /** Certificates by the names they cover (joined). */
  private readonly certs = new Map<string, Issued>();
  private readonly working = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly backoff = new Map<string, number>();
  private readonly dir: string;
  /** The thread that places orders, started with the first one. */
  private thread: Thread | null = null;

  constructor(
    private settings: AcmeSettings,
    state: string,
  ) {
    this.dir = path.join(state, "acme");
  }

  /** New settings on reload (orders in flight finish with the old ones). */
  configure(settings: AcmeSettings): void {
    this.settings = settings;
  }

  /** The certificate for `names` when there is one; starts (or schedules) its order otherwise. */
  get(names: readonly string[]): Issued | null {
    const key = names.join(",");
    let have = this.certs.get(key) ?? this.fromDisk(names);
    if (have !== null && have.notAfter <= Date.now()) have = null;
    if (have === null || this.dueForRenewal(have)) this.order(names);
    return have;
  }

  private fromDisk(names: readonly string[]): Issued | null {
    const base = path.join(this.dir, names[0]!.replace(/^\*\./, "_wildcard."));
    if (!existsSync(`${base}.crt`) || !existsSync(`${base}.key`)) return null;
    try {
      const cert = readFileSync(`${base}.crt`, "utf8");
      const issued = {
        cert,
        key: readFileSync(`${base}.key`, "utf8"),
        notAfter: Date.parse(new X509Certificate(cert).validTo),
      };
      this.certs.set(names.join(","), issued);
      return issued;
    } catch {
      return null;
    }
  }

  private dueForRenewal(c: Issued): boolean {
    const leaf = new X509Certificate(c.cert);
    const from = Date.parse(leaf.validFrom);
    return Date.now() > from + ((c.notAfter - from) * 2) / 3;
  }

  private order(names: readonly string[]): void {
    const key = names.join(",");
    if (this.working.has(key) || this.timers.has(key)) return;
    this.working.add(key);
    this.issue(names).then(
      (issued) => {
        this.working.delete(key);
        this.backoff.delete(key);
        this.certs.set(key, issued);
        event(
          "issued",
          names[0]!,
          `certificate from ${this.settings.directory} for ${names.join(", ")} (${this.settings.challenge})`,
        );
        // Renewal is scheduled from the certificate itself, at two thirds of its life.
        const leaf = new X509Certificate(issued.cert);
        const from = Date.parse(leaf.validFrom);
        this.later(key, names, Math.max(1000, from + ((issued.notAfter - from) * 2) / 3 - Date.now()));
      },
      (err: Error) => {
        this.working.delete(key);
        const wait = Math.min(MAX_BACKOFF_MS, (this.backoff.get(key) ?? FIRST_BACKOFF_MS / 2) * 2);
        this.backoff.set(key, wait);
        event(
          "error",
          names[0]!,
          `ACME order for ${names.join(", ")} failed: ${err.message} (again in ${Math.round(wait / 1000)} s)`,
        );
        this.later(key, names, wait);
      },
    );
  }

  private later(key: string, names: readonly string[], ms: number): void {
    const t = setTimeout(() => {
      this.timers.delete(key);
      this.order(names);
    }, ms);
    t.unref();
    this.timers.set(key, t);
  }

  /** One order, placed by the ACME thread (acme-worker.ts); its challenges are served from here. */
  private async issue(names: readonly string[]): Promise<Issued> {
    this.thread ??= Thread.start(new URL("./acme-worker.js", import.meta.url), null, serveChallenge);
    const request: OrderRequest = { settings: this.settings, dir: this.dir, names: [...names] };
    const { cert, key } = await this.thread.call<{ cert: string; key: string }>(request);
    return { cert, key, notAfter: Date.parse(new X509Certificate(cert).validTo) };
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.thread?.terminate();
    this.thread = null;
  }
}
