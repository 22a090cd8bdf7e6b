// npm run bench:http — wrk against Ferry and its peers serving the same folder, side by side in one run.
// Ferry rows: `ferry-default` as `ferry serve` runs with no flags (Ferry's own HTTP/1.1 engine, JSON
// access log to stdout, here a file), `ferry-combined` (the combined format to a file), `ferry` with the
// access log off, and `ferry-node-default` / `ferry-node` the same on the node:http engine. nginx
// runs with its log off, and as `nginx-log` with the combined format to a file (its default, unbuffered).
// Peers: nginx (Debian nginx-light, one worker, sendfile and open_file_cache on), sirv, @fastify/static,
// bare node:http (a ceiling for any node:http server) and raw-net (node:net answering a prepared
// reply without parsing: the ceiling for any server in JavaScript on one core). Rounds alternate the order; medians are reported.
// Env: BENCH_DURATION (seconds per run, default 5), BENCH_ROUNDS (default 3).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, openSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, has, median, nginxConfig, onCore, pinned, waitPort } from "./lib.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..");
const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
// On a machine with two or more cores every server gets core 0 and wrk core 1, so the two never
// share a core (unpinned, the scheduler sometimes stacks them and runs differ by 2×).

for (const tool of ["wrk", "nginx"]) {
  if (!has(tool)) {
    console.error(`bench:http needs ${tool}: apt-get install ${tool === "nginx" ? "nginx-light" : tool}`);
    process.exit(2);
  }
}

const work = mkdtempSync(path.join(os.tmpdir(), "ferry-bench-"));
chmodSync(work, 0o755);
const site = path.join(work, "site");
mkdirSync(site);
const fill = (n) => Buffer.from("Ferry benchmark payload. ".repeat(Math.ceil(n / 25)).slice(0, n));
writeFileSync(path.join(site, "1k.txt"), fill(1024));
writeFileSync(path.join(site, "100k.txt"), fill(100 * 1024));

/** nginx serving the folder; `log`: its access log in the combined format to a file (nginx's default, unbuffered). */
function nginxConf(port, log = false) {
  const name = log ? "nginx-log" : "nginx";
  return nginxConfig(
    work,
    name,
    `  sendfile on;
  tcp_nopush on;
  open_file_cache max=1000 inactive=60s;
  open_file_cache_valid 60s;
  server { listen 127.0.0.1:${port}; root ${site}; etag on;${log ? ` access_log ${work}/${name}-access.log combined;` : ""} }`,
  );
}

const servers = [
  {
    // What a user gets from `ferry serve ./site`: the access log on (JSON lines to stdout, here a file).
    name: "ferry-default",
    stdout: () => openSync(path.join(work, "ferry-access.log"), "a"),
    start: (p) => [
      process.execPath,
      [path.join(root, "bin/ferry.js"), "serve", site, "--http", `127.0.0.1:${p}`],
    ],
  },
  {
    name: "ferry",
    start: (p) => [
      process.execPath,
      [
        path.join(root, "bin/ferry.js"),
        "serve",
        site,
        "--http",
        `127.0.0.1:${p}`,
        "--access-log",
        "off",
        "--log-level",
        "warn",
      ],
    ],
  },
  {
    // The combined format to a file, as nginx's row with its log on.
    name: "ferry-combined",
    stdout: () => openSync(path.join(work, "ferry-combined.log"), "a"),
    start: (p) => [
      process.execPath,
      [
        path.join(root, "bin/ferry.js"),
        "serve",
        site,
        "--http",
        `127.0.0.1:${p}`,
        "--access-log",
        "combined",
      ],
    ],
  },
  {
    // The same as `ferry-default`, on the node:http engine (http.engine: node).
    name: "ferry-node-default",
    stdout: () => openSync(path.join(work, "ferry-node-access.log"), "a"),
    start: (p) => [
      process.execPath,
      [path.join(root, "bin/ferry.js"), "serve", site, "--http", `127.0.0.1:${p}`, "--http-engine", "node"],
    ],
  },
  {
    name: "ferry-node",
    start: (p) => [
      process.execPath,
      [
        path.join(root, "bin/ferry.js"),
        "serve",
        site,
        "--http",
        `127.0.0.1:${p}`,
        "--access-log",
        "off",
        "--log-level",
        "warn",
        "--http-engine",
        "node",
      ],
    ],
  },
  {
    name: "nginx",
    start: (p) => [
      spawnSync("sh", ["-c", "command -v nginx"]).stdout.toString().trim() || "/usr/sbin/nginx",
      ["-c", nginxConf(p)],
    ],
  },
  {
    name: "nginx-log",
    start: (p) => [
      spawnSync("sh", ["-c", "command -v nginx"]).stdout.toString().trim() || "/usr/sbin/nginx",
      ["-c", nginxConf(p, true)],
    ],
  },
  {
    name: "sirv",
    start: (p) => [process.execPath, [path.join(here, "peers/sirv-server.js"), site, String(p)]],
  },
  {
    name: "fastify-static",
    start: (p) => [process.execPath, [path.join(here, "peers/fastify-static.js"), site, String(p)]],
  },
  {
    name: "raw-net",
    start: (p) => [process.execPath, [path.join(here, "peers/raw-net-http.js"), site, String(p)]],
  },
  {
    name: "bare-node-http",
    start: (p) => [process.execPath, [path.join(here, "peers/bare-node.js"), site, String(p)]],
  },
];

