/**
 * `workers` > 1 as users run it: `ferry serve --workers 2`, one port for both
 * workers (HTTP and DNS), the admin listener in the primary counting every
 * worker's requests, realtime channels shared through the primary, a worker
 * killed under load (only its in-flight requests lost, then restarted),
 * SIGHUP reaching every worker and SIGTERM stopping them all.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { writeFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";
import { after, test } from "node:test";
import WebSocket from "ws";
import { needTool, spawnFerry, tmpSite, waitFor } from "./helpers.js";
import { freePort } from "./knot.js";
import { startKnotPrimary } from "./secondaries.js";

const stops: (() => void)[] = [];
after(() => {
  for (const s of stops) s();
});

const KEY = "workers-publish-key";

function children(pid: number): number[] {
  const r = spawnSync("pgrep", ["-P", String(pid)], { encoding: "utf8" });
  return r.stdout.split("\n").filter(Boolean).map(Number);
}

function get(port: number): Promise<number> {
  return new Promise((resolve) => {
    const req = http.get({ host: "127.0.0.1", port, path: "/", agent: false }, (res) => {
      res.resume();
      res.on("end", () => resolve(res.statusCode ?? 0));
      res.on("error", () => resolve(0));
    });
    req.on("error", () => resolve(0));
    req.setTimeout(3000, () => req.destroy());
  });
}

async function start(extra: string[] = []) {
  const dir = tmpSite({ "index.html": "hello" });
  const [port, admin] = [await freePort(), await freePort()];
  const f = await spawnFerry(
    [
      "serve",
      dir,
      "--http",
      `127.0.0.1:${port}`,
      "--workers",
      "2",
      "--admin",
      `127.0.0.1:${admin}`,
      "--realtime",
      "/ws",
      "--publish-key",
      KEY,
      ...extra,
    ],
    [/Ferry running 2 workers \(pids (\d+), (\d+)\)/],
  );
  stops.push(() => f.child.kill("SIGKILL"));
  return { f, port, admin, logs: () => f.stdout() + f.stderr() };
}

test("two workers on one port: the banner once, every worker's requests in the primary's /metrics, channels shared through the primary", async () => {
  const { f, port, admin } = await start();
  assert.equal((f.stderr().match(/Ferry serving http/g) ?? []).length, 1, "the banner once");
  assert.equal(children(f.child.pid!).length, 2);
  const statuses = await Promise.all(Array.from({ length: 40 }, () => get(port)));
  assert.deepEqual(new Set(statuses), new Set([200]));
  // Events reach the primary in batches every 100 ms.
  let total = 0;
  await waitFor(() => total >= 40, "40 requests counted by the primary's /metrics", 5000).catch(() => {});
  for (let i = 0; i < 50 && total < 40; i++) {
    const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    total = Number(/^ferry_http_requests_total\{site="default",status="2xx"\} (\d+)/m.exec(text)?.[1] ?? 0);
    if (total < 40) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(total >= 40, `the primary counted ${total} of 40 requests`);
  // Per-worker series carry a worker label; together they count every request.
  const text = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  assert.match(text, /^ferry_worker_up\{worker="1"\} 1$/m);
  assert.match(text, /^ferry_worker_up\{worker="2"\} 1$/m);
  const perWorker = [...text.matchAll(/^ferry_worker_http_requests_total\{worker="\d"\} (\d+)$/gm)].map((m) =>
    Number(m[1]),
  );
  assert.equal(perWorker.length, 2);
  assert.equal(perWorker[0]! + perWorker[1]!, total);
  // Each worker on request: every series of its own, labelled with it; the two add up to the sum.
  const own = await Promise.all(
    [1, 2].map(async (w) => {
      const r = await fetch(`http://127.0.0.1:${admin}/metrics?worker=${w}`);
      assert.equal(r.status, 200);
      const body = await r.text();
      assert.doesNotMatch(
        body,
        /^ferry_\w+(\{(?!worker=)[^}]*\})? /m,
        "every sample carries the worker label",
      );
      assert.ok(Number(/^ferry_process_resident_memory_bytes\{worker="\d"\} (\d+)/m.exec(body)?.[1]) > 0);
      const events = (await (await fetch(`http://127.0.0.1:${admin}/api/events?worker=${w}`)).json()) as {
        rows: { kind: string }[];
      };
      return {
        requests: Number(
          new RegExp(
            `^ferry_http_requests_total\\{worker="${w}",site="default",status="2xx"\\} (\\d+)`,
            "m",
          ).exec(body)?.[1] ?? 0,
        ),
        rows: events.rows.filter((row) => row.kind === "http").length,
      };
    }),
  );
  assert.deepEqual(
    own.map((o) => o.requests),
    perWorker,
  );
  assert.equal(own[0]!.rows + own[1]!.rows, total, "each worker's own rows, together every request");
  const none = await fetch(`http://127.0.0.1:${admin}/metrics?worker=7`);
  assert.equal(none.status, 404);
  assert.equal(((await none.json()) as { error: string }).error, "no_such_worker");
  // Six subscribers (spread over both workers by the cluster), one offset sequence.
  const clients = await Promise.all(
    Array.from({ length: 6 }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?subscribe=ticks`);
      stops.push(() => ws.terminate());
      const got: { type: string; offset?: number }[] = [];
      ws.on("message", (d) => got.push(JSON.parse(String(d))));
      await waitFor(() => got.some((m) => m.type === "subscribed"), "subscribed");
      return got;
    }),
  );
  for (let i = 1; i <= 10; i++) {
    const r = await fetch(`http://127.0.0.1:${port}/ws`, {
      method: "POST",
      headers: { authorization: `Bearer ${KEY}` },
      body: JSON.stringify({ channel: "ticks", data: i }),
    });
    assert.deepEqual(await r.json(), { offset: i });
  }
  for (const got of clients) {
    await waitFor(() => got.filter((m) => m.type === "message").length === 10, "10 messages on every client");
    assert.deepEqual(
      got.filter((m) => m.type === "message").map((m) => m.offset),
      [1, 2, 3, 4, 5, 6, 7, 8, 9, 10],
    );
  }
  const presence = await fetch(`http://127.0.0.1:${port}/ws/presence?channel=ticks`, {
    headers: { authorization: `Bearer ${KEY}` },
  });
  assert.deepEqual(await presence.json(), { channel: "ticks", subscribers: 6 });
  // The gauges of every worker's hub, summed by the primary (each worker reports every second).
  let gauges = "";
  for (let i = 0; i < 40; i++) {
    gauges = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
    if (/^ferry_ws_connections\{[^}]*path="\/ws"[^}]*\} 6$/m.test(gauges)) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  assert.match(gauges, /^ferry_ws_connections\{[^}]*path="\/ws"[^}]*\} 6$/m);
  assert.match(gauges, /^ferry_ws_published_total\{[^}]*path="\/ws"[^}]*\} 10$/m);
});

test("an inspector watching the primary sees the WebSocket frames of sessions on every worker", async () => {
  const { f, port, admin, logs } = await start();
  // An inspector connects to the live feed: the primary asks every worker for its frames.
  const inspector = new WebSocket(`ws://127.0.0.1:${admin}/live?subscribe=events`);
  stops.push(() => inspector.terminate());
  await new Promise((resolve, reject) => {
    inspector.once("open", resolve);
    inspector.once("error", reject);
  });
  await new Promise((r) => setTimeout(r, 500));
  const clients = await Promise.all(
    Array.from({ length: 4 }, async () => {
      const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?subscribe=quotes`);
      stops.push(() => ws.terminate());
      let n = 0;
      ws.on("message", (d) => {
        if (JSON.parse(String(d)).type === "message") n++;
      });
      await new Promise((resolve) => ws.once("open", resolve));
      return () => n;
    }),
  );
  await new Promise((r) => setTimeout(r, 300));
  const r = await fetch(`http://127.0.0.1:${port}/ws`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}` },
    body: JSON.stringify({ channel: "quotes", data: "frame-seen-by-the-primary" }),
  });
  assert.equal(r.status, 200);
  await waitFor(() => clients.every((n) => n() === 1), "the message on every client");
  // The sessions, by worker (ids are made unique per worker: 1e12 × worker + 1e8 × restarts + its own).
  let seen = new Map<number, string[]>();
  for (let i = 0; i < 50; i++) {
    const events = (await (await fetch(`http://127.0.0.1:${admin}/api/events`)).json()) as {
      rows: { kind: string; session?: number }[];
    };
    const ids = [...new Set(events.rows.filter((row) => row.kind === "ws").map((row) => row.session!))];
    seen = new Map();
    for (const id of ids) {
      const frames = (await (await fetch(`http://127.0.0.1:${admin}/api/sessions/${id}/frames`)).json()) as {
        direction: string;
        text: string;
      }[];
      seen.set(
        id,
        frames.filter((f) => f.direction === "out").map((f) => f.text),
      );
    }
    const withMessage = [...seen.values()].filter((texts) =>
      texts.some((t) => t.includes("frame-seen-by-the-primary")),
    );
    if (withMessage.length === 4) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const workers = new Set(
    [...seen]
      .filter(([, texts]) => texts.some((t) => t.includes("frame-seen-by-the-primary")))
      .map(([id]) => Math.floor(id / 1e12)),
  );
  assert.deepEqual(
    workers,
    new Set([1, 2]),
    `sessions with the frame, by worker: ${JSON.stringify([...seen])}`,
  );
  // A worker that starts again numbers its sessions anew, but never with its last life's ids
  // (the primary would mix their frames): they come from the next block of its range.
  const before = new Set(seen.keys());
  const pids = f.found[0]!.split(", ").map(Number);
  process.kill(pids[0]!, "SIGKILL");
  await waitFor(() => /worker 1 ready/.test(logs()), "worker 1 to start again", 10_000);
  for (let i = 0; i < 4; i++) {
    const ws = new WebSocket(`ws://127.0.0.1:${port}/ws?subscribe=quotes`);
    stops.push(() => ws.terminate());
    await new Promise((resolve) => ws.once("open", resolve));
  }
  let fresh: number[] = [];
  for (let i = 0; i < 50 && fresh.length === 0; i++) {
    const events = (await (await fetch(`http://127.0.0.1:${admin}/api/events`)).json()) as {
      rows: { kind: string; session?: number }[];
    };
    fresh = events.rows
      .filter(
        (row) => row.kind === "ws" && !before.has(row.session!) && Math.floor(row.session! / 1e12) === 1,
      )
      .map((row) => row.session!);
    if (fresh.length === 0) await new Promise((r) => setTimeout(r, 100));
  }
  assert.ok(fresh.length > 0, "a session on the restarted worker");
  for (const id of fresh) assert.ok(id % 1e12 > 1e8, `session ${id} is in the restarted worker's new block`);
});

test("a worker killed under load loses only its in-flight requests and is started again; SIGHUP reaches every worker; SIGTERM stops all", async () => {
  const { f, port, admin, logs } = await start();
  const [first] = children(f.child.pid!);
  let ok = 0;
  let failed = 0;
  let stop = false;
  const CONCURRENCY = 4;
  const loops = Array.from({ length: CONCURRENCY }, async () => {
    while (!stop) {
      if ((await get(port)) === 200) ok++;
      else failed++;
    }
  });
  await new Promise((r) => setTimeout(r, 400));
  process.kill(first!, "SIGKILL");
  await waitFor(() => /worker \d died \(SIGKILL\): restarting it/.test(logs()), "the death in the log");
  await waitFor(
    () => children(f.child.pid!).length === 2 && !children(f.child.pid!).includes(first!),
    "a new worker",
  );
  // A reload while the new worker is still starting (before its handlers are in place): it gets the
  // SIGHUP once ready, instead of being ended by it.
  f.child.kill("SIGHUP");
  await new Promise((r) => setTimeout(r, 600));
  stop = true;
  await Promise.all(loops);
  assert.ok(ok > 100, `${ok} requests answered`);
  assert.ok(failed <= CONCURRENCY, `${failed} requests failed; at most the ${CONCURRENCY} in flight may`);
  assert.match(logs(), /"code":"ERR_WORKER_DIED"/);
  const restarts = await (await fetch(`http://127.0.0.1:${admin}/metrics`)).text();
  const counts = [...restarts.matchAll(/^ferry_worker_restarts_total\{worker="\d"\} (\d+)$/gm)].map((m) =>
    Number(m[1]),
  );
  assert.deepEqual(counts.sort(), [0, 1]);
  await waitFor(
    () => (logs().match(/"msg":"configuration reloaded"/g) ?? []).length >= 2,
    "both workers reloaded",
  );
  assert.doesNotMatch(logs(), /died \(SIGHUP\)/);
  const exited = new Promise<number | null>((r) => f.child.once("exit", (code) => r(code)));
  f.child.kill("SIGTERM");
  assert.equal(await exited, 0);
  assert.equal((logs().match(/"worker":\d,"msg":"stopped"/g) ?? []).length, 2);
});

test("without --publish-key the workers share the one generated key the banner prints", async () => {
  const dir = tmpSite({ "index.html": "x" });
  const port = await freePort();
  const f = await spawnFerry(
    ["serve", dir, "--http", `127.0.0.1:${port}`, "--workers", "2", "--realtime", "/ws"],
    [/publish key \(generated\): (\S+)/, /Ferry running 2 workers \(pids (\d+)/],
  );
  stops.push(() => f.child.kill("SIGKILL"));
  const key = f.found[0]!;
  const statuses = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => {
      const r = await fetch(`http://127.0.0.1:${port}/ws`, {
        method: "POST",
        headers: { authorization: `Bearer ${key}`, connection: "close" },
        body: JSON.stringify({ channel: "c", data: i }),
      });
      return r.status;
    }),
  );
  assert.deepEqual(new Set(statuses), new Set([200]));
});

test("DNS on two workers: both answer on the shared UDP and TCP port", async (t) => {
  if (!needTool(t, "dig", "bind9-dnsutils")) return;
  const dns = await freePort();
  const zone = tmpSite({
    "w.test.zone":
      "$TTL 60\n@ SOA ns1 host 1 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A 192.0.2.7\n",
  });
  const f = await spawnFerry(
    ["serve", "--dns", `127.0.0.1:${dns}`, "--zone", `${zone}/w.test.zone`, "--workers", "2"],
    [/Ferry running 2 workers \(pids (\d+)/],
  );
  stops.push(() => f.child.kill("SIGKILL"));
  for (const tcp of [false, true])
    for (let i = 0; i < 10; i++) {
      const r = spawnSync(
        "dig",
        ["@127.0.0.1", "-p", String(dns), "www.w.test", "A", "+short", tcp ? "+tcp" : "+notcp"],
        { encoding: "utf8" },
      );
      assert.equal(r.stdout.trim(), "192.0.2.7");
    }
});

/** Every answer to `n` UDP queries for www.NAME (the shared port spreads them over the workers). */
function answers(port: number, name: string, n = 16): string[] {
  const out: string[] = [];
  for (let i = 0; i < n; i++) {
    const r = spawnSync(
      "dig",
      ["@127.0.0.1", "-p", String(port), `www.${name}`, "A", "+short", "+tries=1", "+time=1"],
      {
        encoding: "utf8",
      },
    );
    out.push(r.stdout.trim());
  }
  return out;
}

