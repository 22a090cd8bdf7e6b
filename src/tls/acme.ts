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
import { createPrivateKey, X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import path from "node:path";
import tls from "node:tls";
import { timerMs } from "../core/clock.js";
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

/** Serves (or stops serving) a challenge in this process's listeners. */
export function serveChallenge(c: ChallengeEvent): void {
  if (c.type === "http-01") {
    if (c.op === "set") acmeChallenges.set(c.token, c.keyAuthorization);
    else acmeChallenges.delete(c.token);
  } else if (c.op === "set")
    tlsAlpnChallenges.set(c.name.toLowerCase(), tls.createSecureContext({ key: c.key, cert: c.cert }));
  else tlsAlpnChallenges.delete(c.name.toLowerCase());
}

/** Where the certificate store gets ACME certificates: the manager itself, or (a cluster's worker) its primary's. */
export interface AcmeSource {
  /** The certificate for `names` when there is one (valid now); asks for its order or renewal otherwise. */
  get(names: readonly string[]): Issued | null;
  /**
   * New settings on reload (null: ACME is no longer configured), and the name
   * lists `tls: acme` sites have now (others are no longer renewed).
   */
  configure(settings: AcmeSettings | null, inUse: readonly (readonly string[])[]): void;
  stop(): void;
}

/** When a certificate is due for renewal: at two thirds of its life. */
export function renewalTime(cert: string): number {
  const leaf = new X509Certificate(cert);
  const from = Date.parse(leaf.validFrom);
  return from + ((Date.parse(leaf.validTo) - from) * 2) / 3;
}

/** The file names (without extension) a certificate for `names` is kept under in `dir`. */
function storedBase(dir: string, names: readonly string[]): string {
  return path.join(dir, names[0]!.replace(/^\*\./, "_wildcard."));
}

/**
 * The certificate kept in `dir` (the state's acme folder) for `names`, when
 * there is a usable one: readable, its key matching, and covering every name
 * (a site whose names changed gets a new order, not the old certificate).
 */
export function readStored(dir: string, names: readonly string[]): Issued | null {
  const base = storedBase(dir, names);
  if (!existsSync(`${base}.crt`) || !existsSync(`${base}.key`)) return null;
  try {
    const cert = readFileSync(`${base}.crt`, "utf8");
    const key = readFileSync(`${base}.key`, "utf8");
    const leaf = new X509Certificate(cert);
    if (!leaf.checkPrivateKey(createPrivateKey(key))) return null;
    const covered = new Set(
      (leaf.subjectAltName ?? "")
        .split(/,\s*/)
        .filter((n) => n.startsWith("DNS:"))
        .map((n) => n.slice(4).toLowerCase()),
    );
    if (!names.every((n) => covered.has(n.toLowerCase()))) return null;
    return { cert, key, notAfter: Date.parse(leaf.validTo) };
  } catch {
    return null;
  }
}

/** Writes a certificate and its key for `names` into `dir`, each file replaced whole (a reader never sees half of one). */
export function writeStored(dir: string, names: readonly string[], cert: string, key: string): void {
  const base = storedBase(dir, names);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  for (const [file, text, mode] of [
    [`${base}.key`, key, 0o600],
    [`${base}.crt`, cert, 0o644],
  ] as const) {
    const temp = `${file}.${process.pid}.tmp`;
    writeFileSync(temp, text, { mode });
    renameSync(temp, file);
  }
}

/** The stored certificate is looked for on disk no more often than this while there is none. */
export const DISK_CHECK_MS = 5000;

/** How a manager hands its work on (a cluster's primary passes both to its workers). */
export interface AcmeHooks {
  /** Serves a challenge the order needs (resolved once every listener serves it); default: this process's. */
  serve?: (challenge: ChallengeEvent) => void | Promise<void>;
  /** Told of each certificate issued. */
  issued?: (names: readonly string[], issued: Issued) => void;
}

/** Where ACME accounts and certificates are kept under the state folder. */
export function acmeDir(state: string): string {
  return path.join(state, "acme");
}

export class AcmeManager implements AcmeSource {
  /** Certificates by the names they cover (joined). */
  private readonly certs = new Map<string, Issued>();
  /** When each certificate is due for renewal (epoch ms), by the same key. */
  private readonly renewAt = new Map<string, number>();
  private readonly working = new Set<string>();
  /** One timer per name list: its renewal, or its retry after a failure. */
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly backoff = new Map<string, number>();
  /** No new order before this (epoch ms): a failed one waits for its backoff. */
  private readonly notBefore = new Map<string, number>();
  /** When the disk was last looked at for a name list without a certificate. */
  private readonly diskChecked = new Map<string, number>();
  private readonly dir: string;
  /** The thread that places orders, started with the first one (again if it died). */
  private thread: Thread | null = null;
  private stopped = false;

  constructor(
    private settings: AcmeSettings,
    state: string,
    private readonly hooks: AcmeHooks = {},
  ) {
    this.dir = acmeDir(state);
  }

  /** New settings on reload (orders in flight finish with the old ones); name lists no site has any more are forgotten. */
  configure(settings: AcmeSettings | null, inUse: readonly (readonly string[])[]): void {
    if (settings !== null) this.settings = settings;
    const keep = new Set(inUse.map((names) => names.join(",")));
    for (const [key, t] of this.timers)
      if (!keep.has(key)) {
        clearTimeout(t);
        this.timers.delete(key);
      }
    for (const map of [this.certs, this.renewAt, this.backoff, this.notBefore, this.diskChecked])
      for (const key of map.keys()) if (!keep.has(key)) map.delete(key);
  }

  /** The certificate for `names` when there is one (valid now); starts its order (or renewal) when due. */
  get(names: readonly string[]): Issued | null {
    const key = names.join(",");
    const now = Date.now();
    let have = this.certs.get(key) ?? this.fromDisk(key, names, now);
    if (have !== null && have.notAfter <= now) have = null;
    if (have === null || now > (this.renewAt.get(key) ?? 0)) this.order(names);
    return have;
  }

  private fromDisk(key: string, names: readonly string[], now: number): Issued | null {
    if (now - (this.diskChecked.get(key) ?? Number.NEGATIVE_INFINITY) < DISK_CHECK_MS) return null;
    this.diskChecked.set(key, now);
    const issued = readStored(this.dir, names);
    if (issued !== null) this.keep(key, issued);
    return issued;
  }

  private keep(key: string, issued: Issued): void {
    this.certs.set(key, issued);
    this.renewAt.set(key, renewalTime(issued.cert));
  }

  /** Orders `names` now, unless an order runs or a failed one's backoff has not passed. */
  private order(names: readonly string[]): void {
    const key = names.join(",");
    if (this.stopped || this.working.has(key) || Date.now() < (this.notBefore.get(key) ?? 0)) return;
    // A renewal timer still waiting (a clock that jumped, a machine that slept) gives way to the order.
    clearTimeout(this.timers.get(key));
    this.timers.delete(key);
    this.working.add(key);
    this.issue(names).then(
      (issued) => {
        this.working.delete(key);
        this.backoff.delete(key);
        this.notBefore.delete(key);
        this.keep(key, issued);
        this.hooks.issued?.(names, issued);
        event(
          "issued",
          names[0]!,
          `certificate from ${this.settings.directory} for ${names.join(", ")} (${this.settings.challenge})`,
        );
        // Renewal is scheduled from the certificate itself, at two thirds of its life.
        this.later(key, names, Math.max(1000, this.renewAt.get(key)! - Date.now()));
      },
      (err: Error) => {
        this.working.delete(key);
        if (this.stopped) return;
        const wait = Math.min(MAX_BACKOFF_MS, (this.backoff.get(key) ?? FIRST_BACKOFF_MS / 2) * 2);
        this.backoff.set(key, wait);
        this.notBefore.set(key, Date.now() + wait);
        event(
          "error",
          names[0]!,
          `ACME order for ${names.join(", ")} failed: ${err.message} (again in ${Math.round(wait / 1000)} s)`,
        );
        this.later(key, names, wait);
      },
    );
  }

  /** Orders `names` again in `ms` (a renewal months away is reached in steps of node's longest timer, 24.8 days). */
  private later(key: string, names: readonly string[], ms: number): void {
    if (this.stopped) return;
    const at = Date.now() + ms;
    const step = () => {
      const t = setTimeout(
        () => {
          this.timers.delete(key);
          if (at - Date.now() > 0) step();
          else this.order(names);
        },
        timerMs(Math.max(0, at - Date.now())),
      );
      t.unref();
      this.timers.set(key, t);
    };
    step();
  }

  /** One order, placed by the ACME thread (acme-worker.ts); its challenges are served from here. */
  private async issue(names: readonly string[]): Promise<Issued> {
    const serve = this.hooks.serve ?? serveChallenge;
    // A thread that died (out of memory, a crash in the library) is replaced by the next order.
    if (this.thread?.exited) this.thread = null;
    this.thread ??= Thread.start(new URL("./acme-worker.js", import.meta.url), null, (data) =>
      serve(data as ChallengeEvent),
    );
    const request: OrderRequest = { settings: this.settings, dir: this.dir, names: [...names] };
    const { cert, key } = await this.thread.call<{ cert: string; key: string }>(request);
    return { cert, key, notAfter: Date.parse(new X509Certificate(cert).validTo) };
  }

  stop(): void {
    this.stopped = true;
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
    this.thread?.terminate();
    this.thread = null;
  }
}
