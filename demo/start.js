// `npm start`: runs Ferry with demo/ferry.yaml, waits until Ferry itself says that every listener is
// up, then runs the market feed and prints where to look. If Ferry cannot start (a port taken, say),
// its own message is all that is printed and nothing else starts. Ctrl-C stops both.
import { spawn } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startMarketFeed } from "./market-feed.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const HTTP_PORT = 8080;
const KEY = "demo-publish-key";

const ferry = spawn(process.execPath, [path.join(here, "../bin/ferry.js"), "serve", "--config", path.join(here, "ferry.yaml")], {
  stdio: ["ignore", "inherit", "pipe"],
});

let stopFeed = () => {};
let started = false;
ferry.on("exit", (code, signal) => {
  stopFeed();
  process.exit(code ?? (signal ? 0 : 1));
});
for (const sig of ["SIGINT", "SIGTERM"]) {
  process.on(sig, () => {
    stopFeed();
    ferry.kill(sig);
  });
}

// Ferry's stderr passes through; its startup lines tell when the site, the inspector and DNS are up.
let seen = "";
ferry.stderr.on("data", (chunk) => {
  process.stderr.write(chunk);
  if (started) return;
  seen += chunk;
  if (
    seen.includes(`Ferry serving http://127.0.0.1:${HTTP_PORT}/`) &&
    seen.includes("Ferry inspector on http://127.0.0.1:8081/") &&
    seen.includes("Ferry answering DNS on 127.0.0.1:8053")
  ) {
    started = true;
    seen = "";
    ready();
  }
});

function ready() {
  stopFeed = startMarketFeed({ port: HTTP_PORT, key: KEY });
  process.stderr.write(
    [
      "",
      "  Ferry demo",
      `  site      http://127.0.0.1:${HTTP_PORT}/`,
      `  market    http://127.0.0.1:${HTTP_PORT}/market.html   (live prices over ws://127.0.0.1:${HTTP_PORT}/ws)`,
      "  inspector http://127.0.0.1:8081/   (every DNS query, HTTP exchange and WebSocket frame, live)",
      "  logs      tail -f demo/logs/access.log",
      "  try       npx ferry lookup www.ferry.test --server 127.0.0.1:8053",
      `            npx ferry fetch http://www.ferry.test:${HTTP_PORT}/ --dns 127.0.0.1:8053`,
      `            npx ferry ws ws://127.0.0.1:${HTTP_PORT}/ws --subscribe ticker:KRW-BTC`,
      "  publish   curl -H 'Authorization: Bearer " + KEY + "' -d '{\"channel\":\"demo:hello\",\"data\":\"hi\"}' http://127.0.0.1:" + HTTP_PORT + "/ws",
      "",
      "",
    ].join("\n"),
  );
}
