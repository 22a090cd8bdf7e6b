/**
 * Helpers for the tests of realtime on Redis: a redis-server on loopback,
 * `ferry serve` nodes sharing channels through `--broker`, WebSocket clients,
 * the publish API.
 */
import assert from "node:assert/strict";
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { after } from "node:test";
import { Redis, type RedisOptions } from "ioredis";
import WebSocket from "ws";
import { type FerryProcess, spawnFerry, tmpSite, waitFor } from "./helpers.js";
import { freePort } from "./knot.js";

export const KEY = "redis-test-publish-key";
/** What a test started (Redis servers, Ferry nodes, clients), stopped when the test file ends. */
export const stops: (() => void)[] = [];
after(() => {
  for (const s of stops.reverse()) s();
});

export interface RedisServer {
  port: number;
  child: ChildProcess;
  stop: () => Promise<void>;
}

export async function startRedis(port: number, dir: string, extra: string[] = []): Promise<RedisServer> {
  const child = spawn(
    "redis-server",
    [
      "--port",
      String(port),
      "--bind",
      "127.0.0.1",
      "--save",
      "",
      "--appendonly",
      "no",
      "--dir",
      dir,
      ...extra,
    ],
    {
      stdio: "ignore",
    },
  );
  const server: RedisServer = {
    port,
    child,
    stop: () =>
      new Promise((resolve) => {
        if (child.exitCode !== null) return resolve();
        child.once("exit", () => resolve());
        child.kill("SIGKILL");
      }),
  };
  stops.push(() => child.kill("SIGKILL"));
  for (let i = 0; i < 100 && !(await connects(port)); i++) await new Promise((r) => setTimeout(r, 50));
  return server;
}

/** A certificate for 127.0.0.1 (its own CA) for Redis over TLS: `ca` is what a client trusts. */
export interface RedisTls {
  cert: string;
  key: string;
  ca: string;
}

/** redis-server's arguments to listen with TLS only on `port` (and TLS between cluster nodes). */
export function tlsArgs(port: number, tls: RedisTls): string[] {
  return [
    "--port",
    "0",
    "--tls-port",
    String(port),
    "--tls-cert-file",
    tls.cert,
    "--tls-key-file",
    tls.key,
    "--tls-ca-cert-file",
    tls.ca,
    "--tls-auth-clients",
    "no",
    "--tls-cluster",
    "yes",
    "--tls-replication",
    "yes",
  ];
}

/**
 * A Redis Cluster of three masters (each with `replicas` replicas), each
 * node with its own cluster bus port, joined by `redis-cli --cluster create`
 * into one cluster that covers every slot. Over TLS when `tls` is given.
 */
export async function startCluster(
  extra: string[] = [],
  opts: { tls?: RedisTls; replicas?: number } = {},
): Promise<{ ports: number[]; servers: RedisServer[] }> {
  const ports: number[] = [];
  const servers: RedisServer[] = [];
  const replicas = opts.replicas ?? 0;
  for (let i = 0; i < 3 * (1 + replicas); i++) {
    const port = await freePort();
    const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-redis-cluster-"));
    const server = await startRedis(port, dir, [
      "--cluster-enabled",
      "yes",
      "--cluster-config-file",
      "nodes.conf",
      "--cluster-port",
      String(await freePort()),
      "--cluster-node-timeout",
      "2000",
      ...(opts.tls ? tlsArgs(port, opts.tls) : []),
      ...extra,
    ]);
    ports.push(port);
    servers.push(server);
  }
  execFileSync(
    "redis-cli",
    [
      ...(opts.tls ? ["--tls", "--cacert", opts.tls.ca] : []),
      "--cluster",
      "create",
      ...ports.map((p) => `127.0.0.1:${p}`),
      "--cluster-replicas",
      String(replicas),
      "--cluster-yes",
    ],
    { stdio: "ignore", timeout: 20_000 },
  );
  const options: RedisOptions = {
    lazyConnect: true,
    ...(opts.tls ? { tls: { ca: readFileSync(opts.tls.ca) } } : {}),
  };
  for (const port of ports) {
    const r = new Redis(port, "127.0.0.1", options);
    await r.connect();
    try {
      for (let i = 0; i < 100 && !String(await r.cluster("INFO")).includes("cluster_state:ok"); i++)
        await new Promise((resolve) => setTimeout(resolve, 100));
      assert.match(String(await r.cluster("INFO")), /cluster_state:ok/);
    } finally {
      r.disconnect();
    }
  }
  return { ports, servers };
}

