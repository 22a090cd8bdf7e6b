import { configFromFlags } from "../../core/config/adapters/flags.js";
import { FerryError, UsageError } from "../../core/errors.js";
import { maskConfig } from "../../core/secrets.js";
import { loadZoneFile, loadZoneText } from "../../dns/zone/load.js";
import { parseArgs } from "../args.js";

export const checkHelp = `Usage: ferry check --config FILE [--json]

Validates a config file. Prints what it would serve, or every problem with
its file, line, column and key (exit 2). --json prints the canonical config.
`;

/** `ferry check`: validates a config file; throws ConfigError on problems. */
export function check(args: string[]): void {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: { config: { type: "string", short: "c" }, json: { type: "boolean" } },
  });
  const file = values.config ?? positionals[0];
  if (file === undefined) throw new UsageError("check needs --config FILE");
  const config = configFromFlags({ http: [], config: file });
  // Zone files are checked whole: a zone that would not load fails the check.
  const zoneLines: string[] = [];
  const zoneErrors: string[] = [];
  for (const z of config.dns?.zones ?? []) {
    if (z.primary) {
      const a = z.primary.address;
      zoneLines.push(
        `  zone ${z.origin}: secondary of ${a.host.includes(":") ? `[${a.host}]` : a.host}:${a.port}${z.primary.tsig ? ` (signed with key ${z.primary.tsig})` : ""}, its copy in ${z.file}`,
      );
      continue;
    }
    try {
      const zone =
        z.records !== undefined ? loadZoneText(z.records, z.origin, z.file) : loadZoneFile(z.file, z.origin);
      const serial = zone.soa.data.type === "soa" ? zone.soa.data.serial : 0;
      zoneLines.push(`  zone ${zone.origin}: serial ${serial}, ${zone.size} records`);
      if (z.transfer)
        zoneLines.push(
          `    transfer to ${z.transfer.allow.join(", ") || "nobody"}${z.transfer.tsig ? ` (signed with key ${z.transfer.tsig})` : ""}`,
        );
      if (z.notify.length > 0)
        zoneLines.push(
          `    notify ${z.notify.map((a) => (a.host.includes(":") ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`)).join(", ")}`,
        );
    } catch (err) {
      zoneErrors.push((err as Error).message);
    }
  }
  if (zoneErrors.length > 0) throw new FerryError("ERR_DNS_ZONE_SYNTAX", zoneErrors.join("\n"));
  if (values.json) {
    // Secrets (publish keys, the admin token) are masked: check output ends up in CI logs and tickets.
    process.stdout.write(`${JSON.stringify(maskConfig(config), null, 2)}\n`);
    return;
  }
  const http = config.http;
  const lines = [`${file}: ok`];
  if (http) {
    const engine = http.engine === "ferry" ? "Ferry's HTTP/1.1 engine" : "node:http";
    lines.push(
      `  http: ${http.listen.map((l) => `${l.host}:${l.port}`).join(", ")} (${engine}${http.h2c ? ", h2c" : ""})`,
    );
    for (const s of http.sites) {
      lines.push(
        `  site ${s.hosts.join(", ") || "(any host)"}${s.default ? " [default]" : ""}: ${s.locations.length} location(s)`,
      );
      for (const l of s.locations)
        if (l.kind === "proxy")
          lines.push(`    proxy ${l.path} -> ${l.to.map((u) => u.name).join(", ")} (${l.balance})`);
      for (const r of s.realtime)
        lines.push(
          `    realtime ${r.path}: ${r.channels.length} channel rule(s), publish key ${r.publishKey === null ? "generated at start" : "set"}`,
        );
    }
  }
  if (config.admin)
    lines.push(`  admin (inspector, /metrics): ${config.admin.listen.host}:${config.admin.listen.port}`);
  if (config.dns)
    lines.push(`  dns: ${config.dns.listen.map((l) => `${l.host}:${l.port}`).join(", ")}`, ...zoneLines);
  process.stdout.write(`${lines.join("\n")}\n`);
}
