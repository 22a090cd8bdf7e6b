// Runs every compiled test file (unit tests beside the code, integration tests under test/) with node's
// test runner; then the HTTP suite once more on the node:http engine (FERRY_TEST_ENGINE=node), so both
// engines answer the same tests (test/engine-under-test.ts).
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

/** The integration tests that serve HTTP: run on both engines. */
const HTTP_SUITE =
  /test\/(http-|h1-engine|curl|proxy|access-log|fetch|tls\.|h2|ws-|realtime-|dns-doh|admin-security|market-browser)/;

const files = [...find("dist/src"), ...find("dist/test")].sort();
const only = process.argv.slice(2);
const selected = only.length ? files.filter((f) => only.some((o) => f.includes(o))) : files;
const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-tests-"));

function run(name, list, env) {
  const tap = path.join(dir, `${name}.tap`);
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
      ...list,
    ],
    { stdio: "inherit", env: { ...process.env, ...env } },
  );
  const text = readFileSync(tap, "utf8");
  const count = (n) => Number(new RegExp(`^# ${n} (\\d+)$`, "m").exec(text)?.[1] ?? 0);
  return {
    status: r.status ?? 1,
    pass: count("pass"),
    fail: count("fail") + count("cancelled"),
    skipped: count("skipped"),
  };
}

const results = [run("all", selected, { FERRY_TEST_ENGINE: "ferry" })];
const again = selected.filter((f) => HTTP_SUITE.test(f.split(path.sep).join("/")));
if (again.length > 0 && process.env.FERRY_TEST_ENGINE === undefined) {
  console.log(`\n# the HTTP suite again on the node:http engine (${again.length} files)\n`);
  results.push(run("node-engine", again, { FERRY_TEST_ENGINE: "node" }));
}
const sum = (k) => results.reduce((n, r) => n + r[k], 0);
console.log(`tests: ${sum("pass")} passed, ${sum("fail")} failed, ${sum("skipped")} skipped`);
process.exit(results.some((r) => r.status !== 0) ? 1 : 0);
