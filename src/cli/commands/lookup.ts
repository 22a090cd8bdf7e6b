import { readFileSync } from "node:fs";
import { parseListen } from "../../core/config/normalize.js";
import { FerryError, UsageError } from "../../core/errors.js";
import { lookup } from "../../dns/client.js";
import { Flag, Rcode, RRType, typeName, typeNumber } from "../../dns/wire/constants.js";
import type { Record } from "../../dns/wire/message.js";
import { rdataText, recordText } from "../../dns/wire/present.js";
import { parseArgs } from "../args.js";

export const lookupHelp = `Usage: ferry lookup NAME [TYPE] [--server HOST:PORT] [--tcp | --tls | --https [--path PATH]] [--tls-hostname NAME] [--cacert FILE] [--json]

Asks one DNS question and prints the answer like dig: header flags, every
section with TTLs, which server answered, over what, and how long it took.
With no --server it asks the first nameserver in /etc/resolv.conf and says so.
A truncated UDP answer is asked again over TCP.

  --server HOST:PORT   the server to ask (port 53 if left out)
  --tcp                ask over TCP
  --tls                ask over TLS (DNS over TLS, RFC 7858; port 853 if left out)
  --https              ask over HTTPS (DNS over HTTPS, RFC 8484: POST over HTTP/2; port 443 if left out)
  --path PATH          the DoH path (default /dns-query)
  --tls-hostname NAME  the name the server's certificate must carry (default: the server's)
  --cacert FILE        also trust this root (PEM), e.g. Ferry's local CA (ferry ca)
  --json               print the answer as JSON, for scripts
`;

const RCODES = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));
const FLAGS: [string, number][] = [
  ["qr", Flag.QR],
  ["aa", Flag.AA],
  ["tc", Flag.TC],
  ["rd", Flag.RD],
  ["ra", Flag.RA],
  ["ad", Flag.AD],
  ["cd", Flag.CD],
];

function systemResolver(): { host: string; port: number } | null {
  try {
    const m = /^\s*nameserver\s+(\S+)/m.exec(readFileSync("/etc/resolv.conf", "utf8"));
    return m ? { host: m[1]!, port: 53 } : null;
  } catch {
    return null;
  }
}

function json(r: Record) {
  return { name: r.name === "" ? "." : `${r.name}.`, ttl: r.ttl, type: typeName(r.type), data: rdataText(r) };
}

/** `ferry lookup`: resolves to the exit code (0 when an answer came, whatever its rcode). */
export async function lookupCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      server: { type: "string", short: "s" },
      tcp: { type: "boolean" },
      tls: { type: "boolean" },
      https: { type: "boolean" },
      path: { type: "string" },
      "tls-hostname": { type: "string" },
      cacert: { type: "string" },
      json: { type: "boolean" },
    },
  });
  const [name, typeText = "A", ...extra] = positionals;
  if (name === undefined || extra.length > 0) throw new UsageError("lookup takes NAME and an optional TYPE");
  const type = typeNumber(typeText);
  if (type === undefined)
    throw new UsageError(`unknown type ${typeText} (use a name such as AAAA, or TYPE123)`);
  if ([values.tcp, values.tls, values.https].filter(Boolean).length > 1)
    throw new UsageError("choose one of --tcp, --tls and --https");
  if (values.path !== undefined && !values.https) throw new UsageError("--path goes with --https");
  if (values.path !== undefined && !values.path.startsWith("/"))
    throw new UsageError(`--path must start with /, not ${values.path}`);
  const secure = values.tls === true || values.https === true;
  let server = systemResolver();
  if (server !== null && secure) server = { host: server.host, port: values.https ? 443 : 853 };
  let note = server ? `using the system resolver ${server.host} from /etc/resolv.conf` : "";
  if (values.server !== undefined) {
    server =
      parseListen(values.server) ??
      parseListen(`${values.server}:${values.https ? 443 : values.tls ? 853 : 53}`);
    if (server === null) throw new UsageError(`--server must be HOST or HOST:PORT, not ${values.server}`);
    note = "";
  }
  if (server === null) throw new UsageError("no --server given and no nameserver in /etc/resolv.conf");
  let result: Awaited<ReturnType<typeof lookup>>;
  try {
    let tlsOpts: { servername?: string; ca?: string } | undefined;
    if (secure) {
      const given = values["tls-hostname"] ?? (values.server !== undefined ? server.host : undefined);
      tlsOpts = { servername: given };
      if (values.cacert !== undefined) tlsOpts.ca = readFileSync(values.cacert, "utf8");
    }
    result = await lookup(name.replace(/\.$/, ""), type, {
      server,
      tcp: values.tcp,
      tls: tlsOpts,
      https: values.https ? { path: values.path ?? "/dns-query" } : undefined,
    });
  } catch (err) {
    throw new FerryError("ERR_DNS_LOOKUP", `${name} ${typeName(type)}: ${(err as Error).message}`);
  }
  const m = result.message;
  const opt = m.additional.find((r) => r.type === RRType.OPT);
  const rcode = m.rcode | (opt ? (opt.ttl >>> 24) << 4 : 0);
  const flags = FLAGS.filter(([, bit]) => m.flags & bit).map(([f]) => f);
  const sections = {
    answer: m.answers,
    authority: m.authority,
    additional: m.additional.filter((r) => r.type !== RRType.OPT),
  };
  const where = `${server.host.includes(":") ? `[${server.host}]` : server.host}:${server.port}`;
  if (values.json) {
    const out = {
      server: where,
      transport: result.transport,
      retriedOverTcp: result.retriedOverTcp,
      ms: Math.round(result.ms * 1000) / 1000,
      bytes: result.bytes,
      id: m.id,
      rcode: RCODES.get(rcode) ?? String(rcode),
      flags,
      question: m.questions.map((q) => ({ name: `${q.name}.`, type: typeName(q.type) })),
      answer: sections.answer.map(json),
      authority: sections.authority.map(json),
      additional: sections.additional.map(json),
      edns: opt ? { version: (opt.ttl >>> 16) & 0xff, udpPayload: opt.klass } : null,
    };
    process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
    return 0;
  }
  const lines: string[] = [];
  if (note) lines.push(`;; ${note}`);
  lines.push(`;; ->>HEADER<<- opcode: QUERY, status: ${RCODES.get(rcode) ?? rcode}, id: ${m.id}`);
  lines.push(
    `;; flags: ${flags.join(" ")}; QUERY: ${m.questions.length}, ANSWER: ${sections.answer.length}, AUTHORITY: ${sections.authority.length}, ADDITIONAL: ${sections.additional.length}`,
  );
  if (opt) lines.push(`;; EDNS: version: ${(opt.ttl >>> 16) & 0xff}, udp: ${opt.klass}`);
  lines.push("", ";; QUESTION SECTION:", ...m.questions.map((q) => `;${q.name}.\t\tIN\t${typeName(q.type)}`));
  for (const [title, list] of Object.entries(sections)) {
    if (list.length > 0) lines.push("", `;; ${title.toUpperCase()} SECTION:`, ...list.map(recordText));
  }
  lines.push(
    "",
    `;; Query time: ${result.ms.toFixed(1)} ms`,
    `;; SERVER: ${where} (${result.transport.toUpperCase()}${result.retriedOverTcp ? ", after a truncated UDP answer" : ""})`,
    `;; MSG SIZE rcvd: ${result.bytes}`,
  );
  process.stdout.write(`${lines.join("\n")}\n`);
  return 0;
}
