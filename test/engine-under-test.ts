/**
 * Which HTTP/1.1 engine the integration tests run on. `npm test` runs the
 * HTTP suite twice: on Ferry's own engine (the default) and, with
 * FERRY_TEST_ENGINE=node, on node:http (scripts/run-tests.js). Tests build
 * configs through this `buildConfig` and spawn `ferry serve` through
 * `engineArgs`, so both engines answer the same tests.
 */
import { buildConfig as build } from "../src/core/config/load.js";

export const ENGINE: "ferry" | "node" = process.env.FERRY_TEST_ENGINE === "node" ? "node" : "ferry";

/** `buildConfig` with `http.engine` set to the engine under test (unless the test sets it). */
export function buildConfig(...args: Parameters<typeof build>): ReturnType<typeof build> {
  const [value, ...rest] = args;
  const v = value as { http?: { engine?: string } } | null;
  if (v !== null && typeof v === "object" && v.http !== undefined && v.http.engine === undefined)
    return build({ ...v, http: { ...v.http, engine: ENGINE } }, ...rest);
  return build(value, ...rest);
}

/** `ferry serve …` arguments with the engine under test (a flag beats the config file's key). */
export function engineArgs(args: string[]): string[] {
  return args[0] === "serve" && ENGINE === "node" && !args.includes("--http-engine")
    ? [...args, "--http-engine", "node"]
    : args;
}
