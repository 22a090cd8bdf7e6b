// Peer for bench/http.js: sirv on node:http, production settings.
import http from "node:http";
import sirv from "sirv";

const [dir, port] = process.argv.slice(2);
http
  .createServer(sirv(dir, { etag: true, dev: false }))
  .listen(Number(port), "127.0.0.1", () => console.log("ready"));
