// Reference for bench/http.js: bare node:http answering one buffer read at start (no file logic at all).
import { readFileSync } from "node:fs";
import http from "node:http";
import path from "node:path";

const [dir, port] = process.argv.slice(2);
const files = new Map();
for (const name of ["1k.txt", "100k.txt"]) files.set(`/${name}`, readFileSync(path.join(dir, name)));
http
  .createServer((req, res) => {
    const body = files.get(req.url);
    if (!body) {
      res.writeHead(404).end();
      return;
    }
    res.writeHead(200, ["Content-Type", "text/plain", "Content-Length", String(body.length)]);
    res.end(body);
  })
  .listen(Number(port), "127.0.0.1", () => console.log("ready"));
