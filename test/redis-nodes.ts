/**
 * Helpers for the tests of realtime on Redis: a redis-server on loopback,
 * `ferry serve` nodes sharing channels through `--broker`, WebSocket clients,
 * the publish API.
 */
import { type ChildProcess, spawn } from "node:child_process";
import net from "node:net";
import { after } from "node:test";
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

/** A `ferry serve` node with a realtime endpoint on `broker` (a Redis port on loopback, or a broker URL). */
export async function node(broker: number | string, port?: number): Promise<Node> {
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
  );
  stops.push(() => ferry.child.kill("SIGKILL"));
  const logs = () => ferry.stdout() + ferry.stderr();
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
