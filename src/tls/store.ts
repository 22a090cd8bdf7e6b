/**
 * The certificates of a config's sites, picked by SNI: PEM files loaded and
 * checked once per (re)load, and leaf certificates from the local CA issued
 * on first use, cached and renewed in the background when a third of their
 * life is left. A reload builds a new store; internal certificates still
 * valid carry over, so a reload never re-issues them.
 */
import { createPrivateKey, X509Certificate } from "node:crypto";
import { readFileSync } from "node:fs";
import tls from "node:tls";
import type { SiteConfig } from "../core/config/types.js";
import { type TlsCertEvent, tlsCertChannel } from "../core/diagnostics.js";
import { FerryError } from "../core/errors.js";
import type { AcmeSource } from "./acme.js";
import type { CertificateAuthority } from "./ca-thread.js";
import type { Issued } from "./local-ca.js";
import { TLS_PROFILE } from "./profile.js";

/** Which site serves a name, and whether the name was its own (not the default's fallback). */
export type SiteFinder = (name: string) => { site: SiteConfig; own: boolean };

interface Loaded {
  context: tls.SecureContext;
  cert: string;
  key: string;
  /** Epoch ms. */
  notAfter: number;
}

/** Names without a site of their own that get their own internal certificate, at most. */
const MAX_NAMED = 1000;

function event(e: Omit<TlsCertEvent, "time">): void {
  if (tlsCertChannel.hasSubscribers) tlsCertChannel.publish({ time: Date.now(), ...e });
}

function load(cert: string, key: string): Loaded {
  return {
    context: tls.createSecureContext({ ...TLS_PROFILE, cert, key }),
    cert,
    key,
    notAfter: Date.parse(new X509Certificate(cert).validTo),
  };
}

