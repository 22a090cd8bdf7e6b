// Load generator for bench:realtime (run pinned to its own core): raw-socket subscribers that count
// frames, and a keep-alive HTTP publisher. Prints one JSON line of results.
// Usage: node realtime-load.js fanout PORT KEY SUBSCRIBERS MESSAGES
//        node realtime-load.js idle PORT SUBSCRIBERS   (connects, prints "ready", holds until stdin closes)
//        node realtime-load.js nodes PORT[,PORT…] KEY SUBSCRIBERS MESSAGES
//          (subscribers spread over the nodes, published on the first; one probe per node parses each
//          message and measures publish-to-delivery latency on the shared monotonic clock)
import { randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";

const [mode, portText] = process.argv.slice(2);
const port = Number(portText);

/** Opens one subscriber; resolves once its "subscribed" frame arrived. Counts the frames after it. */
let opened = 0;
function subscriber(counter, to = port) {
  return new Promise((resolve, reject) => {
    // Source addresses spread over 127.0.0.2–127.0.0.41, so repeated rounds of 10,000 connections
    // never run out of ephemeral ports while earlier ones sit in TIME_WAIT.
    const localAddress = `127.0.0.${2 + (opened++ % 40)}`;
    const s = net.connect({ host: "127.0.0.1", port: to, localAddress });
    s.setNoDelay(true);
    let handshaken = false;
    let buf = Buffer.alloc(0);
    let skip = 0; // payload bytes of the current frame still to skip
    let headerNeed = 0;
    s.on("error", reject);
    s.on("connect", () =>
      s.write(
        `GET /ws?subscribe=bench HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
          `Sec-WebSocket-Key: ${randomBytes(16).toString("base64")}\r\nSec-WebSocket-Version: 13\r\n\r\n`,
      ),
    );
    s.on("data", (chunk) => {
      let data = chunk;
      if (!handshaken) {
        buf = Buffer.concat([buf, chunk]);
        const end = buf.indexOf("\r\n\r\n");
        if (end < 0) return;
        if (!buf.subarray(0, 12).toString().includes("101")) return reject(new Error(buf.toString()));
        handshaken = true;
        data = buf.subarray(end + 4);
        buf = Buffer.alloc(0);
      }
      // Walk frame headers and skip payloads; the first frame is "subscribed".
      if (buf.length > 0) {
        data = Buffer.concat([buf, data]);
        buf = Buffer.alloc(0);
      }
      let i = 0;
      while (i < data.length) {
        if (skip > 0) {
          const take = Math.min(skip, data.length - i);
          skip -= take;
          i += take;
          continue;
        }
        if (data.length - i < 2) {
          buf = data.subarray(i);
          break;
        }
        let len = data[i + 1] & 0x7f;
        headerNeed = len === 126 ? 4 : len === 127 ? 10 : 2;
        if (data.length - i < headerNeed) {
          buf = data.subarray(i);
          break;
        }
        if (len === 126) len = data.readUInt16BE(i + 2);
        else if (len === 127) len = Number(data.readBigUInt64BE(i + 2));
        i += headerNeed;
        skip = len;
        if (s.subscribed) counter.frames++;
        else {
          s.subscribed = true;
          resolve(s);
        }
      }
    });
  });
}

async function openMany(n, counter, ports = [port]) {
  const sockets = [];
  for (let i = 0; i < n; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 200); j++) batch.push(subscriber(counter, ports[j % ports.length]));
    sockets.push(...(await Promise.all(batch)));
  }
  return sockets;
}

if (mode === "fanout") {
  const [key, subsText, msgsText] = process.argv.slice(4);
  const subscribers = Number(subsText);
  const messages = Number(msgsText);
  const counter = { frames: 0 };
  const sockets = await openMany(subscribers, counter);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const body = (i) =>
    JSON.stringify({
      channel: "bench",
      data: {
        symbol: "KRW-BTC",
        price: 94_000_000 + i,
        change: 0.0123,
        volume: 1234.5678,
        ts: 1_764_000_000_000 + i,
      },
    });
  const post = (i) =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port,
          path: "/ws",
          method: "POST",
          agent,
          headers: { authorization: `Bearer ${key}` },
        },
        (res) => {
          res.resume();
          res.on("end", () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`publish ${res.statusCode}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(body(i));
    });
  const expected = subscribers * messages;
  const started = performance.now();
  let next = 0;
  // Four publishers in flight over keep-alive connections.
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < messages) await post(next++);
    }),
  );
  const deadline = Date.now() + 60_000;
  while (counter.frames < expected && Date.now() < deadline) await new Promise((r) => setImmediate(r));
  const seconds = (performance.now() - started) / 1000;
  for (const s of sockets) s.destroy();
  agent.destroy();
  console.log(
    JSON.stringify({ frames: counter.frames, expected, seconds, framesPerSecond: counter.frames / seconds }),
  );
  process.exit(0);
} else if (mode === "nodes") {
  const ports = portText.split(",").map(Number);
  const [key, subsText, msgsText] = process.argv.slice(4);
  const subscribers = Number(subsText);
  const messages = Number(msgsText);
  const counter = { frames: 0 };
  const sockets = await openMany(subscribers, counter, ports);
  const latencies = [];
  // Probes: a WebSocket client per node that reads each message's send time (ns, monotonic).
  const { default: WebSocket } = await import("ws");
  const probes = await Promise.all(
    ports.map(
      (p) =>
        new Promise((resolve, reject) => {
          const ws = new WebSocket(`ws://127.0.0.1:${p}/ws?subscribe=bench`);
          ws.on("message", (d) => {
            const m = JSON.parse(String(d));
            if (m.type === "message")
              latencies.push(Number(process.hrtime.bigint() - BigInt(m.data.t)) / 1e6);
          });
          ws.on("open", () => setTimeout(() => resolve(ws), 200));
          ws.on("error", reject);
        }),
    ),
  );
  const agent = new http.Agent({ keepAlive: true, maxSockets: 4 });
  const post = () =>
    new Promise((resolve, reject) => {
      const req = http.request(
        {
          host: "127.0.0.1",
          port: ports[0],
          path: "/ws",
          method: "POST",
          agent,
          headers: { authorization: `Bearer ${key}` },
        },
        (res) => {
          res.resume();
          res.on("end", () =>
            res.statusCode === 200 ? resolve() : reject(new Error(`publish ${res.statusCode}`)),
          );
        },
      );
      req.on("error", reject);
      req.end(
        JSON.stringify({
          channel: "bench",
          data: { symbol: "KRW-BTC", price: 94_000_000, t: String(process.hrtime.bigint()) },
        }),
      );
    });
  const expected = subscribers * messages;
  const started = performance.now();
  let next = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next++ < messages) await post();
    }),
  );
  const deadline = Date.now() + 60_000;
  while ((counter.frames < expected || latencies.length < messages * ports.length) && Date.now() < deadline)
    await new Promise((r) => setImmediate(r));
  const seconds = (performance.now() - started) / 1000;
  for (const s of sockets) s.destroy();
  for (const ws of probes) ws.terminate();
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (f) => latencies[Math.min(latencies.length - 1, Math.floor(f * latencies.length))] ?? Number.NaN;
  console.log(
    JSON.stringify({
      frames: counter.frames,
      expected,
      seconds,
      framesPerSecond: counter.frames / seconds,
      p50: q(0.5),
      p99: q(0.99),
    }),
  );
  process.exit(0);
} else if (mode === "idle") {
  const subscribers = Number(process.argv[4]);
  const counter = { frames: 0 };
  const sockets = await openMany(subscribers, counter);
  console.log(JSON.stringify({ ready: sockets.length }));
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
