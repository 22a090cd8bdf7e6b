// npm run bench:dns — dnsperf against Ferry and Knot (one UDP worker) serving the same zone, side by side
// in one run, alternating rounds; prints median queries/s, the ratio, and the answer mix used.
// Env: BENCH_DURATION (seconds per run, default 5), BENCH_ROUNDS (default 3).
import { execFileSync, spawn, spawnSync } from "node:child_process";
import { chmodSync, copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { freePort, has, median, onCore, pinned } from "./lib.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const root = path.join(here, "..");
const duration = Number(process.env.BENCH_DURATION ?? 5);
const rounds = Number(process.env.BENCH_ROUNDS ?? 3);
for (const [tool, pkg] of [
  ["dnsperf", "dnsperf"],
  ["knotd", "knot"],
]) {
  if (!has(tool)) {
    console.error(`bench:dns needs ${tool}: apt-get install ${pkg}`);
    process.exit(2);
  }
}

const work = mkdtempSync(path.join(os.tmpdir(), "ferry-bench-dns-"));
chmodSync(work, 0o755);
const zone = path.join(work, "example.test.zone");
copyFileSync(path.join(root, "test/fixtures/dns/example.test.zone"), zone);

// The answer mix: positive answers, CNAME chains, wildcards, NODATA, NXDOMAIN, referrals, MX with additional.
const mix = [
  ["www.example.test A", 30],
  ["www.example.test AAAA", 15],
  ["example.test MX", 10],
  ["alias.example.test A", 10],
  ["x.wild.example.test A", 10],
  ["www.example.test TXT", 5],
  ["nope.example.test A", 10],
  ["x.sub.example.test A", 5],
  ["_sip._tcp.example.test SRV", 5],
];
const lines = [];
for (const [q, n] of mix) for (let i = 0; i < n; i++) lines.push(q);
const queries = path.join(work, "queries.txt");
writeFileSync(queries, `${lines.join("\n")}\n`);

async function waitDns(port) {
  for (let i = 0; i < 100; i++) {
    const r = spawnSync(
      "dig",
      ["@127.0.0.1", "-p", String(port), "+time=1", "+tries=1", "+short", "www.example.test"],
      { encoding: "utf8" },
    );
    if (r.stdout?.trim()) return;
    await new Promise((res) => setTimeout(res, 100));
  }
  throw new Error(`DNS on ${port} never answered`);
}

const knotPort = await freePort();
const ferryPort = await freePort();
writeFileSync(
  path.join(work, "knot.conf"),
  `server:
    listen: 127.0.0.1@${knotPort}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    rundir: ${work}
    user: root:root
database:
    storage: ${work}/db
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: ${work}
    semantic-checks: off
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: example.test
    file: ${zone}
`,
);
const servers = [
  {
    name: "ferry",
    port: ferryPort,
    cmd: onCore(0, process.execPath, [
      path.join(root, "bin/ferry.js"),
      "serve",
      "--dns",
      `127.0.0.1:${ferryPort}`,
      "--zone",
      zone,
      "--log-level",
      "warn",
    ]),
  },
  { name: "knot", port: knotPort, cmd: onCore(0, "knotd", ["-c", path.join(work, "knot.conf")]) },
];
const children = [];
process.on("exit", () => {
  for (const c of children) c.kill("SIGKILL");
});
for (const s of servers) {
  children.push(spawn(s.cmd[0], s.cmd[1], { stdio: ["ignore", "ignore", "inherit"] }));
  await waitDns(s.port);
}

function dnsperf(port, seconds) {
  const [cmd, args] = onCore(1, "dnsperf", [
    "-s",
    "127.0.0.1",
    "-p",
    String(port),
    "-d",
    queries,
    "-l",
    String(seconds),
    "-c",
    "8",
    "-q",
    "200",
    "-t",
    "2",
  ]);
  const out = execFileSync(cmd, args, { encoding: "utf8" });
  const qps = Number(/Queries per second:\s+([\d.]+)/.exec(out)?.[1] ?? 0);
  const lost = Number(/Queries lost:\s+(\d+)/.exec(out)?.[1] ?? 0);
  return { qps, lost };
}

console.log(
  `bench:dns — ${os.cpus().length} cores, ${rounds} rounds of ${duration}s per server (dnsperf -c 8 -q 200)${pinned ? ", server on core 0, dnsperf on core 1" : ""}`,
);
console.log(`answer mix: ${mix.map(([q, n]) => `${n}% ${q}`).join(", ")}`);
for (const s of servers) dnsperf(s.port, 1); // warm-up
const results = { ferry: [], knot: [] };
for (let r = 0; r < rounds; r++) {
  const order = r % 2 ? [...servers].reverse() : servers;
  for (const s of order) {
    const { qps, lost } = dnsperf(s.port, duration);
    results[s.name].push(qps);
    if (lost > 0) console.log(`  (${s.name} lost ${lost} queries in round ${r + 1})`);
  }
  console.log(`round ${r + 1}/${rounds} done`);
}
const f = median(results.ferry);
const k = median(results.knot);
console.log(`\n  ferry  ${f.toFixed(0).padStart(8)} qps`);
console.log(`  knot   ${k.toFixed(0).padStart(8)} qps`);
console.log(`  ferry / knot = ${(f / k).toFixed(2)}×`);
process.exit(0);
