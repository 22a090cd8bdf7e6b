/**
 * Certificates from an ACME CA (RFC 8555) for sites with `tls: acme`, with
 * acme-client: an account (its key kept in the state folder, 0600), an
 * order per site, HTTP-01 challenges answered by Ferry's own plain HTTP
 * listeners or TLS-ALPN-01 ones by its TLS listeners (`acme-challenges.ts`,
 * `alpn-challenge.ts`), the chain stored in the state folder,
 * renewal at two thirds of its life, and a backoff on errors. It never
 * blocks serving: until a certificate arrives the site answers with one from
 * the local CA.
 */
import { X509Certificate } from "node:crypto";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import tls from "node:tls";
import { tlsCertChannel } from "../core/diagnostics.js";
import { acmeChallenges, tlsAlpnChallenges } from "./acme-challenges.js";
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

export class AcmeManager {
  /** Certificates by the names they cover (joined). */
  private readonly certs = new Map<string, Issued>();
  private readonly working = new Set<string>();
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private readonly backoff = new Map<string, number>();
  private readonly dir: string;

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

  private async issue(names: readonly string[]): Promise<Issued> {
    const acme = await import("acme-client");
    const s = this.settings;
    if (s.caRoots !== null)
      acme.axios.defaults.httpsAgent = new https.Agent({
        ca: [...tls.rootCertificates, readFileSync(s.caRoots, "utf8")],
      });
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const accountFile = path.join(this.dir, "account.key");
    let accountKey: Buffer;
    if (existsSync(accountFile)) accountKey = readFileSync(accountFile);
    else {
      accountKey = await acme.crypto.createPrivateEcdsaKey();
      writeFileSync(accountFile, accountKey, { mode: 0o600 });
    }
    const client = new acme.Client({ directoryUrl: s.directory, accountKey });
    const key = await acme.crypto.createPrivateEcdsaKey();
    const [, csr] = await acme.crypto.createCsr({ commonName: names[0]!, altNames: [...names] }, key);
    const cert = await client.auto({
      csr,
      ...(s.email !== null ? { email: s.email } : {}),
      termsOfServiceAgreed: true,
      challengePriority: [s.challenge],
      // The CA checks the challenge itself, through its own resolver; Ferry does not pre-check it.
      skipChallengeVerification: true,
      challengeCreateFn: async (authz, challenge, keyAuthorization) => {
        // acme-client's types know only http-01 and dns-01; its code hands tls-alpn-01 through as well.
        if ((challenge.type as string) === "tls-alpn-01") {
          const alpnKey = await acme.crypto.createPrivateEcdsaKey();
          const [, alpnCert] = await acme.crypto.createAlpnCertificate(authz, keyAuthorization, alpnKey);
          tlsAlpnChallenges.set(
            authz.identifier.value.toLowerCase(),
            tls.createSecureContext({ key: alpnKey, cert: alpnCert }),
          );
        } else acmeChallenges.set(challenge.token, keyAuthorization);
      },
      challengeRemoveFn: async (authz, challenge) => {
        if ((challenge.type as string) === "tls-alpn-01")
          tlsAlpnChallenges.delete(authz.identifier.value.toLowerCase());
        else acmeChallenges.delete(challenge.token);
      },
    });
    const base = path.join(this.dir, names[0]!.replace(/^\*\./, "_wildcard."));
    writeFileSync(`${base}.key`, key, { mode: 0o600 });
    writeFileSync(`${base}.crt`, cert);
    return { cert, key: key.toString(), notAfter: Date.parse(new X509Certificate(cert).validTo) };
  }

  stop(): void {
    for (const t of this.timers.values()) clearTimeout(t);
    this.timers.clear();
  }
}
