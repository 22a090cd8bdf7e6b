// npm run bench:proxy — wrk through each reverse proxy to the same upstream, side by side in one run.
// The upstream is nginx answering 1 KiB from memory (`return 200`), so it is never the bottleneck.
// Proxies: Ferry as `ferry serve --proxy /=UPSTREAM` runs by default (access log on, to a file) and with
// the log off; nginx (`proxy_pass` to an upstream block with `keepalive 32`); Caddy (`reverse_proxy`,
// Debian's caddy); node-http-proxy with a keep-alive agent and without one. Rounds alternate the order;
// medians are reported. With two or more cores the proxies run on core 0, wrk and the upstream on core 1.
// Env: BENCH_DURATION (seconds per run, default 5), BENCH_ROUNDS (default 3), BENCH_CONNECTIONS (64).
import { execFileSync, spawn } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, openSync, writeFileSync } from "node:fs";
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
const conns = Number(process.env.BENCH_CONNECTIONS ?? 64);

requireTools("bench:proxy", [
  ["wrk", "wrk"],
  ["nginx", "nginx-light"],
  ["caddy", "caddy"],
]);
const nginxBin = nginxBinary();

const work = mkdtempSync(path.join(os.tmpdir(), "ferry-bench-proxy-"));
chmodSync(work, 0o755);
const body = "Ferry benchmark payload. ".repeat(41).slice(0, 1024);

const nginxConf = (name, server) => nginxConfig(work, name, `  ${server}`);

const upstreamPort = await freePort();
const upstream = `127.0.0.1:${upstreamPort}`;

function caddyfile(port) {
  const dir = path.join(work, "caddy");
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, "Caddyfile");
  writeFileSync(
    file,
    `{
  admin off
  auto_https off
}
http://127.0.0.1:${port} {
  bind 127.0.0.1
  reverse_proxy ${upstream}
}
`,
  );
  return file;
}

const proxies = [
  {
    // What a user gets from `ferry serve --proxy /=UPSTREAM`: the access log on (JSON lines, here to a file).
    name: "ferry-default",
    stdout: () => openSync(path.join(work, "ferry-access.log"), "a"),
    start: (p) => [
      process.execPath,
      [
        path.join(root, "bin/ferry.js"),
        "serve",
        work,
        "--http",
        `127.0.0.1:${p}`,
        "--proxy",
        `/=${upstream}`,
      ],
    ],
  },
  {
    name: "ferry",
    start: (p) => [
      process.execPath,
      [
        path.join(root, "bin/ferry.js"),
        "serve",
        work,
        "--http",
        `127.0.0.1:${p}`,
        "--proxy",
        `/=${upstream}`,
        "--access-log",
        "off",
        "--log-level",
        "warn",
      ],
    ],
  },
  {
    name: "nginx",
    start: (p) => [
      nginxBin,
      [
        "-c",
        nginxConf(
          "nginx-proxy",
          `upstream app { server ${upstream}; keepalive 32; }
  server {
    listen 127.0.0.1:${p};
    location / {
      proxy_pass http://app;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_set_header Host $host;
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
    }
  }`,
        ),
      ],
    ],
  },
  {
    name: "caddy",
    env: { HOME: work, XDG_DATA_HOME: work, XDG_CONFIG_HOME: work },
    start: (p) => ["caddy", ["run", "--config", caddyfile(p), "--adapter", "caddyfile"]],
  },
  {
    name: "http-proxy-ka",
    start: (p) => [
      process.execPath,
      [path.join(here, "peers/http-proxy.js"), upstream, String(p), "keepalive"],
    ],
  },
  {
    name: "http-proxy",
    start: (p) => [process.execPath, [path.join(here, "peers/http-proxy.js"), upstream, String(p), "plain"]],
  },
];
onlyRows(proxies);

function wrk(port) {
  const [cmd, args] = onCore(1, "wrk", ["-t1", `-c${conns}`, `-d${duration}s`, `http://127.0.0.1:${port}/`]);
  const out = execFileSync(cmd, args, { encoding: "utf8" });
  const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const errors = /Non-2xx or 3xx responses: (\d+)/.exec(out)?.[1];
  const socketErrors = /Socket errors: (.*)/.exec(out)?.[1];
  if (errors) throw new Error(`port ${port}: ${errors} error responses`);
  return { rps, socketErrors };
}

const running = [];
process.on("exit", () => {
  for (const c of running) c.kill("SIGKILL");
});

function start(cmd, args, opts = {}) {
  const child = spawn(cmd, args, {
    stdio: ["ignore", opts.stdout ?? "ignore", opts.stderr ?? "inherit"],
    env: { ...process.env, ...opts.env },
  });
  running.push(child);
  return child;
}

console.log(
  `bench:proxy — ${os.cpus().length} cores, ${rounds} rounds of ${duration}s per proxy (wrk -t1 -c${conns}, 1 KiB responses)${pinned ? ", proxies on core 0, wrk and the upstream on core 1" : ""}`,
);
// The upstream: nginx answering from memory.
{
  const [cmd, args] = onCore(1, nginxBin, [
    "-c",
    nginxConf(
      "upstream",
      `server { listen ${upstream}; keepalive_timeout 120s; location / { return 200 "${body}"; } }`,
    ),
  ]);
  start(cmd, args);
  await waitPort(upstreamPort);
}
for (const p of proxies) {
  p.port = await freePort();
  const [cmd, args] = onCore(0, ...p.start(p.port));
  // Their own start-up chatter (Ferry's banner, Caddy's JSON log) goes to a file, not between the results.
  const chatter = openSync(path.join(work, `${p.name}.stderr`), "a");
  start(cmd, args, { stdout: p.stdout?.(), stderr: chatter, env: p.env });
  await waitPort(p.port);
  execFileSync("wrk", ["-t1", "-c16", "-d1s", `http://127.0.0.1:${p.port}/`]);
}

const results = {};
for (let r = 0; r < rounds; r++) {
  const order = proxies.map((_, i) => proxies[(i + r) % proxies.length]);
  for (const p of order) {
    const { rps, socketErrors } = wrk(p.port);
    results[p.name] ??= [];
    results[p.name].push(rps);
    if (socketErrors) console.log(`  (${p.name}: socket errors ${socketErrors})`);
  }
  console.log(`round ${r + 1}/${rounds} done`);
}

const m = (name) => (results[name] ? median(results[name]) : Number.NaN);
console.log(`\n1 KiB through the proxy (${conns} connections): median req/s, ratios`);
for (const p of proxies) {
  const v = m(p.name);
  console.log(
    `  ${p.name.padEnd(14)} ${v.toFixed(0).padStart(9)}   ${ratio(v, m("nginx"))} nginx   ${ratio(v, m("http-proxy-ka"))} http-proxy(keep-alive)   ${ratio(v, m("caddy"))} caddy`,
  );
}
console.log(
  "\nTargets (issue 11): ferry ≥ 0.5× nginx, ≥ 1.5× http-proxy (keep-alive), ≥ 1.5× caddy. ferry-default is the row a user gets.",
);
for (const c of running) c.kill("SIGTERM");
process.exit(0);
