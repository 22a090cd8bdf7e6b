// Peer for bench/http.js: @fastify/static on fastify, logging off.
import fastifyStatic from "@fastify/static";
import Fastify from "fastify";

const [dir, port] = process.argv.slice(2);
const app = Fastify({ logger: false });
await app.register(fastifyStatic, { root: dir });
await app.listen({ host: "127.0.0.1", port: Number(port) });
console.log("ready");