/** Reads and checks a site's PEM files; throws ERR_TLS_CERT naming the file. */
export function loadFiles(certFile: string, keyFile: string): Loaded {
  const read = (file: string) => {
    try {
      return readFileSync(file, "utf8");
    } catch (err) {
      throw new FerryError(
        "ERR_TLS_CERT",
        `${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  };
  const cert = read(certFile);
  const key = read(keyFile);
  let leaf: X509Certificate;
  try {
    leaf = new X509Certificate(cert);
  } catch {
    throw new FerryError("ERR_TLS_CERT", `${certFile}: not a PEM certificate`);
  }
  let privateKey: ReturnType<typeof createPrivateKey>;
  try {
    privateKey = createPrivateKey(key);
  } catch {
    throw new FerryError("ERR_TLS_CERT", `${keyFile}: not a PEM private key`);
  }
  if (!leaf.checkPrivateKey(privateKey))
    throw new FerryError(
      "ERR_TLS_CERT",
      `${keyFile}: this key does not belong to the certificate in ${certFile}`,
    );
  const notAfter = Date.parse(leaf.validTo);
  if (notAfter < Date.now()) throw new FerryError("ERR_TLS_CERT", `${certFile}: expired on ${leaf.validTo}`);
  return load(cert, key);
}

function siteName(site: SiteConfig): string {
  return site.hosts[0] ?? "default";
}

export class CertStore {
  /** Loaded file certificates, by site. */
  private readonly files = new Map<SiteConfig, Loaded>();
  /** Internal certificates by the names they cover (joined), shared with the next store on reload. */
  private readonly issued: Map<string, Loaded>;
  /** ACME certificates made ready, by their PEM. */
  private readonly fromAcme = new Map<string, Loaded>();
  /** Issuing in progress, by names. */
  private readonly pending = new Map<string, Promise<Loaded>>();
  private readonly defaultSite: SiteConfig | null;

  private constructor(
    private readonly sites: readonly SiteConfig[],
    private readonly find: SiteFinder,
    private readonly ca: CertificateAuthority | null,
    private readonly strictSni: boolean,
    issued: Map<string, Loaded>,
    private readonly acme: AcmeSource | null,
  ) {
    this.issued = issued;
    const fallback = sites.find((s) => s.default) ?? sites[0] ?? null;
    this.defaultSite = fallback?.tls ? fallback : (sites.find((s) => s.tls !== null) ?? null);
  }

  /**
   * Builds the store: every file certificate is loaded now (ERR_TLS_CERT when
   * one is unusable), the local CA opened when a site uses it, and the
   * default certificate made ready for clients that send no name.
   */
  static async build(
    sites: readonly SiteConfig[],
    find: SiteFinder,
    options: {
      state: string;
      strictSni: boolean;
      openCA: (state: string) => Promise<CertificateAuthority>;
      acme?: AcmeSource | null;
    },
    previous: CertStore | null = null,
  ): Promise<CertStore> {
    // ACME sites answer with a local-CA certificate until theirs arrives.
    const internal = sites.some((s) => s.tls?.kind === "internal" || s.tls?.kind === "acme");
    const ca = internal ? (previous?.ca ?? (await options.openCA(options.state))) : null;
    const store = new CertStore(
      sites,
      find,
      ca,
      options.strictSni,
      previous?.issued ?? new Map(),
      options.acme ?? null,
    );
    for (const site of sites) {
      const t = site.tls;
      if (t?.kind !== "files") continue;
      store.files.set(site, loadFiles(t.cert, t.key));
      event({ kind: "loaded", site: siteName(site), file: t.cert, message: "certificate loaded", code: "" });
    }
    if (store.defaultSite !== null) await store.contextFor(store.defaultSite, null);
    return store;
  }

  /** The names an internal certificate for `site` covers (a site without names: this machine's, and `name`). */
  private namesFor(site: SiteConfig, name: string | null): string[] {
    if (site.hosts.length > 0) return site.hosts;
    const local = ["localhost", "127.0.0.1", "::1"];
    return name !== null && !local.includes(name) ? [name, ...local] : local;
  }

  private async contextFor(site: SiteConfig, name: string | null): Promise<Loaded> {
    const t = site.tls;
    if (t?.kind === "files") return this.files.get(site)!;
    if (t?.kind === "acme" && this.acme !== null && site.hosts.length > 0) {
      const c = this.acme.get(site.hosts);
      if (c !== null) {
        let l = this.fromAcme.get(c.cert);
        if (l === undefined) {
          l = load(c.cert, c.key);
          this.fromAcme.set(c.cert, l);
        }
        return l;
      }
    }
    const names = this.namesFor(site, name);
    const key = names.join(",");
    const have = this.issued.get(key);
    const now = Date.now();
    if (have !== undefined) {
      // Renewed in the background once a third of its life is left; served meanwhile.
      if (have.notAfter - now < (7 * 86_400_000) / 3 && !this.pending.has(key))
        void this.issue(key, names, site);
      if (have.notAfter > now) return have;
    }
    return this.pending.get(key) ?? this.issue(key, names, site);
  }

  private issue(key: string, names: string[], site: SiteConfig): Promise<Loaded> {
    const p = this.ca!.issue(names).then(
      (i: Issued) => {
        const loaded = load(i.cert, i.key);
        if (this.issued.size >= MAX_NAMED) this.issued.delete(this.issued.keys().next().value!);
        this.issued.set(key, loaded);
        this.pending.delete(key);
        event({
          kind: "issued",
          site: siteName(site),
          file: "",
          message: `issued for ${names.join(", ")}`,
          code: "",
        });
        return loaded;
      },
      (err: Error) => {
        this.pending.delete(key);
        throw err;
      },
    );
    this.pending.set(key, p);
    return p;
  }

  /** The certificate for clients that send no name (an IP address in the URL), as PEM. */
  defaultCredentials(): { cert: string; key: string } | null {
    const site = this.defaultSite;
    if (site === null) return null;
    const loaded =
      site.tls?.kind === "files"
        ? this.files.get(site)
        : this.issued.get(this.namesFor(site, null).join(","));
    return loaded ? { cert: loaded.cert, key: loaded.key } : null;
  }

  /** node's SNICallback: the context for `servername`, or an error that fails the handshake. */
  readonly sni = (servername: string, cb: (err: Error | null, ctx?: tls.SecureContext) => void): void => {
    const name = servername.toLowerCase();
    const { site, own } = this.find(name);
    if (!own && this.strictSni) {
      cb(new Error(`no site for ${name}`));
      return;
    }
    const chosen = site.tls !== null ? site : this.defaultSite;
    if (chosen === null) {
      cb(new Error("no certificate"));
      return;
    }
    this.contextFor(chosen, own && site.tls !== null ? null : name).then(
      (l) => cb(null, l.context),
      (err: Error) => cb(err),
    );
  };

  /** The certificate of the site that owns `name` (the default site's when `name` is null), as PEM. */
  async credentialsFor(name: string | null): Promise<{ cert: string; key: string } | null> {
    const site = name === null ? this.defaultSite : this.find(name).site;
    const chosen = site?.tls ? site : this.defaultSite;
    if (!chosen) return null;
    const l = await this.contextFor(chosen, null);
    return { cert: l.cert, key: l.key };
  }

  /** Every certificate file in use (watched for changes). */
  watchedFiles(): string[] {
    return this.sites.flatMap((s) => (s.tls?.kind === "files" ? [s.tls.cert, s.tls.key] : []));
  }
}
