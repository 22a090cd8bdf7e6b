// Helpers shared by the benchmarks: free ports, medians, and pinning server and load generator to separate cores.
import { spawnSync } from "node:child_process";
import { mkdirSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

/** Whether a command is on PATH (or in /usr/sbin). */
export function has(tool) {
  return spawnSync("sh", ["-c", `command -v ${tool} || test -x /usr/sbin/${tool}`]).status === 0;
}

/** With two or more cores, servers run on core 0 and the load generator on core 1, so they never share one. */
export const pinned = os.cpus().length >= 2 && has("taskset");

/** The command line that runs `cmd` on `core` (unchanged when not pinning). */
export function onCore(core, cmd, args) {
  return pinned ? ["taskset", ["-c", String(core), cmd, ...args]] : [cmd, args];
}

/** A free TCP port on 127.0.0.1. */
export function freePort() {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

export function median(xs) {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
}

/** Resolves once something accepts TCP connections on 127.0.0.1:port (10 s at most). */
export async function waitPort(port) {
  for (let i = 0; i < 100; i++) {
    const ok = await new Promise((r) => {
      const c = net.connect(port, "127.0.0.1", () => {
        c.destroy();
        r(true);
      });
      c.on("error", () => r(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`port ${port} never opened`);
}

/** Exits with the Debian package to install when a tool a benchmark needs is missing. */
export function requireTools(bench, tools) {
  for (const [tool, pkg] of tools) {
    if (!has(tool)) {
      console.error(`${bench} needs ${tool}: apt-get install ${pkg}`);
      process.exit(2);
    }
  }
}

/** Path of Debian's nginx binary. */
export function nginxBinary() {
  return spawnSync("sh", ["-c", "command -v nginx || echo /usr/sbin/nginx"]).stdout.toString().trim();
}

/**
 * Writes an nginx.conf for one worker in its own folder under `work` (pid, error log and temp paths
 * there, access log off) with `http` holding `body`; returns its path.
 */
export function nginxConfig(work, name, body) {
  const dir = path.join(work, name);
  mkdirSync(dir, { recursive: true });
  const conf = path.join(dir, "nginx.conf");
  writeFileSync(
    conf,
    `worker_processes 1;
daemon off;
pid ${dir}/nginx.pid;
error_log ${dir}/error.log warn;
events { worker_connections 4096; }
http {
  access_log off;
  keepalive_requests 1000000;
  client_body_temp_path ${dir}/body; proxy_temp_path ${dir}/proxy; fastcgi_temp_path ${dir}/fcgi;
  uwsgi_temp_path ${dir}/uwsgi; scgi_temp_path ${dir}/scgi;
  default_type text/plain;
${body}
}
`,
  );
  return conf;
}

/** A `ferry serve` config for the realtime benchmarks: one endpoint at /ws, logs quiet, optionally on a Redis broker. */
export function realtimeConfig(work, port, key, broker = null) {
  const file = path.join(work, `ferry-${port}.yaml`);
  writeFileSync(
    file,
    `http:
  listen: ["127.0.0.1:${port}"]
  limits: { maxConnections: 100000 }
  sites:
    - root: ${JSON.stringify(work)}
      realtime:
        - path: /ws
          publishKey: ${key}
          maxBackpressure: 16MiB
${broker ? `          broker: ${broker}\n` : ""}log: { level: warn, access: false }
`,
  );
  return file;
}

/**
 * `--only a,b` on the command line: keeps just those rows of `rows` (by `name`), in place. A quick look
 * while working; ratios to a row left out print as n/a.
 */
export function onlyRows(rows) {
  const at = process.argv.indexOf("--only");
  if (at < 0) return rows;
  const keep = new Set((process.argv[at + 1] ?? "").split(","));
  const kept = rows.filter((r) => keep.has(r.name));
  if (kept.length === 0)
    throw new Error(
      `--only: none of ${[...keep].join(", ")} is a row (${rows.map((r) => r.name).join(", ")})`,
    );
  rows.length = 0;
  rows.push(...kept);
  return rows;
}

/** `a / b` to two places, or n/a when `b` is missing (its row left out by --only). */
export function ratio(a, b) {
  return Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(2)}×` : "n/a";
}