export function connects(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, "127.0.0.1");
    s.once("connect", () => {
      s.destroy();
      resolve(true);
    });
    s.once("error", () => resolve(false));
  });
}

export interface Node {
  port: number;
  ferry: FerryProcess;
  logs: () => string;
}

/**
 * A `ferry serve` node with a realtime endpoint on `broker` (a Redis port on
 * loopback, or a broker URL), once its broker is connected (unless
 * `connected` is false). `env`: the process's environment (for a CA to trust).
 */
export async function node(
  broker: number | string,
  port?: number,
  opts: { env?: NodeJS.ProcessEnv; connected?: boolean } = {},
): Promise<Node> {
  const dir = tmpSite({ "index.html": "x" });
  const p = port ?? (await freePort());
  const ferry = await spawnFerry(
    [
      "serve",
      dir,
      "--http",
      `127.0.0.1:${p}`,
      "--realtime",
      "/ws",
      "--publish-key",
      KEY,
      "--broker",
      typeof broker === "number" ? `redis://127.0.0.1:${broker}/0` : broker,
    ],
    [/serving http:\/\/127\.0\.0\.1:(\d+)\//],
    undefined,
    opts.env,
  );
  stops.push(() => ferry.child.kill("SIGKILL"));
  const logs = () => ferry.stdout() + ferry.stderr();
  if (opts.connected !== false)
    await waitFor(() => logs().includes("realtime broker connected"), "the broker connected", 5000);
  return { port: p, ferry, logs };
}

export async function publish(
  port: number,
  channel: string,
  data: unknown,
): Promise<{ status: number; body: Record<string, unknown> }> {
  const r = await fetch(`http://127.0.0.1:${port}/ws`, {
    method: "POST",
    headers: { authorization: `Bearer ${KEY}`, "content-type": "application/json" },
    body: JSON.stringify({ channel, data }),
  });
  return { status: r.status, body: (await r.json()) as Record<string, unknown> };
}

export interface Client {
  ws: WebSocket;
  got: Record<string, unknown>[];
  messages: () => number[];
  send: (m: unknown) => void;
}

export async function client(port: number): Promise<Client> {
  const ws = new WebSocket(`ws://127.0.0.1:${port}/ws`);
  const got: Record<string, unknown>[] = [];
  ws.on("message", (d) => got.push(JSON.parse(String(d))));
  await new Promise((resolve, reject) => ws.once("open", resolve).once("error", reject));
  stops.push(() => ws.terminate());
  return {
    ws,
    got,
    messages: () => got.filter((m) => m.type === "message").map((m) => m.offset as number),
    send: (m) => ws.send(JSON.stringify(m)),
  };
}

export async function subscribed(
  c: Client,
  channel: string,
  extra: Record<string, unknown> = {},
): Promise<Record<string, unknown>> {
  const before = c.got.length;
  c.send({ type: "subscribe", channel, ...extra });
  await waitFor(
    () => c.got.slice(before).some((m) => m.type === "subscribed" || m.type === "error"),
    `an answer to subscribe ${channel}`,
  );
  return c.got.slice(before).find((m) => m.type === "subscribed" || m.type === "error")!;
}

export const range = (a: number, b: number) => Array.from({ length: b - a + 1 }, (_, i) => a + i);