test("a secondary zone on two workers: worker 1 transfers, both serve it; a NOTIFY that reaches worker 2 is passed to worker 1 and the edit reaches both", async (t) => {
  if (!needTool(t, "knotd", "knot") || !needTool(t, "dig", "bind9-dnsutils")) return;
  const origin = "wsec.test";
  const dir = tmpSite({});
  const zoneFile = path.join(dir, `${origin}.zone`);
  const zone = (serial: number, www: string) =>
    `$ORIGIN ${origin}.\n$TTL 60\n@ SOA ns1 host ${serial} 3600 600 86400 60\n@ NS ns1\nns1 A 192.0.2.1\nwww A ${www}\n`;
  writeFileSync(zoneFile, zone(1, "192.0.2.10"));
  // Knot's own NOTIFY goes to a closed port: only the NOTIFYs this test sends tell Ferry of serial 2.
  const [kport, fport, closed] = [await freePort(), await freePort(), await freePort()];
  const knot = startKnotPrimary({ zone: origin, file: zoneFile, port: kport, notifyPort: closed, key: null });
  stops.push(() => knot.stop());
  const conf = path.join(dir, "ferry.yaml");
  writeFileSync(
    conf,
    [
      "workers: 2",
      `state: ${path.join(dir, "state")}`,
      "dns:",
      `  listen: ["127.0.0.1:${fport}"]`,
      "  zones:",
      `    - { origin: ${origin}, primary: "127.0.0.1:${kport}" }`,
      "",
    ].join("\n"),
  );
  const f = await spawnFerry(["serve", "--config", conf], [/Ferry running 2 workers \(pids (\d+)/]);
  stops.push(() => f.child.kill("SIGKILL"));
  const logs = () => f.stdout() + f.stderr();
  // Worker 1 transfers the zone; worker 2 serves the copy worker 1 wrote.
  for (let i = 0; i < 100 && answers(fport, origin).some((a) => a !== "192.0.2.10"); i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(new Set(answers(fport, origin, 20)), new Set(["192.0.2.10"]), logs().slice(-2000));
  writeFileSync(zoneFile, zone(2, "192.0.2.20"));
  knot.reload();
  // NOTIFYs from the primary's address (dig +opcode=notify), until one lands on worker 2 and is passed on.
  for (let i = 0; i < 40 && !logs().includes("passed to the leader worker"); i++) {
    spawnSync("dig", [
      "@127.0.0.1",
      "-p",
      String(fport),
      "+opcode=notify",
      "+norecurse",
      "+tries=1",
      origin,
      "SOA",
    ]);
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.match(logs(), /NOTIFY received, passed to the leader worker/);
  for (let i = 0; i < 60 && answers(fport, origin).some((a) => a !== "192.0.2.20"); i++)
    await new Promise((r) => setTimeout(r, 100));
  assert.deepEqual(new Set(answers(fport, origin, 20)), new Set(["192.0.2.20"]), logs().slice(-2000));
  assert.match(logs(), /secondary zone updated by IXFR/);
});
