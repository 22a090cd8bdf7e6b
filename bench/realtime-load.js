// Load generator for bench:realtime (run pinned to its own core): raw-socket subscribers that count
// frames, and a keep-alive HTTP publisher. Prints one JSON line of results.
// Usage: node realtime-load.js fanout PORT KEY SUBSCRIBERS MESSAGES
//        node realtime-load.js idle PORT SUBSCRIBERS   (connects, prints "ready", holds until stdin closes)
import { randomBytes } from "node:crypto";
import http from "node:http";
import net from "node:net";

const [mode, portText] = process.argv.slice(2);
const port = Number(portText);

/** Opens one subscriber; resolves once its "subscribed" frame arrived. Counts the frames after it. */
let opened = 0;
function subscriber(counter) {
  return new Promise((resolve, reject) => {
    // Source addresses spread over 127.0.0.2–127.0.0.41, so repeated rounds of 10,000 connections
    // never run out of ephemeral ports while earlier ones sit in TIME_WAIT.
    const localAddress = `127.0.0.${2 + (opened++ % 40)}`;
    const s = net.connect({ host: "127.0.0.1", port, localAddress });
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

async function openMany(n, counter) {
  const sockets = [];
  for (let i = 0; i < n; i += 200) {
    const batch = [];
    for (let j = i; j < Math.min(n, i + 200); j++) batch.push(subscriber(counter));
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
} else if (mode === "idle") {
  const subscribers = Number(process.argv[4]);
  const counter = { frames: 0 };
  const sockets = await openMany(subscribers, counter);
  console.log(JSON.stringify({ ready: sockets.length }));
  process.stdin.resume();
  process.stdin.on("end", () => process.exit(0));
}
