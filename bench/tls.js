// npm run bench:tls — HTTP/2 over TLS and full TLS handshakes, Ferry beside nginx, Caddy and a bare
// node:http2 server, one run. All use the same ECDSA P-256 certificate. Two loads per server:
//   - h2load: 1 KiB over HTTP/2 (BENCH_CONNECTIONS connections × 10 streams each);
//   - openssl s_time -new: a full TLS handshake for every connection (then one HTTP/1.1 GET).
// Figures are per second of wall clock and per second of the server's own CPU time (from /proc), since
// on this shared 2-core machine wall-clock HTTP/2 figures swing between rounds. Servers on core 0, the
// load generator on core 1. Env: BENCH_DURATION (seconds, default 5), BENCH_ROUNDS (3).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import {
  chmodSync,
  mkdirSync,
  mkdtempSync,
  openSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import {
  freePort,
  median,
  nginxBinary,
  nginxConfig,
  onCore,
  onlyRows,
  pinned,
  ratio,
  requireTools,
  waitPort,
} from "./lib.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..");
const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
const conns = Number(process.env.BENCH_CONNECTIONS ?? 16);

requireTools("bench:tls", [
  ["h2load", "nghttp2-client"],
  ["openssl", "openssl"],
  ["nginx", "nginx-light"],
  ["caddy", "caddy"],
]);
const nginxBin = nginxBinary();
const work = mkdtempSync(path.join(os.tmpdir(), "ferry-bench-tls-"));
// nginx's worker runs as another user: it must be able to read the site.
chmodSync(work, 0o755);
const site = path.join(work, "site");
mkdirSync(site);
const body = "Ferry benchmark payload. ".repeat(41).slice(0, 1024);
writeFileSync(path.join(site, "1k.txt"), body);
const cert = path.join(work, "cert.pem");
const key = path.join(work, "key.pem");
spawnSync("openssl", [
  "req",
  "-x509",
  "-newkey",
  "ec",
  "-pkeyopt",
  "ec_paramgen_curve:P-256",
  "-nodes",
  "-keyout",
  key,
  "-out",
  cert,
  "-days",
  "2",
  "-subj",
  "/CN=localhost",
  "-addext",
  "subjectAltName=DNS:localhost,IP:127.0.0.1",
]);

function nginxConf(port) {
  return nginxConfig(
    work,
    "nginx",
    `  server {
    listen 127.0.0.1:${port} ssl http2;
    ssl_certificate ${cert};
    ssl_certificate_key ${key};
    ssl_protocols TLSv1.2 TLSv1.3;
    root ${site};
  }`,
  );
}

function caddyfile(port) {
  const file = path.join(work, "Caddyfile");
  writeFileSync(
    file,
    `{
  admin off
  auto_https off
}
https://127.0.0.1:${port}, https://localhost:${port} {
  bind 127.0.0.1
  tls ${cert} ${key}
  root * ${site}
  file_server
}
`,
  );
  return file;
}

const ferry = (extra) => (p) => [
  process.execPath,
  [
    path.join(root, "bin/ferry.js"),
    "serve",
    site,
    "--http",
    "127.0.0.1:0",
    "--https",
    `127.0.0.1:${p}`,
    "--tls-cert",
    cert,
    "--tls-key",
    key,
    "--state",
    path.join(work, "state"),
    ...extra,
  ],
];
const servers = [
  { name: "ferry-default", stdout: () => openSync(path.join(work, "access.log"), "a"), start: ferry([]) },
  { name: "ferry", start: ferry(["--access-log", "off", "--log-level", "warn"]) },
  { name: "nginx", start: (p) => [nginxBin, ["-c", nginxConf(p)]] },
  {
    name: "caddy",
    env: { HOME: work, XDG_DATA_HOME: work, XDG_CONFIG_HOME: work },
    start: (p) => ["caddy", ["run", "--config", caddyfile(p), "--adapter", "caddyfile"]],
  },
  {
    name: "bare-node-h2",
    start: (p) => [process.execPath, [path.join(here, "peers/bare-h2.js"), cert, key, String(p)]],
  },
];
onlyRows(servers);

