// npm run bench:realtime -- --nodes 2 --broker — realtime across Ferry nodes on Redis, beside one node.
// Rows: one node (in-process broker), one node on Redis, and N nodes on Redis with the subscribers
// spread over them and every message published on the first. Each row: frames delivered per second
// (first publish to last delivery) and publish-to-delivery latency p50/p99 measured by one parsing
// probe per node (the load generator's clock; includes queueing under full load).
// Env: BENCH_SUBSCRIBERS (2000), BENCH_MESSAGES (200), BENCH_ROUNDS (3). On a 2-core machine the
// nodes, Redis and the load generator share the cores: the figures show the cost of the broker hop,
// not the scale-out a machine per node gives.
import { spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, median, realtimeConfig, requireTools, waitPort } from "./lib.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..");
const KEY = "bench-publish-key";

export async function benchNodes(nodes) {
  requireTools("bench:realtime --broker", [["redis-server", "redis-server"]]);
  const SUBSCRIBERS = Number(process.env.BENCH_SUBSCRIBERS ?? 2000);
  const MESSAGES = Number(process.env.BENCH_MESSAGES ?? 200);
  const ROUNDS = Number(process.env.BENCH_ROUNDS ?? 3);
  const work = mkdtempSync(path.join(os.tmpdir(), "ferry-bench-nodes-"));
  const redisPort = await freePort();
  const redis = spawn(
    "redis-server",
    ["--port", String(redisPort), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"],
    {
      stdio: "ignore",
    },
  );
  await waitPort(redisPort);

  async function node(broker) {
    const port = await freePort();
    const file = realtimeConfig(work, port, KEY, broker ? `redis://127.0.0.1:${redisPort}/0` : null);
    const child = spawn(process.execPath, [path.join(root, "bin/ferry.js"), "serve", "--config", file], {
      stdio: "ignore",
    });
    await waitPort(port);
    await new Promise((r) => setTimeout(r, 300)); // the broker connection
    return { port, child };
  }

  function run(ports, messages) {
    const child = spawn(
      process.execPath,
      [
        path.join(here, "realtime-load.js"),
        "nodes",
        ports.join(","),
        KEY,
        String(SUBSCRIBERS),
        String(messages),
      ],
      {
        stdio: ["ignore", "pipe", "inherit"],
      },
    );
    let out = "";
    child.stdout.on("data", (d) => (out += d));
    return new Promise((resolve, reject) =>
      child.on("exit", (code) =>
        code === 0
          ? resolve(JSON.parse(out.trim().split("\n").at(-1)))
          : reject(new Error(`load exited ${code}`)),
      ),
    );
  }

  const rows = [
    ["1 node, in-process broker", 1, false],
    ["1 node on Redis", 1, true],
    [`${nodes} nodes on Redis`, nodes, true],
  ];
  console.log(
    `bench:realtime --nodes ${nodes} --broker — ${SUBSCRIBERS} subscribers × ${MESSAGES} messages, ${ROUNDS} rounds, not pinned`,
  );
  const results = {};
  for (const [name, n, broker] of rows) {
    const started = [];
    for (let i = 0; i < n; i++) started.push(await node(broker));
    const ports = started.map((s) => s.port);
    try {
      await run(ports, 20); // warm-up
      const rounds = [];
      for (let r = 0; r < ROUNDS; r++) {
        const x = await run(ports, MESSAGES);
        if (x.frames !== x.expected) throw new Error(`${name}: ${x.frames} of ${x.expected} frames`);
        rounds.push(x);
        console.log(
          `  round ${r + 1} ${name.padEnd(26)} ${Math.round(x.framesPerSecond).toLocaleString("en").padStart(9)} frames/s  p50 ${x.p50.toFixed(1)} ms  p99 ${x.p99.toFixed(1)} ms`,
        );
      }
      results[name] = {
        fps: median(rounds.map((x) => x.framesPerSecond)),
        p50: median(rounds.map((x) => x.p50)),
        p99: median(rounds.map((x) => x.p99)),
      };
    } finally {
      for (const s of started) s.child.kill("SIGKILL");
    }
  }
  redis.kill("SIGKILL");
  console.log("");
  const base = results[rows[0][0]].fps;
  for (const [name] of rows) {
    const r = results[name];
    console.log(
      `${name.padEnd(26)} ${Math.round(r.fps).toLocaleString("en").padStart(9)} frames/s (${(r.fps / base).toFixed(2)}× one node)  latency p50 ${r.p50.toFixed(1)} ms  p99 ${r.p99.toFixed(1)} ms`,
    );
  }
  console.log(
    "Redis work per publish: one EVALSHA (INCR, XADD, PEXPIRE ×3, PUBLISH), and one pub/sub message to each node watching the channel.",
  );
}
