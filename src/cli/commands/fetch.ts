import { readFileSync } from "node:fs";
/**
 * `ferry fetch URL [-v] [--dns HOST:PORT] [--json]`: a curl-like GET that
 * shows the whole trip as a waterfall (DNS, connect, TLS, time to first
 * byte, download), then the status and headers on stderr and the body on
 * stdout. `--json` prints the phases, status and headers for scripts.
 */

import { parseListen } from "../../core/config/normalize.js";
import { UsageError } from "../../core/errors.js";
import { parseArgs } from "../args.js";
import { type Phases, type Trace, traceFetch } from "../fetch-trace.js";

export const fetchHelp = `Usage: ferry fetch URL [-v] [--dns HOST:PORT] [--json] [-k] [--cacert FILE] [--timeout MS]

GETs URL and shows each step of the trip as a waterfall: which DNS server
was asked and what it answered, TCP connect, TLS handshake (https), time to
first byte and download. Then the status and headers (stderr) and the body
(stdout), like curl.

  --dns HOST:PORT   resolve with Ferry's own resolver against this server
                    (default: the system resolver)
  -v, --verbose     also show the DNS answer, TLS details and request headers
  --json            print {url, ip, dns, tls, phases, status, headers, bytes}
                    to stdout (phases in ms: dns, connect, tls, ttfb, download, total)
  -k, --insecure    accept any TLS certificate
  --cacert FILE     also trust this root (PEM), e.g. Ferry's local CA (ferry ca)
  --timeout MS      give up after MS milliseconds (default 10000)

Exits 0 when an answer came (whatever its status), 1 when the trip failed.
`;

const PHASES: [keyof Phases, string][] = [
  ["dns", "DNS lookup"],
  ["connect", "TCP connect"],
  ["tls", "TLS handshake"],
  ["ttfb", "first byte"],
  ["download", "download"],
];

/** The waterfall: one bar per phase, placed where it starts on a shared time axis. */
export function renderWaterfall(t: Trace, color: boolean): string {
  const width = 40;
  const total = t.phases.total || 1;
  const paint = (s: string, code: number) => (color ? `\x1b[${code}m${s}\x1b[0m` : s);
  const colors: Record<string, number> = { dns: 35, connect: 33, tls: 36, ttfb: 32, download: 34 };
  const notes: Record<string, string> = {
    dns: t.dns.server === "none" ? "an address, no lookup" : `${t.ip} from ${t.dns.server}`,
    connect: `${t.ip}:${t.port}`,
    tls: t.tls ? `${t.tls.protocol} ${t.tls.cipher}` : "— (http)",
    ttfb: `${t.status} ${t.statusText}`,
    download: `${t.body.length.toLocaleString("en")} bytes`,
  };
  let at = 0;
  const lines: string[] = [];
  for (const [key, label] of PHASES) {
    const ms = t.phases[key];
    const start = Math.round((at / total) * width);
    const len = ms > 0 ? Math.max(1, Math.round((ms / total) * width)) : 0;
    const bar =
      " ".repeat(Math.min(start, width)) +
      paint("█".repeat(Math.min(len, width - Math.min(start, width))), colors[key]!);
    const pad = " ".repeat(Math.max(0, width - Math.min(start + len, width)));
    lines.push(`  ${label.padEnd(14)} │${bar}${pad}│ ${ms.toFixed(1).padStart(8)} ms  ${notes[key]}`);
    at += ms;
  }
  lines.push(`  ${"total".padEnd(14)} │${" ".repeat(width)}│ ${t.phases.total.toFixed(1).padStart(8)} ms`);
  return `${lines.join("\n")}\n`;
}

export async function fetchCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      dns: { type: "string" },
      json: { type: "boolean" },
      verbose: { type: "boolean", short: "v" },
      insecure: { type: "boolean", short: "k" },
      cacert: { type: "string" },
      timeout: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("fetch takes one URL");
  const url = positionals[0]!;
  if (!/^https?:\/\//i.test(url)) throw new UsageError(`${url} is not an http:// or https:// URL`);
  let dns: { host: string; port: number } | undefined;
  if (values.dns !== undefined) {
    const parsed = parseListen(values.dns) ?? parseListen(`${values.dns}:53`);
    if (parsed === null) throw new UsageError(`--dns ${values.dns}: expected HOST:PORT`);
    dns = parsed;
  }
  const timeoutMs = values.timeout === undefined ? 10_000 : Number(values.timeout);
  if (!(timeoutMs > 0)) throw new UsageError("--timeout must be a positive number of milliseconds");
  let ca: string | undefined;
  if (values.cacert !== undefined) {
    try {
      ca = readFileSync(values.cacert, "utf8");
    } catch (err) {
      throw new UsageError(
        `--cacert ${values.cacert}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
      );
    }
  }
  const t = await traceFetch(url, {
    dns,
    insecure: values.insecure,
    ca,
    timeoutMs,
    userAgent: "ferry-fetch",
  });
  if (values.json) {
    const out = {
      url: t.url,
      ip: t.ip,
      port: t.port,
      dns: t.dns,
      tls: t.tls,
      phases: t.phases,
      status: t.status,
      statusText: t.statusText,
      httpVersion: t.httpVersion,
      headers: Object.fromEntries(t.headers.map(([k, v]) => [k.toLowerCase(), v])),
      bytes: t.body.length,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  const err = process.stderr;
  const color = err.isTTY === true;
  const v = values.verbose === true;
  if (v) {
    err.write(
      `* DNS: ${t.dns.server === "none" ? "an address, nothing to look up" : `asked ${t.dns.server}`}\n`,
    );
    for (const a of t.dns.answers) err.write(`*   ${a}\n`);
    err.write(`* Connected to ${t.ip} port ${t.port}\n`);
    if (t.tls)
      err.write(
        `* TLS ${t.tls.protocol} ${t.tls.cipher}${t.tls.alpn ? `, ALPN ${t.tls.alpn}` : ""}\n*   subject ${t.tls.subject}, issuer ${t.tls.issuer}, valid to ${t.tls.validTo}\n`,
      );
    err.write(`> ${t.request.method} ${t.request.path} HTTP/1.1\n`);
    for (const [k, val] of t.request.headers) err.write(`> ${k}: ${val}\n`);
    err.write(">\n");
  }
  err.write(`\n${renderWaterfall(t, color)}\n`);
  err.write(`${v ? "< " : ""}HTTP/${t.httpVersion} ${t.status} ${t.statusText}\n`);
  for (const [k, val] of t.headers) err.write(`${v ? "< " : ""}${k}: ${val}\n`);
  err.write("\n");
  process.stdout.write(t.body);
  return 0;
}
