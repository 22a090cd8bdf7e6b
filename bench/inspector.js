// node bench/inspector.js — what the inspector costs: wrk against Ferry serving a 1 KiB file
// (64 connections) in three modes, side by side in one run:
//   off      no admin listener;
//   closed   admin listener on, nobody watching (rings, series and metrics are fed);
//   open     an inspector client connected to the live feed (frames recorded, rows pushed).
// Server on core 0, wrk and the inspector client on core 1. Env: BENCH_DURATION (5), BENCH_ROUNDS (3).
import { execFileSync, spawn } from "node:child_process";
import { mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, has, median, onCore, pinned, waitPort } from "./lib.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..");
const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
if (!has("wrk")) {
  console.error("bench/inspector.js needs wrk: apt-get install wrk");
  process.exit(2);
}
const work = mkdtempSync(path.join(os.tmpdir(), "ferry-bench-inspector-"));
writeFileSync(path.join(work, "1k.txt"), Buffer.alloc(1024, "f"));

async function start(mode) {
  const port = await freePort();
  const adminPort = await freePort();
  const file = path.join(work, `${mode}.yaml`);
  writeFileSync(
    file,
    `http:\n  listen: ["127.0.0.1:${port}"]\n  sites:\n    - root: ${JSON.stringify(work)}\n` +
      (mode === "off" ? "" : `admin:\n  listen: "127.0.0.1:${adminPort}"\n`) +
      "log: { level: warn, access: false }\n",
  );
  const [cmd, args] = onCore(0, process.execPath, [
    path.join(root, "bin/ferry.js"),
    "serve",
    "--config",
    file,
  ]);
  const server = spawn(cmd, args, { stdio: ["ignore", "ignore", "ignore"] });
  await waitPort(port);
  let client = null;
  if (mode === "open") {
    await waitPort(adminPort);
    // A live inspector: subscribed to the rows and the series, reading everything.
    const script =
      `const { default: WebSocket } = await import(${JSON.stringify(path.join(root, "node_modules/ws/wrapper.mjs"))});` +
      `const ws = new WebSocket("ws://127.0.0.1:${adminPort}/live?subscribe=events,series");` +
      "let n = 0; ws.on('message', () => n++); process.stdin.on('end', () => { console.log(n); process.exit(0); }); process.stdin.resume();";
    const [c2, a2] = onCore(1, process.execPath, ["--input-type=module", "-e", script]);
    client = spawn(c2, a2, { stdio: ["pipe", "pipe", "inherit"] });
    await new Promise((r) => setTimeout(r, 500));
  }
  return { port, server, client };
}

function wrk(port) {
  const [cmd, args] = onCore(1, "wrk", ["-t1", "-c64", `-d${duration}s`, `http://127.0.0.1:${port}/1k.txt`]);
  return Number(/Requests\/sec:\s+([\d.]+)/.exec(execFileSync(cmd, args, { encoding: "utf8" }))?.[1] ?? 0);
}

console.log(
  `inspector cost — wrk 1 KiB, 64 connections, ${rounds} rounds of ${duration}s${pinned ? ", server on core 0, load on core 1" : ""}`,
);
const modes = ["off", "closed", "open"];
const results = { off: [], closed: [], open: [] };
for (let r = 0; r < rounds; r++) {
  for (const mode of r % 2 ? [...modes].reverse() : modes) {
    const { port, server, client } = await start(mode);
    execFileSync("wrk", ["-t1", "-c16", "-d1s", `http://127.0.0.1:${port}/1k.txt`]);
    const rps = wrk(port);
    let pushed = "";
    if (client) {
      client.stdin.end();
      pushed = ` (inspector got ${String(await new Promise((res) => client.stdout.once("data", (d) => res(d)))).trim()} live messages)`;
    }
    server.kill("SIGKILL");
    results[mode].push(rps);
    console.log(`  round ${r + 1} ${mode.padEnd(7)} ${Math.round(rps).toLocaleString("en")} req/s${pushed}`);
  }
}
const m = Object.fromEntries(modes.map((k) => [k, median(results[k])]));
console.log("");
for (const k of modes)
  console.log(
    `${k.padEnd(7)} ${Math.round(m[k]).toLocaleString("en").padStart(8)} req/s  ${(m[k] / m.off).toFixed(2)}× of off`,
  );
