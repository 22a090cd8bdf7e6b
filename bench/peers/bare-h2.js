// Peer for bench/tls.js: a bare node:http2 server (core stream API) answering 1 KiB from memory: the
// ceiling of any Node server on HTTP/2 here.
import { readFileSync } from "node:fs";
import http2 from "node:http2";

const [cert, key, port] = process.argv.slice(2);
const body = Buffer.from("Ferry benchmark payload. ".repeat(41).slice(0, 1024));
const server = http2.createSecureServer({
  cert: readFileSync(cert),
  key: readFileSync(key),
  minVersion: "TLSv1.2",
  allowHTTP1: false,
  settings: { maxConcurrentStreams: 100 },
});
server.on("stream", (stream) => {
  stream.respond({ ":status": 200, "content-type": "text/plain", "content-length": body.length });
  stream.end(body);
});
server.listen(Number(port), "127.0.0.1");