/** utime + stime of a process and its children (nginx's worker), in seconds. */
function cpu(pid) {
  const stats = new Map();
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const f = readFileSync(`/proc/${name}/stat`, "utf8").split(") ")[1].split(" ");
      stats.set(Number(name), { ppid: Number(f[1]), time: (Number(f[11]) + Number(f[12])) / 100 });
    } catch {}
  }
  let total = 0;
  const todo = [pid];
  while (todo.length > 0) {
    const p = todo.pop();
    total += stats.get(p)?.time ?? 0;
    for (const [child, s] of stats) if (s.ppid === p) todo.push(child);
  }
  return total;
}

function h2load(port) {
  const [cmd, args] = onCore(1, "h2load", [
    "-D",
    String(duration),
    "-c",
    String(conns),
    "-m",
    "10",
    "-t",
    "1",
    `https://localhost:${port}/1k.txt`,
  ]);
  const out = execFileSync(cmd, args, { encoding: "utf8" });
  const ok = Number(/(\d+) succeeded/.exec(out)?.[1] ?? 0);
  const failed = Number(/(\d+) failed/.exec(out)?.[1] ?? 0);
  // With -D, the streams still open at the deadline count as failed: more than those is a real failure.
  if (ok === 0 || failed > conns * 10)
    throw new Error(`port ${port}: ${ok} succeeded, ${failed} failed\n${out}`);
  return ok;
}

function handshakes(port) {
  const [cmd, args] = onCore(1, "openssl", [
    "s_time",
    "-connect",
    `127.0.0.1:${port}`,
    "-new",
    "-time",
    String(duration),
    "-www",
    "/1k.txt",
  ]);
  const out = execFileSync(cmd, args, { encoding: "utf8", stdio: ["ignore", "pipe", "ignore"] });
  return Number(/(\d+) connections in [\d.]+s/.exec(out)?.[1] ?? 0);
}

const running = [];
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

console.log(
  `bench:tls — ${os.cpus().length} cores, ${rounds} rounds of ${duration}s per server and load (h2load -c${conns} -m10; openssl s_time -new)${pinned ? ", servers on core 0, clients on core 1" : ""}`,
);
for (const s of servers) {
  s.port = await freePort();
  const [cmd, args] = onCore(0, ...s.start(s.port));
  s.child = spawn(cmd, args, {
    stdio: ["ignore", s.stdout?.() ?? "ignore", openSync(path.join(work, `${s.name}.stderr`), "a")],
    env: { ...process.env, ...s.env },
  });
  running.push(s.child);
  await waitPort(s.port);
  h2load(s.port);
}

const results = {};
for (let r = 0; r < rounds; r++) {
  for (const s of servers.map((_, i) => servers[(i + r) % servers.length])) {
    for (const [kind, fn] of [
      ["h2", h2load],
      ["hs", handshakes],
    ]) {
      const c0 = cpu(s.child.pid);
      const t0 = performance.now();
      const n = fn(s.port);
      const wall = (performance.now() - t0) / 1000;
      const used = Math.max(0.01, cpu(s.child.pid) - c0);
      const key = `${s.name} ${kind}`;
      results[key] ??= { wall: [], cpu: [] };
      results[key].wall.push(n / wall);
      results[key].cpu.push(n / used);
    }
  }
  console.log(`round ${r + 1}/${rounds} done`);
}

for (const [kind, label] of [
  ["h2", "HTTP/2, 1 KiB: requests"],
  ["hs", "full TLS handshakes"],
]) {
  console.log(`\n${label} per second: wall clock and per server CPU-second, ratios per CPU-second`);
  const per = (name) => (results[`${name} ${kind}`] ? median(results[`${name} ${kind}`].cpu) : Number.NaN);
  for (const s of servers) {
    const r = results[`${s.name} ${kind}`];
    const v = median(r.cpu);
    console.log(
      `  ${s.name.padEnd(14)} ${median(r.wall).toFixed(0).padStart(8)}/s wall ${v.toFixed(0).padStart(8)}/CPU-s   ${ratio(v, per("nginx"))} nginx   ${ratio(v, per("caddy"))} caddy   ${ratio(v, per("bare-node-h2"))} bare`,
    );
  }
}
console.log(
  "\nTargets (issue 12): ferry ≥ 0.22× nginx on HTTP/2 (over 2× caddy, ≥ 0.8× bare node:http2) and ≥ 0.4× nginx on handshakes, per CPU-second.",
);
for (const c of running) c.kill("SIGTERM");
process.exit(0);
