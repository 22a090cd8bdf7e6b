// A floor for bench:realtime (BENCH_FLOOR=1): a bare net server that answers the handshake by hand.

import { createHash } from "node:crypto";
import net from "node:net";

const port = Number(process.argv[2]);
function onData() {}
const srv = net.createServer((s) => {
  s.once("data", (d) => {
    const text = d.toString("latin1");
    if (text.startsWith("POST")) {
      s.end('HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: 12\r\n\r\n{"offset":1}');
      return;
    }
    const key = /Sec-WebSocket-Key: (\S+)/i.exec(text)[1];
    const accept = createHash("sha1").update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest("base64");
    s.write(
      `HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: ${accept}\r\n\r\n`,
    );
    s.write(Buffer.from([0x81, 2, 0x7b, 0x7d]));
    s.on("data", onData);
  });
  s.on("error", () => {});
});
srv.maxConnections = 100000;
srv.listen(port, "127.0.0.1");
