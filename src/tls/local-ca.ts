/**
 * Ferry's local certificate authority (`tls: internal`, Caddy's idea): a
 * root created once in the state folder (key 0600, folder 0700) and never
 * re-created while it exists, and short-lived leaf certificates (7 days)
 * issued on demand for a site's names, wildcards included. ECDSA P-256,
 * built with @peculiar/x509 (no hand-written ASN.1).
 */
import "reflect-metadata";
import { createHash, webcrypto, X509Certificate } from "node:crypto";
import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { isIP } from "node:net";
import path from "node:path";
import * as x509 from "@peculiar/x509";
import { FerryError } from "../core/errors.js";

x509.cryptoProvider.set(webcrypto as unknown as Crypto);

const ALG = { name: "ECDSA", namedCurve: "P-256", hash: "SHA-256" } as const;
const DAY = 86_400_000;
/** Leaf certificates live this long; they are renewed when a third of it is left. */
export const LEAF_LIFETIME_MS = 7 * DAY;
const ROOT_LIFETIME_MS = 10 * 365 * DAY;

/** A certificate and its key, as PEM, with when it stops being valid. */
export interface Issued {
  cert: string;
  key: string;
  notAfter: number;
}

function pem(label: string, der: ArrayBuffer): string {
  const b64 = Buffer.from(der).toString("base64").replace(/.{64}/g, "$&\n");
  return `-----BEGIN ${label}-----\n${b64}${b64.endsWith("\n") ? "" : "\n"}-----END ${label}-----\n`;
}

function serial(): string {
  // Positive, 16 bytes.
  const b = webcrypto.getRandomValues(new Uint8Array(16));
  b[0]! &= 0x7f;
  return Buffer.from(b).toString("hex");
}

export class LocalCA {
  private constructor(
    /** Path of the root certificate (PEM). */
    readonly certPath: string,
    readonly certPem: string,
    private readonly cert: x509.X509Certificate,
    private readonly key: CryptoKey,
  ) {}

  /** The root's SHA-256 fingerprint, `AB:CD:…` as openssl prints it. */
  get fingerprint(): string {
    return new X509Certificate(this.certPem).fingerprint256;
  }

  /** Opens the CA in `state` (creating the root the first time). */
  static async open(state: string): Promise<LocalCA> {
    const dir = path.join(state, "ca");
    const certPath = path.join(dir, "root.crt");
    const keyPath = path.join(dir, "root.key");
    try {
      if (existsSync(certPath) && existsSync(keyPath)) {
        const certPem = readFileSync(certPath, "utf8");
        const der = x509.PemConverter.decodeFirst(readFileSync(keyPath, "utf8"));
        const key = await webcrypto.subtle.importKey("pkcs8", der, ALG, false, ["sign"]);
        return new LocalCA(certPath, certPem, new x509.X509Certificate(certPem), key as CryptoKey);
      }
      mkdirSync(dir, { recursive: true, mode: 0o700 });
      chmodSync(state, 0o700);
      const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
      const now = Date.now();
      const cert = await x509.X509CertificateGenerator.createSelfSigned({
        serialNumber: serial(),
        name: `CN=Ferry Local CA ${createHash("sha256").update(String(now)).digest("hex").slice(0, 8)}, O=Ferry`,
        notBefore: new Date(now - 3600_000),
        notAfter: new Date(now + ROOT_LIFETIME_MS),
        signingAlgorithm: ALG,
        keys,
        extensions: [
          new x509.BasicConstraintsExtension(true, 0, true),
          new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
          await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
        ],
      });
      const keyPem = pem("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey));
      writeFileSync(keyPath, keyPem, { mode: 0o600 });
      const certPem = cert.toString("pem");
      writeFileSync(certPath, `${certPem}\n`, { mode: 0o644 });
      return new LocalCA(certPath, certPem, cert, keys.privateKey);
    } catch (err) {
      throw new FerryError(
        "ERR_TLS_LOCAL_CA",
        `cannot open the local CA in ${dir}: ${(err as Error).message}`,
        {
          cause: err,
        },
      );
    }
  }

  /** A leaf certificate for `names` (DNS names, `*.` wildcards, or IP addresses), valid for 7 days. */
  async issue(names: readonly string[]): Promise<Issued> {
    const keys = (await webcrypto.subtle.generateKey(ALG, true, ["sign", "verify"])) as CryptoKeyPair;
    const now = Date.now();
    const notAfter = now + LEAF_LIFETIME_MS;
    const san = names.map((n) =>
      isIP(n) !== 0 ? { type: "ip" as const, value: n } : { type: "dns" as const, value: n },
    );
    const leaf = await x509.X509CertificateGenerator.create({
      serialNumber: serial(),
      subject: `CN=${names[0] ?? "localhost"}`,
      issuer: this.cert.subject,
      notBefore: new Date(now - 3600_000),
      notAfter: new Date(notAfter),
      signingAlgorithm: ALG,
      publicKey: keys.publicKey,
      signingKey: this.key,
      extensions: [
        new x509.SubjectAlternativeNameExtension(san),
        new x509.BasicConstraintsExtension(false),
        new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
        new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
        await x509.AuthorityKeyIdentifierExtension.create(this.cert),
      ],
    });
    return {
      // The chain: the leaf, then the root (so clients that trust the root see the whole path).
      cert: `${leaf.toString("pem")}\n${this.certPem}`,
      key: pem("PRIVATE KEY", await webcrypto.subtle.exportKey("pkcs8", keys.privateKey)),
      notAfter,
    };
  }
}
