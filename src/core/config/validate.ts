import { createRequire } from "node:module";
import type { ErrorObject } from "ajv";
import { isSecretKey, MASK, shownValue } from "../secrets.js";
import type { KeyPath, RawProblem } from "./problems.js";
import type { UserConfig } from "./types.js";

/**
 * The schema (schema.ts) is compiled at build time into a standalone
 * validator (`config-check.cjs`, by scripts/compile-config-check.js), with
 * ajv's `useDefaults`: the schema's `default`s are written into the config as
 * it is checked, so every default lives in the schema and nowhere else (the
 * normalisers read the filled-in values; docs/config.md prints them).
 *
 * Not compiled here: ajv's code generator leaves over a thousand objects made
 * as `{[name]: 1}` behind, which fills V8's transition table of the empty
 * object and made every later `process.nextTick` about 7× slower for the
 * life of the process (scripts/compile-config-check.js says how).
 */
type Check = ((data: unknown) => data is UserConfig) & { errors?: ErrorObject[] | null };
const require = createRequire(import.meta.url);
const CHECK_MODULE = "./config-check.cjs";
let compiled: Check | null = null;
let dropTimer: NodeJS.Timeout | null = null;

/**
 * The validator, loaded on first use, kept for ten seconds after its last
 * use and then dropped: config loads are rare (start, reload) and it is
 * large. Kept for the life of the process, the compiled schema made the heap,
 * and so every later GC cycle, bigger for nothing (bench:realtime's idle
 * connections measured 2.9 KiB each with it, 1.3 KiB without).
 */
function compile(): Check {
  if (compiled === null) {
    const m = require(CHECK_MODULE) as { default?: Check } & Check;
    compiled = m.default ?? m;
  }
  if (dropTimer !== null) dropTimer.refresh();
  else {
    dropTimer = setTimeout(() => {
      compiled = null;
      dropTimer = null;
      delete require.cache[require.resolve(CHECK_MODULE)];
    }, 10_000);
    dropTimer.unref();
  }
  return compiled;
}

function pointerToPath(pointer: string): KeyPath {
  if (pointer === "") return [];
  return pointer
    .slice(1)
    .split("/")
    .map((s) => s.replace(/~1/g, "/").replace(/~0/g, "~"))
    .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
}

function describe(e: ErrorObject): { path: KeyPath; message: string } {
  const path = pointerToPath(e.instancePath);
  const parent = e.parentSchema as { expects?: string } | undefined;
  const hint = parent?.expects ? `: expected ${parent.expects}` : "";
  switch (e.keyword) {
    case "additionalProperties": {
      const key = (e.params as { additionalProperty: string }).additionalProperty;
      return { path: [...path, key], message: `unknown key "${key}"` };
    }
    case "required":
      return {
        path,
        message: `missing required key "${(e.params as { missingProperty: string }).missingProperty}"`,
      };
    case "enum":
      return {
        path,
        message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(", ")}`,
      };
    case "propertyNames":
      return {
        path,
        message: `has a key that is not allowed: "${(e.params as { propertyName: string }).propertyName}"`,
      };
    case "oneOf":
    case "pattern": {
      const key = path[path.length - 1];
      const shown = isSecretKey(key)
        ? MASK
        : JSON.stringify(typeof e.data === "string" ? shownValue(key, e.data) : e.data);
      return { path, message: `has an invalid value ${shown}${hint}` };
    }
    default:
      return { path, message: `${e.message ?? "is invalid"}${hint}` };
  }
}

/**
 * Checks a user config against the schema and fills in its defaults (in
 * place). Returns one problem per place, the most specific first (a bad
 * value inside `oneOf` is reported once).
 */
export function validateUserConfig(value: unknown): RawProblem[] {
  const check = compile();
  if (check(value)) return [];
  const errors = check.errors ?? [];
  const byPlace = new Map<string, RawProblem>();
  // propertyNames errors also report the bad name as a failing "pattern" on the key; keep the clearer one.
  for (const e of errors) {
    if (e.propertyName !== undefined && e.keyword === "pattern") continue;
    const p = describe(e);
    const key = JSON.stringify(p.path);
    const prev = byPlace.get(key);
    // Inside a oneOf the branch errors (type, minimum, pattern) are noise next to the oneOf summary.
    if (prev && e.keyword !== "oneOf") continue;
    byPlace.set(key, p);
  }
  return [...byPlace.values()];
}
