/**
 * The worker thread that places ACME orders (acme.ts asks it): acme-client,
 * and the X.509 library it imports, load here and never in the serving
 * thread. A challenge to answer is sent to the owner as an event, answered
 * once the listeners serve it: HTTP-01 as its token and key authorization,
 * TLS-ALPN-01 as the challenge certificate (made here) for the name.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import https from "node:https";
import path from "node:path";
import tls from "node:tls";
import { parentPort } from "node:worker_threads";
import { workerSide } from "../core/thread.js";
import { type AcmeSettings, writeStored } from "./acme.js";

/** What the owner is asked to serve (and later to stop serving). */
export type ChallengeEvent =
  | { op: "set" | "delete"; type: "http-01"; token: string; keyAuthorization: string }
  | { op: "set" | "delete"; type: "tls-alpn-01"; name: string; key: string; cert: string };

export interface OrderRequest {
  settings: AcmeSettings;
  dir: string;
  names: string[];
}

const side = workerSide(parentPort!);

side.serve(async (payload) => {
  const { settings: s, dir, names } = payload as OrderRequest;
  const acme = await import("acme-client");
  if (s.caRoots !== null)
    acme.axios.defaults.httpsAgent = new https.Agent({
      ca: [...tls.rootCertificates, readFileSync(s.caRoots, "utf8")],
    });
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  const accountFile = path.join(dir, "account.key");
  let accountKey: Buffer;
  if (existsSync(accountFile)) accountKey = readFileSync(accountFile);
  else {
    accountKey = await acme.crypto.createPrivateEcdsaKey();
    writeFileSync(accountFile, accountKey, { mode: 0o600 });
  }
  const client = new acme.Client({ directoryUrl: s.directory, accountKey });
  const key = await acme.crypto.createPrivateEcdsaKey();
  const [, csr] = await acme.crypto.createCsr({ commonName: names[0]!, altNames: [...names] }, key);
  /** The TLS-ALPN-01 certificate of each name, for the delete that follows its set. */
  const alpn = new Map<string, { key: string; cert: string }>();
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
        const pair = { key: alpnKey.toString(), cert: alpnCert.toString() };
        alpn.set(authz.identifier.value, pair);
        await side.emit({ op: "set", type: "tls-alpn-01", name: authz.identifier.value, ...pair });
      } else await side.emit({ op: "set", type: "http-01", token: challenge.token, keyAuthorization });
    },
    challengeRemoveFn: async (authz, challenge, keyAuthorization) => {
      if ((challenge.type as string) === "tls-alpn-01") {
        const pair = alpn.get(authz.identifier.value) ?? { key: "", cert: "" };
        await side.emit({ op: "delete", type: "tls-alpn-01", name: authz.identifier.value, ...pair });
      } else await side.emit({ op: "delete", type: "http-01", token: challenge.token, keyAuthorization });
    },
  });
  writeStored(dir, names, cert, key.toString());
  return { cert, key: key.toString() };
});
