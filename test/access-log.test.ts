/**
 * The access log as a user runs it: nothing lost when Ferry is stopped under
 * load (every answered request has its line), SIGUSR1 reopens the file after
 * logrotate moved it (nginx's convention), and a log that cannot be written
 * (a full disk: /dev/full) is an error line, never a crash.
 */
import assert from "node:assert/strict";
import { once } from "node:events";
import { readFileSync, renameSync, writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { test } from "node:test";
import { spawnFerry, tmpSite, waitFor } from "./helpers.js";

function config(dir: string, output: string): string {
  const file = path.join(dir, "ferry.yaml");
  writeFileSync(
    file,
    `http:\n  listen: ["127.0.0.1:0"]\n  sites: [{ root: . }]\nlog:\n  access: { format: combined, output: ${JSON.stringify(output)} }\n`,
  );
  return file;
}

function lines(file: string): string[] {
  return readFileSync(file, "utf8").split("\n").filter(Boolean);
}

test("SIGTERM under load: every answered request has its line", async () => {
  const dir = tmpSite({ "index.html": "x".repeat(512) });
  const log = path.join(dir, "logs", "access.log");
  const f = await spawnFerry(
    ["serve", "--config", config(dir, log)],
    [/serving http:\/\/127\.0\.0\.1:(\d+)\//],
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 8 });
  let answered = 0;
  let stopped = false;
  const loop = async () => {
    while (!stopped) {
      const ok = await new Promise<boolean>((resolve) => {
        http
          .get({ host: "127.0.0.1", port: Number(f.found[0]), path: "/index.html", agent }, (res) => {
            res.resume();
            res.on("end", () => resolve(res.statusCode === 200));
          })
          .on("error", () => resolve(false));
      });
      if (ok) answered++;
      else return;
    }
  };
  const loops = Array.from({ length: 8 }, loop);
  await waitFor(() => answered >= 3000, "3000 answered requests", 20_000);
  f.child.kill("SIGTERM");
  const [code] = await once(f.child, "exit");
  stopped = true;
  await Promise.all(loops);
  agent.destroy();
  assert.equal(code, 0);
  const n = lines(log).length;
  assert.ok(n >= answered && n <= answered + 8, `${n} lines for ${answered} answered requests`);
  assert.match(lines(log)[0]!, /^127\.0\.0\.1 - - \[.+\] "GET \/index\.html HTTP\/1\.1" 200 512 "-" "-"$/);
});

test("SIGUSR1 reopens the access log after logrotate moved it", async () => {
  const dir = tmpSite({ "index.html": "x" });
  const log = path.join(dir, "access.log");
  const f = await spawnFerry(
    ["serve", "--config", config(dir, log)],
    [/serving http:\/\/127\.0\.0\.1:(\d+)\//],
  );
  try {
    const get = (p: string) => fetch(`http://127.0.0.1:${f.found[0]}${p}`).then((r) => r.text());
    await get("/?before");
    renameSync(log, `${log}.1`);
    await get("/?moved");
    f.child.kill("SIGUSR1");
    await waitFor(() => /reopening the access log/.test(f.stderr()), "the reopen");
    await get("/?after");
    f.child.kill("SIGTERM");
    await once(f.child, "exit");
    assert.deepEqual(
      lines(`${log}.1`).map((l) => /GET (\S+)/.exec(l)![1]),
      ["/?before", "/?moved"],
      "lines of before the reopen stay in the moved file",
    );
    assert.deepEqual(
      lines(log).map((l) => /GET (\S+)/.exec(l)![1]),
      ["/?after"],
    );
  } finally {
    f.child.kill("SIGKILL");
  }
});

test("a full disk (/dev/full): ERR_ACCESS_LOG_WRITE is logged, requests keep being answered", async () => {
  const dir = tmpSite({ "index.html": "still serving" });
  const f = await spawnFerry(
    ["serve", "--config", config(dir, "/dev/full")],
    [/serving http:\/\/127\.0\.0\.1:(\d+)\//],
  );
  try {
    for (let i = 0; i < 20; i++) {
      const body = await fetch(`http://127.0.0.1:${f.found[0]}/`).then((r) => r.text());
      assert.equal(body, "still serving");
    }
    await waitFor(() => /"code":"ERR_ACCESS_LOG_WRITE"/.test(f.stderr()), "the write error", 5000);
    assert.match(f.stderr(), /ENOSPC/);
    assert.equal(f.child.exitCode, null, "Ferry is still running");
  } finally {
    f.child.kill("SIGKILL");
  }
});
