// `npm start`: runs Ferry with demo/ferry.yaml, waits until it answers, then runs the market feed
// and prints where to look. Ctrl-C stops both.
import { spawn } from "node:child_process";
import net from "node:net";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { startMarketFeed } from "./market-feed.js";

const here = path.dirname(fileURLToPath(import.meta.url));
const HTTP_PORT = 8080;
const KEY = "demo-publish-key";

const ferry = spawn(process.execPath, [path.join(here, "../bin/ferry.js"), "serve", "--config", path.join(here, "ferry.yaml")], {
  stdio: "inherit",
});

function answers(port) {
  return new Promise((resolve) => {
    const c = net.connect(port, "127.0.0.1", () => {
      c.destroy();
      resolve(true);
    });
    c.on("error", () => resolve(false));
  });
}

let stopFeed = () => {};
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

for (let i = 0; i < 100 && ferry.exitCode === null; i++) {
  if (await answers(HTTP_PORT)) break;
  await new Promise((r) => setTimeout(r, 100));
}
if (ferry.exitCode === null) {
  stopFeed = startMarketFeed({ port: HTTP_PORT, key: KEY });
  process.stderr.write(
    [
      "",
      "  Ferry demo",
      `  site      http://127.0.0.1:${HTTP_PORT}/`,
      `  market    http://127.0.0.1:${HTTP_PORT}/market.html   (live prices over ws://127.0.0.1:${HTTP_PORT}/ws)`,
      "  inspector http://127.0.0.1:8081/   (every DNS query, HTTP exchange and WebSocket frame, live)",
      "  try       npx ferry lookup www.ferry.test --server 127.0.0.1:8053",
      `            npx ferry fetch http://www.ferry.test:${HTTP_PORT}/ --dns 127.0.0.1:8053`,
      `            npx ferry ws ws://127.0.0.1:${HTTP_PORT}/ws --subscribe ticker:KRW-BTC`,
      "  publish   curl -H 'Authorization: Bearer " + KEY + "' -d '{\"channel\":\"demo:hello\",\"data\":\"hi\"}' http://127.0.0.1:" + HTTP_PORT + "/ws",
      "",
      "",
    ].join("\n"),
  );
}
