// Peer for bench/proxy.js: node-http-proxy (what most Node projects use), with or without a keep-alive agent.
import http from "node:http";
import httpProxy from "http-proxy";

const [upstream, port, mode] = process.argv.slice(2);
const agent =
  mode === "keepalive" ? new http.Agent({ keepAlive: true, maxSockets: 256, maxFreeSockets: 32 }) : undefined;
const proxy = httpProxy.createProxyServer({ target: `http://${upstream}`, agent, xfwd: true });
proxy.on("error", (_err, _req, res) => {
  res.writeHead?.(502);
  res.end();
});
http.createServer((req, res) => proxy.web(req, res)).listen(Number(port), "127.0.0.1");
