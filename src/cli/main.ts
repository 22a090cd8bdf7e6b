/**
 * The `ferry` command line. Exit codes: 0 ok, 1 runtime failure, 2 usage or
 * config error. User mistakes print a message, never a stack trace.
 */
import { readFileSync } from "node:fs";
import { ConfigError, FerryError, UsageError } from "../core/errors.js";
import { caCommand, caHelp } from "./commands/ca.js";
import { check, checkHelp } from "./commands/check.js";
import { fetchCommand, fetchHelp } from "./commands/fetch.js";
import { lookupCommand, lookupHelp } from "./commands/lookup.js";
import { serve, serveHelp } from "./commands/serve.js";
import { wsCommand, wsHelp } from "./commands/ws.js";

const HELP = `Usage: ferry <command> [options]

Commands:
  serve [ROOT]     serve a folder, zones, or a config (HTTP, DNS)
  check            validate a config file
  lookup NAME      ask a DNS server one question (like dig)
  fetch URL        GET a URL and show the trip: DNS, connect, TLS, first byte, download
  ws URL           talk to a WebSocket (like wscat), e.g. Ferry's realtime
  ca               the local CA's root certificate (path, fingerprint, --pem)

Run 'ferry <command> --help' for a command's options.
`;

function version(): string {
  const pkg = JSON.parse(readFileSync(new URL("../../../package.json", import.meta.url), "utf8")) as {
    version: string;
  };
  return pkg.version;
}

/** Runs the CLI; resolves to an exit code (serve keeps running and resolves to -1). */
export async function main(argv: string[]): Promise<number> {
  const [command, ...args] = argv;
  try {
    if (command === undefined || command === "--help" || command === "-h" || command === "help") {
      process.stdout.write(HELP);
      return 0;
    }
    if (command === "--version" || command === "-v") {
      process.stdout.write(`${version()}\n`);
      return 0;
    }
    const wantsHelp = args.includes("--help") || args.includes("-h");
    switch (command) {
      case "serve":
        if (wantsHelp) return help(serveHelp);
        await serve(args);
        return -1;
      case "check":
        if (wantsHelp) return help(checkHelp);
        check(args);
        return 0;
      case "lookup":
        if (wantsHelp) return help(lookupHelp);
        return await lookupCommand(args);
      case "fetch":
        if (wantsHelp) return help(fetchHelp);
        return await fetchCommand(args);
      case "ws":
        if (wantsHelp) return help(wsHelp);
        return await wsCommand(args);
      case "ca":
        if (wantsHelp) return help(caHelp);
        return await caCommand(args);
      default:
        throw new UsageError(`unknown command "${command}"`);
    }
  } catch (err) {
    return report(err);
  }
}

function help(text: string): number {
  process.stdout.write(text);
  return 0;
}

function report(err: unknown): number {
  if (err instanceof ConfigError) {
    process.stderr.write(
      `ferry: invalid configuration (${err.code}):\n${err.message.replace(/^/gm, "  ")}\n`,
    );
    return 2;
  }
  if (err instanceof UsageError || (err as NodeJS.ErrnoException).code?.startsWith("ERR_PARSE_ARGS")) {
    process.stderr.write(`ferry: ${(err as Error).message}\nRun 'ferry --help' for usage.\n`);
    return 2;
  }
  if (err instanceof FerryError) {
    process.stderr.write(`ferry: ${err.message} (${err.code})\n`);
    // A zone that does not load is a config mistake (2); a listener that cannot bind is a runtime failure (1).
    return err.code === "ERR_DNS_ZONE_SYNTAX" || err.code === "ERR_DNS_ZONE_INVALID" ? 2 : 1;
  }
  process.stderr.write(`ferry: internal error: ${(err as Error)?.stack ?? String(err)}\n`);
  return 1;
}
