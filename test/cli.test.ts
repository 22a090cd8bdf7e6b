import assert from "node:assert/strict";
import { type ChildProcess, spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { after, test } from "node:test";
import { fileURLToPath } from "node:url";
import { get, spawnFerry, tmpSite, waitFor } from "./helpers.js";

const bin = fileURLToPath(new URL("../../bin/ferry.js", import.meta.url));
const children: ChildProcess[] = [];
after(() => {
  for (const c of children) c.kill("SIGKILL");
});

function run(args: string[], cwd = process.cwd()) {
  const r = spawnSync(process.execPath, [bin, ...args], { cwd, encoding: "utf8" });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

/** Starts `ferry serve`, resolves with its port once it prints the banner. */
async function serve(
  args: string[],
  cwd = process.cwd(),
): Promise<{ child: ChildProcess; port: number; stderr: () => string; stdout: () => string }> {
  const f = await spawnFerry(["serve", ...args], [/Ferry serving http:\/\/[^:]+:(\d+)\//], cwd);
  children.push(f.child);
  return { child: f.child, port: Number(f.found[0]), stderr: f.stderr, stdout: f.stdout };
}

const exited = (c: ChildProcess) => new Promise<number | null>((r) => c.once("exit", (code) => r(code)));

test("--help and --version", () => {
  const h = run(["--help"]);
  assert.equal(h.code, 0);
  assert.match(h.stdout, /ferry <command>/);
  assert.match(run(["serve", "--help"]).stdout, /--http HOST:PORT/);
  assert.match(run(["--version"]).stdout, /^\d+\.\d+\.\d+/);
});

test("usage errors exit 2 without a stack trace", () => {
  for (const args of [
    ["nope"],
    ["serve", "--bogus"],
    ["serve", "a", "b"],
    ["check"],
    ["serve", "--access-log", "xml"],
  ]) {
    const r = run(args);
    assert.equal(r.code, 2, args.join(" "));
    assert.match(r.stderr, /^ferry: /);
    assert.doesNotMatch(r.stderr, /\n\s+at /, r.stderr);
  }
});

test("check: ok, and problems with file:line:column and key (exit 2)", () => {
  const dir = tmpSite({ "www/index.html": "x" });
  writeFileSync(path.join(dir, "good.yaml"), "http:\n  sites:\n    - hosts: [a.test]\n      root: www\n");
  writeFileSync(path.join(dir, "bad.yaml"), "http:\n  sites:\n    - root: www\n      listng: true\n");
  const ok = run(["check", "--config", "good.yaml"], dir);
  assert.equal(ok.code, 0);
  assert.match(ok.stdout, /good\.yaml: ok/);
  assert.match(ok.stdout, /site a\.test/);
  const bad = run(["check", "--config", "bad.yaml"], dir);
  assert.equal(bad.code, 2);
  assert.match(bad.stderr, /bad\.yaml:4:7: http\.sites\[0\]\.listng: unknown key "listng"/);
  assert.doesNotMatch(bad.stderr, /\n\s+at /);
  const json = run(["check", "--config", "good.yaml", "--json"], dir);
  assert.equal(JSON.parse(json.stdout).http.sites[0].hosts[0], "a.test");
});

test("check names realtime endpoints and the admin listener", () => {
  const dir = tmpSite({ "www/index.html": "x" });
  writeFileSync(
    path.join(dir, "rt.yaml"),
    'http:\n  sites:\n    - root: www\n      realtime:\n        - path: /ws\nadmin:\n  listen: "127.0.0.1:9099"\n',
  );
  const r = run(["check", "--config", "rt.yaml"], dir);
  assert.equal(r.code, 0, r.stderr);
  assert.match(r.stdout, /realtime \/ws: 1 channel rule\(s\), publish key generated at start/);
  assert.match(r.stdout, /admin \(inspector, \/metrics\): 127\.0\.0\.1:9099/);
});

test("serve on an address in use exits 1 with ERR_LISTEN", async () => {
  const blocker = net.createServer().listen(0, "127.0.0.1");
  await new Promise((r) => blocker.once("listening", r));
  const port = (blocker.address() as net.AddressInfo).port;
  try {
    const r = run(["serve", ".", "--http", `127.0.0.1:${port}`]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /address already in use \(ERR_LISTEN\)/);
  } finally {
    blocker.close();
  }
});

test("serve ROOT with flags; access log as JSON on stdout", async () => {
  const dir = tmpSite({ "index.html": "flag root" });
  const s = await serve([dir, "--http", "127.0.0.1:0"]);
  const r = await get(s.port, "/", { "User-Agent": "ferry-test" });
  assert.equal(r.body.toString(), "flag root");
  s.child.kill("SIGTERM");
  assert.equal(await exited(s.child), 0);
  const line = JSON.parse(s.stdout().trim().split("\n")[0]!);
  assert.equal(line.status, 200);
  assert.equal(line.uri, "/");
  assert.equal(line.user_agent, "ferry-test");
  assert.equal(line.site, "default");
});

test("access log in combined format to a file", async () => {
  const dir = tmpSite({ "www/a.txt": "aaa" });
  writeFileSync(
    path.join(dir, "ferry.yaml"),
    `http:\n  listen: ["127.0.0.1:0"]\n  sites: [{ root: www }]\nlog:\n  access: { format: combined, output: logs/access.log }\n`,
  );
  const s = await serve(["--config", "ferry.yaml"], dir);
  await get(s.port, "/a.txt", { Referer: "http://ref.test/", "User-Agent": 'agent "quoted"' });
  s.child.kill("SIGTERM");
  assert.equal(await exited(s.child), 0);
  const text = readFileSync(path.join(dir, "logs/access.log"), "utf8");
  assert.match(
    text,
    /^127\.0\.0\.1 - - \[\d\d\/\w{3}\/\d{4}:\d\d:\d\d:\d\d \+0000\] "GET \/a\.txt HTTP\/1\.1" 200 3 "http:\/\/ref\.test\/" "agent \\"quoted\\""\n$/,
  );
});

test("SIGHUP reloads the config; a bad config is refused and the old one keeps serving", async () => {
  const dir = tmpSite({ "one/index.html": "one", "two/index.html": "two" });
  const cfg = path.join(dir, "ferry.yaml");
  writeFileSync(cfg, `http:\n  listen: ["127.0.0.1:0"]\n  sites: [{ root: one }]\nlog: { access: false }\n`);
  const s = await serve(["--config", cfg], dir);
  assert.equal((await get(s.port, "/")).body.toString(), "one");
  writeFileSync(cfg, `http:\n  listen: ["127.0.0.1:0"]\n  sites: [{ root: two }]\nlog: { access: false }\n`);
  s.child.kill("SIGHUP");
  await waitFor(() => /configuration reloaded/.test(s.stderr()), "the reload");
  assert.equal((await get(s.port, "/")).body.toString(), "two");
  writeFileSync(cfg, `http:\n  sites: [{ root: missing-folder }]\n`);
  s.child.kill("SIGHUP");
  await waitFor(() => /ERR_RELOAD/.test(s.stderr()), "the refused reload");
  assert.equal((await get(s.port, "/")).body.toString(), "two");
  assert.match(s.stderr(), /"code":"ERR_RELOAD"/);
  assert.match(
    s.stderr(),
    /ferry\.yaml:2:\d+: http\.sites\[0\]\.root: folder .*missing-folder does not exist/,
  );
  s.child.kill("SIGTERM");
  assert.equal(await exited(s.child), 0);
});

test("SIGTERM lets an in-flight download finish, refuses new connections, exits 0", async () => {
  const size = 8 * 1024 * 1024;
  const dir = tmpSite({ "big.bin": Buffer.alloc(size, 7) });
  const s = await serve([dir, "--http", "127.0.0.1:0", "--access-log", "off"]);
  const sock = net.connect(s.port, "127.0.0.1");
  let got = 0;
  sock.on("data", (c: Buffer) => {
    got += c.length;
    // Read slowly so the download is still running when the signal arrives.
    sock.pause();
    setTimeout(() => sock.resume(), 5);
  });
  await new Promise((r) => sock.once("connect", r));
  sock.write("GET /big.bin HTTP/1.1\r\nHost: x\r\n\r\n");
  await new Promise((r) => setTimeout(r, 150));
  s.child.kill("SIGTERM");
  await new Promise((r) => setTimeout(r, 150));
  const refused = await new Promise<boolean>((resolve) => {
    const c = net.connect(s.port, "127.0.0.1");
    c.on("error", () => resolve(true));
    c.on("connect", () => {
      c.destroy();
      resolve(false);
    });
  });
  assert.ok(refused, "a new connection was accepted while stopping");
  const code = await exited(s.child);
  assert.equal(code, 0);
  await new Promise((r) => setTimeout(r, 50));
  assert.ok(got > size, `download cut short at ${got} of ${size}`);
  sock.destroy();
});

test("requests refused by the listener limits are logged with their stable codes", async () => {
  const dir = tmpSite({ "index.html": "x" });
  const s = await serve([dir, "--http", "127.0.0.1:0", "--log-level", "debug", "--access-log", "off"]);
  const { rawExchange } = await import("./helpers.js");
  await rawExchange(s.port, "POST / HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999\r\n\r\n", {
    waitClose: true,
  });
  await rawExchange(s.port, "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", { waitClose: true });
  s.child.kill("SIGTERM");
  assert.equal(await exited(s.child), 0);
  assert.match(s.stderr(), /"code":"ERR_HTTP_BODY_TOO_LARGE","status":413/);
  assert.match(s.stderr(), /"code":"ERR_HTTP_BAD_REQUEST","status":400/);
});
