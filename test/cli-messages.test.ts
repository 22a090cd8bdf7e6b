/**
 * What users are told (issue 9): typos in flags get a "did you mean", flags
 * that would be ignored say so, config problems come in file order, a DNS
 * server that is not there fails at once, and a reload that cannot apply a
 * change says it.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { RRType } from "../src/dns/wire/constants.js";
import { spawnFerry } from "./helpers.js";
import { ask, query, summary } from "./knot.js";

const bin = new URL("../../bin/ferry.js", import.meta.url).pathname;

function run(args: string[]) {
  const r = spawnSync(process.execPath, [bin, ...args], { encoding: "utf8", timeout: 10_000 });
  return { code: r.status, out: r.stdout + r.stderr };
}

const usage: [string[], RegExp][] = [
  [["serve", "--foward", "127.0.0.1"], /unknown flag --foward \(did you mean --forward\?\)/],
  [["serve", "--acess-log", "off"], /unknown flag --acess-log \(did you mean --access-log\?\)/],
  [["lookup", "x.test", "--sever", "127.0.0.1:53"], /unknown flag --sever \(did you mean --server\?\)/],
  [["fetch", "http://x/", "--dsn", "127.0.0.1:53"], /unknown flag --dsn \(did you mean --dns\?\)/],
  [["serve", "--zzzzzzzz"], /unknown flag --zzzzzzzz\n/],
  [["serve", "--http"], /--http needs a value/],
  [["serve", "--realtime", "ws"], /--realtime takes a path that starts with \/, e.g. \/ws/],
  [["serve", "--publish-key", "k-123"], /--publish-key needs --realtime PATH/],
  [["serve", "--broker", "redis://127.0.0.1:6379/0"], /--broker needs --realtime PATH/],
];
for (const [args, message] of usage) {
  test(`ferry ${args.join(" ")}: exit 2, ${message.source}`, () => {
    const r = run(args);
    assert.equal(r.code, 2);
    assert.match(r.out, message);
    assert.doesNotMatch(r.out, /ERR_PARSE_ARGS|\n\s+at /, "node's raw text or a stack trace");
  });
}

test("config problems are listed in file order", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-msg-"));
  const file = path.join(dir, "ferry.yaml");
  writeFileSync(
    file,
    'http:\n  sites:\n    - root: .\n      listng: true\n  listen: ["nonsense"]\ndns:\n  tcpMaxConnections: 0\n',
  );
  const r = run(["check", "--config", file]);
  assert.equal(r.code, 2);
  const lines = [...r.out.matchAll(/ferry\.yaml:(\d+):\d+:/g)].map((m) => Number(m[1]));
  assert.deepEqual(lines, [4, 5, 7]);
});

test("ferry fetch --dns to a port where nothing listens fails at once (ICMP unreachable), not after 10 s", () => {
  const t0 = Date.now();
  const r = run(["fetch", "http://www.example.test:8080/", "--dns", "127.0.0.1:9"]);
  assert.equal(r.code, 1);
  assert.match(r.out, /nothing answers DNS on 127\.0\.0\.1:9/);
  assert.ok(Date.now() - t0 < 3000, `took ${Date.now() - t0} ms`);
});

test("SIGHUP with a changed dns.listen says it needs a restart, and keeps answering", async () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-msg-"));
  const file = path.join(dir, "ferry.yaml");
  const zone =
    "  zones:\n    - origin: hup.test\n      records: |\n        @ 300 SOA ns h 1 2h 1h 2w 5m\n        @ 300 NS ns\n        ns 300 A 127.0.0.1\n";
  writeFileSync(file, `dns:\n  listen: ["127.0.0.1:0"]\n${zone}`);
  const f = await spawnFerry(["serve", "--config", file], [/answering DNS on 127\.0\.0\.1:(\d+)/]);
  try {
    writeFileSync(file, `dns:\n  listen: ["127.0.0.1:0", "127.0.0.2:0"]\n${zone}`);
    f.child.kill("SIGHUP");
    const deadline = Date.now() + 5000;
    while (!/dns\.listen changed/.test(f.stderr()) && Date.now() < deadline)
      await new Promise((r) => setTimeout(r, 50));
    assert.match(f.stderr(), /dns\.listen changed: restart Ferry to apply it/);
    // The old address still answers.
    const answer = await ask(Number(f.found[0]), query("ns.hup.test", RRType.A), false, 2000);
    assert.ok(answer, "no answer after the reload");
    assert.equal(summary(answer).answer.length, 1);
  } finally {
    f.child.kill("SIGKILL");
  }
});
