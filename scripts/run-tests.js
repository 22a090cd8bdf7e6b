// Runs every compiled test file (unit tests beside the code, integration tests under test/) with node's test runner.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

function find(dir, out = []) {
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) find(p, out);
    else if (e.name.endsWith(".test.js")) out.push(p);
  }
  return out;
}

const files = [...find("dist/src"), ...find("dist/test")].sort();
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
const tap = path.join(mkdtempSync(path.join(os.tmpdir(), "ferry-tests-")), "results.tap");
const r = spawnSync(
  process.execPath,
  [
    "--test",
    // A hung test fails after a minute instead of stalling CI (the longest take ~10 s).
    "--test-timeout=60000",
    "--test-reporter=spec",
    "--test-reporter-destination=stdout",
    "--test-reporter=tap",
    `--test-reporter-destination=${tap}`,
    ...selected,
  ],
  { stdio: "inherit" },
);
// The plain closing line, from the TAP copy of the results.
const text = readFileSync(tap, "utf8");
const count = (name) => Number(new RegExp(`^# ${name} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
console.log(
  `tests: ${count("pass")} passed, ${count("fail") + count("cancelled")} failed, ${count("skipped")} skipped`,
);
process.exit(r.status ?? 1);
