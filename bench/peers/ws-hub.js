// The same realtime contract built the way most Node projects would: node:http + the `ws` package.
// GET /ws?subscribe=a,b upgrades; {"type":"subscribe","channel":C} subscribes; POST /ws with
// Authorization: Bearer KEY and {"channel","data"} publishes {"type":"message",…} to each subscriber.
// Usage: node ws-hub.js PORT KEY
import http from "node:http";
import { WebSocketServer } from "ws";

const [port, key] = [Number(process.argv[2]), process.argv[3]];
const channels = new Map(); // name → { offset, subscribers: Set<WebSocket> }

function channel(name) {
  let ch = channels.get(name);
  if (!ch) {
    ch = { offset: 0, subscribers: new Set() };
    channels.set(name, ch);
  }
  return ch;
}

function subscribe(ws, name) {
  const ch = channel(name);
  ch.subscribers.add(ws);
  ws.channels.add(name);
  ws.send(JSON.stringify({ type: "subscribed", channel: name, offset: ch.offset }));
}

const server = http.createServer((req, res) => {
  if (req.method !== "POST" || !req.url.startsWith("/ws")) {
    res.writeHead(404).end();
    return;
  }
  if (req.headers.authorization !== `Bearer ${key}`) {
    res.writeHead(401).end();
    return;
  }
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    let body;
    try {
      body = JSON.parse(Buffer.concat(chunks).toString());
    } catch {
      res.writeHead(400).end();
      return;
    }
    const ch = channel(body.channel);
    const offset = ++ch.offset;
    const text = JSON.stringify({ type: "message", channel: body.channel, offset, data: body.data });
    for (const ws of ch.subscribers) ws.send(text);
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ offset }));
  });
});
server.maxConnections = 100_000;

const wss = new WebSocketServer({ server, path: "/ws", perMessageDeflate: false });
wss.on("connection", (ws, req) => {
  ws.channels = new Set();
  const wanted = new URL(req.url, "http://x").searchParams.get("subscribe");
  if (wanted) for (const name of wanted.split(",")) subscribe(ws, name);
  ws.on("message", (data) => {
    try {
      const m = JSON.parse(data.toString());
      if (m.type === "subscribe") subscribe(ws, m.channel);
    } catch {}
  });
  ws.on("close", () => {
    for (const name of ws.channels) channels.get(name)?.subscribers.delete(ws);
  });
});
server.listen(port, "127.0.0.1");
