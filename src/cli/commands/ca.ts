/** `ferry ca`: where Ferry's local root certificate is, and its fingerprint (or the PEM itself). */
import path from "node:path";
import { configFromFlags } from "../../core/config/adapters/flags.js";
import { UsageError } from "../../core/errors.js";
import { parseArgs } from "../args.js";

export const caHelp = `Usage: ferry ca [--pem] [--state DIR | --config FILE]

Prints the path and SHA-256 fingerprint of Ferry's local root certificate
(the CA behind \`tls: internal\`), creating it the first time. With --pem,
prints the certificate itself. To trust it: curl --cacert PATH, copy it to
/usr/local/share/ca-certificates/ferry.crt and run update-ca-certificates,
or add it to Chromium's NSS database (certutil -d sql:$HOME/.pki/nssdb -A
-t C,, -n ferry -i PATH).

  --pem           print the PEM to stdout
  --state DIR     the state folder (default: the config's, or $XDG_DATA_HOME/ferry)
  --config FILE   take the state folder from this config
`;

export async function caCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: false,
    strict: true,
    options: { pem: { type: "boolean" }, state: { type: "string" }, config: { type: "string", short: "c" } },
  });
  if (positionals.length > 0) throw new UsageError("ca takes no arguments");
  const state =
    values.state !== undefined
      ? path.resolve(values.state)
      : configFromFlags({ http: [], config: values.config, ...(values.config ? {} : { root: "." }) }).state;
  // Loaded here only. Importing @peculiar/x509 (and what it pulls in) slows every request of the process
  // by about a quarter (measured: bench:proxy 18k → 13.7k req/s), so `ferry serve` must not load it
  // unless a site uses the local CA (see src/tls/README.md).
  const { LocalCA } = await import("../../tls/local-ca.js");
  const ca = await LocalCA.open(state);
  if (values.pem) process.stdout.write(ca.certPem.endsWith("\n") ? ca.certPem : `${ca.certPem}\n`);
  else process.stdout.write(`${ca.certPath}\nSHA-256 ${ca.fingerprint}\n`);
  return 0;
}
