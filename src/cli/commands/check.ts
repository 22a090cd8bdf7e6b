import { parseArgs } from "node:util";
import { configFromFlags } from "../../core/config/adapters/flags.js";
import { UsageError } from "../../core/errors.js";

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
  if (values.json) {
    process.stdout.write(`${JSON.stringify(config, null, 2)}\n`);
    return;
  }
  const http = config.http;
  const lines = [`${file}: ok`];
  if (http) {
    lines.push(`  http: ${http.listen.map((l) => `${l.host}:${l.port}`).join(", ")}`);
    for (const s of http.sites) {
      lines.push(
        `  site ${s.hosts.join(", ") || "(any host)"}${s.default ? " [default]" : ""}: ${s.locations.length} location(s)`,
      );
    }
  }
  process.stdout.write(`${lines.join("\n")}\n`);
}
