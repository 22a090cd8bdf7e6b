/** Test helpers: temp sites, a Ferry HTTP service on a free loopback port, and a raw-socket HTTP/1.1 client. */
import { spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import type { TestContext } from "node:test";
import { HttpApp } from "../src/app/http.js";
import type { UserConfig } from "../src/core/config/types.js";
import { buildConfig, engineArgs } from "./engine-under-test.js";

/** Creates a temp folder holding `files` (path → content). */
export function tmpSite(files: Record<string, string | Buffer>): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-test-"));
  for (const [name, content] of Object.entries(files)) {
    const full = path.join(dir, name);
    mkdirSync(path.dirname(full), { recursive: true });
    writeFileSync(full, content);
  }
  return dir;
}

/** A running HTTP service for one test. */
export interface TestServer {
  port: number;
  service: HttpApp;
  close(): Promise<void>;
}

/** Starts Ferry's HTTP service on 127.0.0.1 with a free port; `http` is the user config's `http` section. */
export async function startHttp(
  http: NonNullable<UserConfig["http"]>,
  baseDir = process.cwd(),
): Promise<TestServer> {
  const config = buildConfig({ http: { listen: ["127.0.0.1:0"], ...http } }, { baseDir, source: null });
  const service = await HttpApp.start(config.http!);
  return { port: service.addresses[0]!.port, service, close: () => service.close(100) };
}

/** One parsed HTTP/1.1 response. */
export interface RawResponse {
  status: number;
  statusLine: string;
  headers: Record<string, string>;
  body: Buffer;
}

/** The result of a raw exchange: the responses parsed and whether the server closed the connection. */
export interface RawExchange {
  responses: RawResponse[];
  closed: boolean;
  rest: Buffer;
}

function parseOne(buf: Buffer, head: boolean): { res: RawResponse; used: number } | null {
  const end = buf.indexOf("\r\n\r\n");
  if (end < 0) return null;
  const lines = buf.subarray(0, end).toString("latin1").split("\r\n");
  const statusLine = lines[0]!;
  const status = Number(statusLine.split(" ")[1]);
  const headers: Record<string, string> = {};
  for (const l of lines.slice(1)) {
    const i = l.indexOf(":");
    const k = l.slice(0, i).trim().toLowerCase();
    const v = l.slice(i + 1).trim();
    headers[k] = headers[k] === undefined ? v : `${headers[k]}, ${v}`;
  }
  let pos = end + 4;
  const noBody = head || status === 304 || status === 204 || (status >= 100 && status < 200);
  if (noBody) return { res: { status, statusLine, headers, body: Buffer.alloc(0) }, used: pos };
  if (headers["transfer-encoding"]?.includes("chunked")) {
    const parts: Buffer[] = [];
    for (;;) {
      const le = buf.indexOf("\r\n", pos);
      if (le < 0) return null;
      const size = Number.parseInt(buf.subarray(pos, le).toString("latin1"), 16);
      if (buf.length < le + 2 + size + 2) return null;
      if (size === 0) {
        pos = le + 4;
        break;
      }
      parts.push(buf.subarray(le + 2, le + 2 + size));
      pos = le + 2 + size + 2;
    }
    return { res: { status, statusLine, headers, body: Buffer.concat(parts) }, used: pos };
  }
  const len = headers["content-length"] !== undefined ? Number(headers["content-length"]) : -1;
  if (len < 0) return null; // read until close
  if (buf.length < pos + len) return null;
  return { res: { status, statusLine, headers, body: buf.subarray(pos, pos + len) }, used: pos + len };
}

/**
 * Sends raw bytes and parses up to `expect` responses. Resolves when that many
 * arrived (or the server closed, or `timeout` ms passed). `heads` marks which
 * responses answer HEAD (no body).
 */
export function rawExchange(
  port: number,
  data: string | Buffer | (string | Buffer)[],
  opts: { expect?: number; timeout?: number; heads?: boolean[]; waitClose?: boolean; gapMs?: number } = {},
): Promise<RawExchange> {
  const expect = opts.expect ?? 1;
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, "127.0.0.1");
    let buf = Buffer.alloc(0);
    const responses: RawResponse[] = [];
    let done = false;
    const finish = (closed: boolean) => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      sock.destroy();
      resolve({ responses, closed, rest: buf });
    };
    const timer = setTimeout(() => finish(false), opts.timeout ?? 5000);
    const parse = () => {
      for (;;) {
        const r = parseOne(buf, opts.heads?.[responses.length] ?? false);
        if (!r) break;
        responses.push(r.res);
        buf = buf.subarray(r.used);
      }
      if (responses.length >= expect && !opts.waitClose) finish(false);
    };
    sock.on("data", (c) => {
      buf = Buffer.concat([buf, c]);
      parse();
    });
    sock.on("end", () => {
      // A body without length runs to the close.
      const end = buf.indexOf("\r\n\r\n");
      if (end >= 0 && responses.length < expect) {
        const r = parseOne(Buffer.concat([buf, Buffer.from("")]), false);
        if (!r) {
          const headText = buf.subarray(0, end).toString("latin1");
          const status = Number(headText.split(" ")[1]);
          responses.push({
            status,
            statusLine: headText.split("\r\n")[0]!,
            headers: {},
            body: buf.subarray(end + 4),
          });
          buf = Buffer.alloc(0);
        }
      }
      finish(true);
    });
    sock.on("error", (e) => (done ? undefined : reject(e)));
    const chunks = Array.isArray(data) ? data : [data];
    let i = 0;
    const writeNext = () => {
      if (i >= chunks.length || sock.destroyed) return;
      sock.write(chunks[i++]!);
      if (i < chunks.length) setTimeout(writeNext, opts.gapMs ?? 0);
    };
    sock.on("connect", writeNext);
  });
}

