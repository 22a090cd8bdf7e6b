import { readFileSync } from "node:fs";
/**
 * `ferry ws URL [--subscribe CHANNEL]...`: an interactive WebSocket client
 * (like wscat). Messages that arrive go to stdout, one per line; lines typed
 * (or piped) are sent as text. Shortcuts: `/sub CH [SINCE]`, `/unsub CH`,
 * `/pub CH JSON`, `/ping`, `/close [CODE [REASON]]`.
 */
import { createInterface } from "node:readline";
import { UsageError } from "../../core/errors.js";
import { connectWebSocket, HandshakeError, type WebSocketClient } from "../../realtime/client.js";
import { parseArgs } from "../args.js";

export const wsHelp = `Usage: ferry ws URL [--subscribe CHANNEL]... [--header NAME:VALUE]... [--count N] [--no-deflate] [--cacert FILE]

Connects to a WebSocket (ws:// or wss://), prints every message that arrives
(stdout, one per line) and sends every line you type. For Ferry's realtime
protocol these shortcuts build the JSON for you:

  /sub CHANNEL [SINCE]   subscribe (SINCE: replay what came after that offset)
  /unsub CHANNEL         unsubscribe
  /pub CHANNEL JSON      publish (where the channel allows clients to)
  /ping                  send a ping
  /close [CODE [REASON]] close and exit

  --subscribe CHANNEL    subscribe once connected (repeatable)
  --header NAME:VALUE    extra handshake header, e.g. Origin (repeatable)
  --cacert FILE          also trust this root for wss:// (PEM), e.g. Ferry's local CA
  --count N              exit after N messages (Ferry's replies such as subscribed are
                         printed but not counted)
  --no-deflate           do not offer permessage-deflate

Exits 0 after a normal close (1000/1001), 1 otherwise.
`;

/** Turns a typed line into the text to send (shortcuts expanded); null for a command handled here. */
export function expandLine(line: string): { send?: string; ping?: true; close?: [number, string] } | null {
  const t = line.trim();
  if (t === "") return null;
  if (!t.startsWith("/")) return { send: line };
  const [cmd, ...rest] = t.split(/\s+/);
  switch (cmd) {
    case "/sub": {
      if (!rest[0]) throw new UsageError("/sub CHANNEL [SINCE]");
      const msg: Record<string, unknown> = { type: "subscribe", channel: rest[0] };
      if (rest[1] !== undefined) msg.since = Number(rest[1]);
      return { send: JSON.stringify(msg) };
    }
    case "/unsub":
      if (!rest[0]) throw new UsageError("/unsub CHANNEL");
      return { send: JSON.stringify({ type: "unsubscribe", channel: rest[0] }) };
    case "/pub": {
      if (!rest[0] || rest.length < 2) throw new UsageError("/pub CHANNEL JSON");
      const raw = t.slice(t.indexOf(rest[0]) + rest[0].length).trim();
      let data: unknown;
      try {
        data = JSON.parse(raw);
      } catch {
        data = raw;
      }
      return { send: JSON.stringify({ type: "publish", channel: rest[0], data }) };
    }
    case "/ping":
      return { ping: true };
    case "/close":
      return { close: [rest[0] ? Number(rest[0]) : 1000, rest.slice(1).join(" ")] };
    default:
      throw new UsageError(`unknown command ${cmd} (try /sub, /unsub, /pub, /ping, /close)`);
  }
}

/** Ferry's answers to the client's own commands: shown, never counted as messages by `--count`. */
const REPLIES = new Set(["subscribed", "unsubscribed", "published", "error"]);

function isReply(data: Buffer): boolean {
  if (data[0] !== 0x7b /* { */) return false;
  try {
    const m = JSON.parse(data.toString("utf8")) as { type?: unknown };
    return typeof m.type === "string" && REPLIES.has(m.type);
  } catch {
    return false;
  }
}

function readCa(file: string): string {
  try {
    return readFileSync(file, "utf8");
  } catch (err) {
    throw new UsageError(
      `--cacert ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
}

export async function wsCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    strict: true,
    options: {
      subscribe: { type: "string", multiple: true },
      header: { type: "string", multiple: true },
      count: { type: "string" },
      "no-deflate": { type: "boolean" },
      cacert: { type: "string" },
    },
  });
  if (positionals.length !== 1) throw new UsageError("ws takes one URL");
  const url = positionals[0]!;
  if (!/^wss?:\/\//i.test(url)) throw new UsageError(`${url} is not a ws:// or wss:// URL`);
  const headers: Record<string, string> = {};
  for (const h of values.header ?? []) {
    const colon = h.indexOf(":");
    if (colon <= 0) throw new UsageError(`--header ${h}: expected NAME:VALUE`);
    headers[h.slice(0, colon).trim()] = h.slice(colon + 1).trim();
  }
  const count = values.count === undefined ? 0 : Number(values.count);
  if (!Number.isInteger(count) || count < 0) throw new UsageError("--count must be a whole number");
  let ws: WebSocketClient;
  try {
    const ca = values.cacert === undefined ? undefined : readCa(values.cacert);
    ws = await connectWebSocket(url, { headers, deflate: !values["no-deflate"], ca });
  } catch (err) {
    const why =
      err instanceof HandshakeError ? err.message : ((err as NodeJS.ErrnoException).code ?? String(err));
    process.stderr.write(`ferry ws: cannot connect to ${url}: ${why}\n`);
    return 1;
  }
  process.stderr.write(`connected to ${url}${ws.extensions ? ` (${ws.extensions})` : ""}\n`);
  for (const channel of values.subscribe ?? []) ws.send(JSON.stringify({ type: "subscribe", channel }));
  return new Promise((resolve) => {
    let received = 0;
    const rl =
      process.stdin.isTTY || !process.stdin.readableEnded ? createInterface({ input: process.stdin }) : null;
    ws.on("message", (data, binary) => {
      process.stdout.write(binary ? `<binary ${data.length} bytes>\n` : `${data.toString("utf8")}\n`);
      if (count > 0 && (binary || !isReply(data)) && ++received >= count) ws.close(1000, "");
    });
    ws.on("pong", () => process.stderr.write("pong\n"));
    ws.on("error", () => {});
    ws.on("close", (code, reason) => {
      process.stderr.write(`closed: ${code}${reason ? ` ${reason}` : ""}\n`);
      rl?.close();
      process.stdin.destroy();
      resolve(code === 1000 || code === 1001 || code === 1005 ? 0 : 1);
    });
    rl?.on("line", (line) => {
      try {
        const what = expandLine(line);
        if (what?.send !== undefined) ws.send(what.send);
        else if (what?.ping) ws.ping();
        else if (what?.close) ws.close(what.close[0], what.close[1]);
      } catch (err) {
        process.stderr.write(`${(err as Error).message}\n`);
      }
    });
    process.once("SIGINT", () => ws.close(1000, ""));
  });
}
