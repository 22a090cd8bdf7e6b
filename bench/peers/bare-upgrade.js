// A floor for bench:realtime (BENCH_FLOOR=1): node:http accepting upgrades and doing nothing else.

import { createHash } from "node:crypto";
import http from "node:http";

const port = Number(process.argv[2]);
const server = http.createServer((_req, res) => {
  res.writeHead(200).end('{"offset":1}');
});
server.maxConnections = 100000;
const subs = new Set();
function onData() {}
server.on("upgrade", (req, socket) => {
  const accept = createHash("sha1")
    .update(`${req.headers["sec-websocket-key"]}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`)
    .digest("base64");
  socket.write(
    `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
  );
  socket.write(Buffer.from([0x81, 2, 0x7b, 0x7d]));
  socket.on("data", onData);
  socket.on("error", () => {});
  subs.add(socket);
});
server.listen(port, "127.0.0.1");