/** A GET (or other method) over a raw socket; `headers` are extra request header lines. */
export async function get(
  port: number,
  target: string,
  headers: Record<string, string> = {},
  method = "GET",
): Promise<RawResponse> {
  const lines = [`${method} ${target} HTTP/1.1`, "Host: localhost", "Connection: close"];
  for (const [k, v] of Object.entries(headers)) {
    if (k.toLowerCase() === "host") lines[1] = `Host: ${v}`;
    else lines.push(`${k}: ${v}`);
  }
  const ex = await rawExchange(port, `${lines.join("\r\n")}\r\n\r\n`, { heads: [method === "HEAD"] });
  if (ex.responses.length === 0) throw new Error(`no response to ${method} ${target}`);
  return ex.responses[0]!;
}

/**
 * Whether a Debian tool is there. Without it the test skips with the package
 * to install, except under CI=true where a missing tool fails the test.
 */
export function needTool(t: TestContext, tool: string, pkg: string): boolean {
  const found = spawnSync("sh", ["-c", `command -v ${tool}`]).status === 0;
  if (found) return true;
  if (process.env.CI === "true")
    throw new Error(`${tool} is missing under CI=true: install the Debian package ${pkg}`);
  t.skip(`${tool} not found: apt-get install ${pkg}`);
  return false;
}

/** A `ferry serve` process started by a test, with what it printed so far. */
export interface FerryProcess {
  child: import("node:child_process").ChildProcess;
  /** The first group of each `waitFor` pattern, in order (e.g. ports). */
  found: string[];
  stdout: () => string;
  stderr: () => string;
}

/** Starts the `ferry` binary with `args`; resolves once stderr matched every pattern of `waitFor`. */
export function spawnFerry(
  args: string[],
  waitFor: RegExp[],
  cwd = process.cwd(),
  env: NodeJS.ProcessEnv = process.env,
): Promise<FerryProcess> {
  const bin = new URL("../../bin/ferry.js", import.meta.url).pathname;
  const child = spawn(process.execPath, [bin, ...engineArgs(args)], {
    cwd,
    env,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  child.stdout!.on("data", (c: Buffer) => (out += c));
  return new Promise((resolve, reject) => {
    child.stderr!.on("data", (c: Buffer) => {
      err += c;
      const found = waitFor.map((re) => re.exec(err)?.[1]);
      if (found.every((f) => f !== undefined))
        resolve({ child, found: found as string[], stdout: () => out, stderr: () => err });
    });
    child.on("exit", (code) => reject(new Error(`ferry exited ${code}: ${err}`)));
  });
}

/** Polls `cond` every 20 ms; fails naming `what` when it is still false after `ms`. */
export async function waitFor(
  cond: () => boolean,
  what: string,
  ms = 5000,
  seen?: () => string,
): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline)
      throw new Error(`timed out after ${ms} ms waiting for ${what}${seen ? `; seen: ${seen()}` : ""}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

/** A self-signed ECDSA certificate for `name` made by openssl, as `DIR/FILE.crt` and `DIR/FILE.key`. */
export function selfSignedCert(
  dir: string,
  name: string,
  file: string,
  moreNames: string[] = [],
): { cert: string; key: string } {
  const cert = path.join(dir, `${file}.crt`);
  const key = path.join(dir, `${file}.key`);
  const san = [name, ...moreNames].map((n) => (net.isIP(n) ? `IP:${n}` : `DNS:${n}`)).join(",");
  const r = spawnSync("openssl", [
    "req",
    "-x509",
    "-newkey",
    "ec",
    "-pkeyopt",
    "ec_paramgen_curve:P-256",
    "-nodes",
    "-keyout",
    key,
    "-out",
    cert,
    "-days",
    "2",
    "-subj",
    `/CN=${name}`,
    "-addext",
    `subjectAltName=${san}${name === "localhost" ? ",IP:127.0.0.1" : ""}`,
  ]);
  if (r.status !== 0) throw new Error(`openssl req failed: ${r.stderr.toString()}`);
  return { cert, key };
}