const cases = [
  { file: "1k.txt", conns: 64 },
  { file: "100k.txt", conns: 16 },
];

function wrk(port, file, conns) {
  const [cmd, args] = onCore(1, "wrk", [
    "-t1",
    `-c${conns}`,
    `-d${duration}s`,
    "--latency",
    `http://127.0.0.1:${port}/${file}`,
  ]);
  const out = execFileSync(cmd, args, { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  if (errors) throw new Error(`${port}/${file}: ${errors} error responses`);
  return rps;
}

// `--workers N`: the cluster run. Ferry with 1 and N workers (default config and log off) beside nginx
// with 1 and N worker processes, none of them pinned (the workers need every core; wrk stays on core 1,
// so on a 2-core machine it shares a core with one worker: read the gain as a floor).
const workersAt = process.argv.indexOf("--workers");
const WORKERS = workersAt >= 0 ? Number(process.argv[workersAt + 1]) : 0;
if (WORKERS > 1) {
  const keep = new Set(["ferry-default", "ferry", "nginx"]);
  const base = servers.filter((s) => keep.has(s.name));
  const more = base.map((s) => ({
    ...s,
    name: `${s.name} ×${WORKERS}`,
    cluster: true,
    start: s.name.startsWith("nginx")
      ? (p) => {
          const [cmd, args] = s.start(p);
          const conf = args[args.indexOf("-c") + 1];
          writeFileSync(
            conf,
            readFileSync(conf, "utf8").replace("worker_processes 1;", `worker_processes ${WORKERS};`),
          );
          return [cmd, args];
        }
      : (p) => {
          const [cmd, args] = s.start(p);
          return [cmd, [...args, "--workers", String(WORKERS)]];
        },
  }));
  servers.length = 0;
  for (const s of base)
    servers.push(
      { ...s, cluster: true },
      more.find((m) => m.name === `${s.name} ×${WORKERS}`),
    );
}

// `--only a,b`: just those rows (a quick look while working; the summaries print what they can).
const onlyAt = process.argv.indexOf("--only");
if (onlyAt >= 0) {
  const keep = new Set(process.argv[onlyAt + 1].split(","));
  const kept = servers.filter((s) => keep.has(s.name));
  servers.length = 0;
  servers.push(...kept);
}

const results = {};
const running = [];
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

console.log(
  `bench:http — ${os.cpus().length} cores, ${rounds} rounds of ${duration}s per server and case (wrk -t1)${pinned ? ", server on core 0, wrk on core 1" : ""}`,
);
for (const s of servers) {
  s.port = await freePort();
  const [cmd, args] = s.cluster ? s.start(s.port) : onCore(0, ...s.start(s.port));
  const child = spawn(cmd, args, { stdio: ["ignore", s.stdout ? s.stdout() : "ignore", "inherit"] });
  running.push(child);
  await waitPort(s.port);
  // Warm up (fills caches, JIT).
  execFileSync("wrk", ["-t1", "-c16", "-d1s", `http://127.0.0.1:${s.port}/1k.txt`]);
  execFileSync("wrk", ["-t1", "-c16", "-d1s", `http://127.0.0.1:${s.port}/100k.txt`]);
}

for (let r = 0; r < rounds; r++) {
  const order = servers.map((_, i) => servers[(i + r) % servers.length]);
  for (const c of cases) {
    for (const s of order) {
      const key = `${s.name} ${c.file}`;
      results[key] ??= [];
      results[key].push(wrk(s.port, c.file, c.conns));
    }
  }
  console.log(`round ${r + 1}/${rounds} done`);
}

if (WORKERS > 1) {
  for (const c of cases) {
    console.log(`\n${c.file} (${c.conns} connections), not pinned: median req/s`);
    for (const s of servers)
      console.log(`  ${s.name.padEnd(20)} ${median(results[`${s.name} ${c.file}`]).toFixed(0).padStart(9)}`);
    const ratio = (a, b) =>
      (median(results[`${a} ${c.file}`]) / median(results[`${b} ${c.file}`])).toFixed(2);
    console.log(
      `  ${WORKERS} workers / 1: ferry-default ${ratio(`ferry-default ×${WORKERS}`, "ferry-default")}×, ferry (log off) ${ratio(`ferry ×${WORKERS}`, "ferry")}×, nginx ${ratio(`nginx ×${WORKERS}`, "nginx")}×; ferry-default ×${WORKERS} = ${ratio(`ferry-default ×${WORKERS}`, `nginx ×${WORKERS}`)}× nginx ×${WORKERS}`,
    );
  }
  for (const ch of running) ch.kill("SIGTERM");
  process.exit(0);
}

for (const c of cases) {
  console.log(`\n${c.file} (${c.conns} connections): median req/s, ratio to nginx`);
  const nginx = median(results[`nginx ${c.file}`] ?? []);
  for (const s of servers) {
    const m = median(results[`${s.name} ${c.file}`]);
    const toNginx = Number.isFinite(nginx) && nginx > 0 ? `${(m / nginx).toFixed(2)}×` : "n/a";
    const all = results[`${s.name} ${c.file}`];
    // The spread of the rounds, so an outlier round (the machine's noise) shows.
    const spread = `${Math.min(...all).toFixed(0)}–${Math.max(...all).toFixed(0)}`;
    console.log(`  ${s.name.padEnd(16)} ${m.toFixed(0).padStart(9)}   ${toNginx} nginx   (rounds ${spread})`);
  }
  if (onlyAt >= 0) {
    // The access log's cost, when the rows it needs ran (e.g. --only ferry-default,ferry-combined,ferry).
    const logOff = results[`ferry ${c.file}`];
    for (const row of ["ferry-default", "ferry-combined"])
      if (logOff && results[`${row} ${c.file}`])
        console.log(
          `  access log cost (${row}): ${((1 - median(results[`${row} ${c.file}`]) / median(logOff)) * 100).toFixed(1)}%`,
        );
    continue;
  }
  const ferry = median(results[`ferry ${c.file}`]);
  const cost = (on, off) =>
    `${((1 - median(results[`${on} ${c.file}`]) / median(results[`${off} ${c.file}`])) * 100).toFixed(0)}%`;
  console.log(
    `  access log cost: ferry json ${cost("ferry-default", "ferry")}, ferry combined ${cost("ferry-combined", "ferry")}, nginx combined ${cost("nginx-log", "nginx")}; both logging combined: ferry ${(median(results[`ferry-combined ${c.file}`]) / median(results[`nginx-log ${c.file}`])).toFixed(2)}× nginx`,
  );
  console.log(
    `  engines, log off: ferry ${(ferry / median(results[`ferry-node ${c.file}`])).toFixed(2)}× node:http engine, ${(ferry / median(results[`bare-node-http ${c.file}`])).toFixed(2)}× bare node:http, ${((ferry / median(results[`raw-net ${c.file}`])) * 100).toFixed(0)}% of raw-net`,
  );
  console.log(
    `  ferry / sirv = ${(ferry / median(results[`sirv ${c.file}`])).toFixed(2)}×, ferry / fastify-static = ${(ferry / median(results[`fastify-static ${c.file}`])).toFixed(2)}×`,
  );
}
for (const c of running) c.kill("SIGTERM");
process.exit(0);
