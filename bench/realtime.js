// npm run bench:realtime — fan-out and idle memory of Ferry's realtime layer against the same contract
// built on node:http + ws (bench/peers/ws-hub.js), side by side in one run.
// BENCH_FLOOR=1 adds two floors for the memory figure: a bare node:http upgrade and a bare net server.
//  - fan-out: SUBSCRIBERS raw-socket subscribers on one channel, MESSAGES published over keep-alive
//    HTTP; frames delivered per second from the first publish to the last delivery (median of rounds).
//  - memory: server RSS growth over IDLE subscribed connections, per connection.
// Server on core 0, load generator on core 1. Env: BENCH_SUBSCRIBERS (2000), BENCH_MESSAGES (200),
// BENCH_IDLE (10000), BENCH_ROUNDS (3).
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, median, onCore, pinned, realtimeConfig, waitPort } from "./lib.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..");
const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 2000);
const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200);
const IDLE = Number(process.env.BENCH_IDLE ?? 10_000);
const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
const KEY = "bench-publish-key";

// `--nodes N --broker`: the many-nodes run on Redis instead (bench/realtime-nodes.js).
const nodesAt = process.argv.indexOf("--nodes");
if (nodesAt >= 0 || process.argv.includes("--broker")) {
  const { benchNodes } = await import("./realtime-nodes.js");
  await benchNodes(nodesAt >= 0 ? Number(process.argv[nodesAt + 1]) : 2);
  process.exit(0);
}

const work = mkdtempSync(path.join(os.tmpdir(), "ferry-bench-rt-"));

const ferryConfig = (port) => realtimeConfig(work, port, KEY);

const servers = {
  ferry: (port) => [
    process.execPath,
    [path.join(root, "bin/ferry.js"), "serve", "--config", ferryConfig(port)],
  ],
  "node:http + ws": (port) => [process.execPath, [path.join(here, "peers/ws-hub.js"), String(port), KEY]],
};
if (process.env.BENCH_FLOOR) {
  servers["bare upgrade"] = (port) => [
    process.execPath,
    [path.join(here, "peers/bare-upgrade.js"), String(port)],
  ];
  servers["bare net"] = (port) => [process.execPath, [path.join(here, "peers/bare-net.js"), String(port)]];
}

async function startServer(name) {
  const port = await freePort();
  const [cmd, args] = onCore(0, ...servers[name](port));
  const child = spawn(cmd, args, { stdio: ["ignore", "ignore", "inherit"] });
  await waitPort(port);
  return { port, child };
}

function stop(child) {
  return new Promise((resolve) => {
    child.once("exit", resolve);
    child.kill("SIGKILL");
  });
}

function rss(pid) {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return Number(m[1]) * 1024;
}

function load(args, onLine) {
  const [cmd, a] = onCore(1, process.execPath, [path.join(here, "realtime-load.js"), ...args]);
  const child = spawn(cmd, a, { stdio: ["pipe", "pipe", "inherit"] });
  let out = "";
  child.stdout.on("data", (d) => {
    out += d;
    let nl = out.indexOf("\n");
    while (nl >= 0) {
      onLine?.(JSON.parse(out.slice(0, nl)), child);
      out = out.slice(nl + 1);
      nl = out.indexOf("\n");
    }
  });
  return new Promise((resolve, reject) => {
    child.on("exit", (code) => (code === 0 ? resolve() : reject(new Error(`load generator exited ${code}`))));
  });
}

async function fanout(name, messages) {
  const { port, child } = await startServer(name);
  let result;
  try {
    await load(["fanout", String(port), KEY, String(SUBSCRIBERS), String(messages)], (r) => (result = r));
  } finally {
    await stop(child);
  }
  if (result.frames !== result.expected)
    throw new Error(`${name}: ${result.frames} of ${result.expected} frames`);
  return result.framesPerSecond;
}

async function idleMemory(name, warm = false) {
  const { port, child } = await startServer(name);
  try {
    // Warm up: one small fan-out so both servers have compiled their paths.
    await load(["fanout", String(port), KEY, "100", "20"]);
    if (warm) {
      // …and one full round of connections opened and closed, so one-time heap growth is not counted.
      await load(["idle", String(port), String(IDLE)], (_line, gen) => gen.stdin.end());
      await new Promise((r) => setTimeout(r, 2000));
    }
    await new Promise((r) => setTimeout(r, 1000));
    const before = rss(child.pid);
    let after = 0;
    await load(["idle", String(port), String(IDLE)], async (_line, gen) => {
      await new Promise((r) => setTimeout(r, 2000));
      after = rss(child.pid);
      gen.stdin.end();
    });
    return (after - before) / IDLE;
  } finally {
    await stop(child);
  }
}

console.log(
  `bench:realtime — ${SUBSCRIBERS} subscribers × ${MESSAGES} messages, ${ROUNDS} rounds; idle memory over ${IDLE} connections` +
    (pinned ? "; server on core 0, load on core 1" : "; not pinned (no taskset or one core)"),
);
const names = Object.keys(servers);
const fps = Object.fromEntries(names.map((n) => [n, []]));
if (process.env.BENCH_MEMORY_ONLY) {
  for (const n of names)
    console.log(
      `${n}: ${((await idleMemory(n)) / 1024).toFixed(2)} KiB/conn cold, ${((await idleMemory(n, true)) / 1024).toFixed(2)} KiB/conn warm`,
    );
  process.exit(0);
}
for (const n of names) await fanout(n, 20); // warm-up
for (let r = 0; r < ROUNDS; r++) {
  for (const n of r % 2 ? [...names].reverse() : names) {
    const v = await fanout(n, MESSAGES);
    fps[n].push(v);
    console.log(`  round ${r + 1} ${n.padEnd(16)} ${Math.round(v).toLocaleString("en")} frames/s`);
  }
}
// Memory, two ways: "cold" is RSS growth over the first 10,000 connections a fresh server sees (it
// includes one-time heap growth); "warm" is the same after one round of 10,000 connections opened and
// closed, i.e. what each further connection costs in steady state.
const cold = {};
const warm = {};
for (const n of names) {
  cold[n] = await idleMemory(n);
  warm[n] = await idleMemory(n, true);
}
const kib = (v) => `${(v / 1024).toFixed(2).padStart(5)} KiB`;
const row = (n) =>
  `${n.padEnd(16)} ${Math.round(median(fps[n])).toLocaleString("en").padStart(10)} frames/s   ${kib(cold[n])} cold  ${kib(warm[n])} warm per connection`;
console.log("");
for (const n of names) console.log(row(n));
const peer = "node:http + ws";
const f = median(fps.ferry) / median(fps[peer]);
console.log(
  `\nFerry / (node:http + ws): ${f.toFixed(2)}× frames/s (target ≥ 2.5×); memory per connection ` +
    `${(warm.ferry / warm[peer]).toFixed(2)}× warm, ${(cold.ferry / cold[peer]).toFixed(2)}× cold (target ≤ 0.6×)`,
);
