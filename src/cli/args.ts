/**
 * node's parseArgs with messages for people: an unknown flag names the
 * closest known one ("did you mean --forward?") instead of node's raw text.
 */
import { parseArgs as nodeParseArgs } from "node:util";
import { UsageError } from "../core/errors.js";

type Config = Parameters<typeof nodeParseArgs>[0] & { options: Record<string, unknown> };

/** Edit distance between two short strings (flag names). */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

/** The known flag closest to `given`, when it is close enough to be a typo. */
export function closestFlag(given: string, known: string[]): string | null {
  const bare = given.replace(/^-+/, "").split("=")[0]!;
  let best: string | null = null;
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(bare, k);
    if (d < bestD) {
      bestD = d;
      best = k;
    }
  }
  return best !== null && bestD <= Math.max(2, Math.floor(bare.length / 3)) ? best : null;
}

export function parseArgs<T extends Config>(config: T): ReturnType<typeof nodeParseArgs<T>> {
  try {
    return nodeParseArgs(config);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    if (e.code === "ERR_PARSE_ARGS_UNKNOWN_OPTION") {
      const given = /'([^']+)'/.exec(e.message)?.[1] ?? "";
      const near = closestFlag(given, Object.keys(config.options));
      throw new UsageError(`unknown flag ${given}${near ? ` (did you mean --${near}?)` : ""}`);
    }
    if (e.code === "ERR_PARSE_ARGS_INVALID_OPTION_VALUE")
      throw new UsageError(
        e.message.replace(/^Option '(-[^' ]+)[^']*' argument missing$/, "$1 needs a value"),
      );
    if (e.code === "ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL")
      throw new UsageError(`unexpected argument: ${/'([^']+)'/.exec(e.message)?.[1] ?? e.message}`);
    throw err;
  }
}
