// The ceiling for bench:http: a node:net server that answers every request of a connection with one
// prepared response (head and body in one buffer) without parsing anything but the count of request
// ends. No TypeScript HTTP server on one core can beat it; it shows what parsing and files cost.
import { readFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";

const [dir, port] = process.argv.slice(2);
const replies = new Map();
for (const name of ["1k.txt", "100k.txt"]) {
  const body = readFileSync(path.join(dir, name));
  const head = `HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: ${body.length}\r\n\r\n`;
  replies.set(name, Buffer.concat([Buffer.from(head, "latin1"), body]));
}
const END = Buffer.from("\r\n\r\n");
net
  .createServer({ noDelay: true }, (s) => {
    s.on("data", (d) => {
      // wrk asks for one file per connection: the target decides which reply.
      const reply = d.includes("100k.txt") ? replies.get("100k.txt") : replies.get("1k.txt");
      let at = d.indexOf(END);
      while (at >= 0) {
        s.write(reply);
        at = d.indexOf(END, at + 4);
      }
    });
    s.on("error", () => s.destroy());
  })
  .listen(Number(port), "127.0.0.1", () => console.log("ready"));
