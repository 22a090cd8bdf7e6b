/** Test helpers for DNS: a Knot server started on loopback, a raw query client, and a comparable summary of answers. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import dgram from "node:dgram";
import { copyFileSync, mkdtempSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { Flag, RRType, typeName } from "../src/dns/wire/constants.js";
import type { Message, Record } from "../src/dns/wire/message.js";
import { decodeMessage } from "../src/dns/wire/reader.js";
import { encodeMessage } from "../src/dns/wire/writer.js";

export function hasKnot(): boolean {
  return spawnSync("sh", ["-c", "command -v knotd"]).status === 0;
}

/** Starts knotd (one UDP and one TCP worker) serving one zone file; resolves once the zone answers. */
export async function startKnot(
  zoneFile: string,
  origin: string,
): Promise<{ child: ChildProcess; port: number }> {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-knot-"));
  const file = path.join(dir, path.basename(zoneFile));
  copyFileSync(zoneFile, file);
  const port = await freePort();
  writeFileSync(
    path.join(dir, "knot.conf"),
    `server:
    listen: 127.0.0.1@${port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    rundir: ${dir}
    user: root:root
database:
    storage: ${dir}/db
log:
  - target: stderr
    any: error
template:
  - id: default
    storage: ${dir}
    semantic-checks: off
    journal-content: none
    zonefile-sync: -1
zone:
  - domain: ${origin}
    file: ${file}
`,
  );
  const child = spawn("knotd", ["-c", path.join(dir, "knot.conf")], {
    stdio: ["ignore", "ignore", "inherit"],
  });
  for (let i = 0; i < 50; i++) {
    const r = await ask(port, query(origin, RRType.SOA), true, 300);
    if (r && summary(r).answer.length === 1) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  return { child, port };
}

export function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** Sends one query over UDP or TCP; resolves to the answer, or null when none came within `wait` ms (or TCP closed). */
export function ask(port: number, wire: Buffer, tcp: boolean, wait = 1500): Promise<Buffer | null> {
  return new Promise((resolve) => {
    if (!tcp) {
      const s = dgram.createSocket("udp4");
      const timer = setTimeout(() => {
        s.close();
        resolve(null);
      }, wait);
      s.on("message", (m) => {
        clearTimeout(timer);
        s.close();
        resolve(m);
      });
      s.send(wire, port, "127.0.0.1");
      return;
    }
    const c = net.connect(port, "127.0.0.1");
    const done = (v: Buffer | null) => {
      clearTimeout(timer);
      c.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => done(null), wait);
    const len = Buffer.alloc(2);
    len.writeUInt16BE(wire.length);
    c.write(Buffer.concat([len, wire]));
    let buf = Buffer.alloc(0);
    c.on("data", (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      if (buf.length >= 2 && buf.length >= 2 + buf.readUInt16BE(0))
        done(buf.subarray(2, 2 + buf.readUInt16BE(0)));
    });
    c.on("close", () => done(null));
    c.on("error", () => done(null));
  });
}

/** Asks and insists on an answer. */
export async function must(port: number, wire: Buffer, tcp: boolean): Promise<Buffer> {
  const a = await ask(port, wire, tcp);
  if (a === null) throw new Error(`no answer from port ${port} (${tcp ? "tcp" : "udp"})`);
  return a;
}

export function query(
  name: string,
  type: number,
  opts: { edns?: boolean; payload?: number; version?: number; id?: number } = {},
): Buffer {
  const msg: Message = {
    id: opts.id ?? 4242,
    flags: Flag.RD,
    opcode: 0,
    rcode: 0,
    questions: [{ name, type, klass: 1 }],
    answers: [],
    authority: [],
    additional: opts.edns
      ? [
          {
            name: "",
            type: RRType.OPT,
            klass: opts.payload ?? 1232,
            ttl: (opts.version ?? 0) << 16,
            data: { type: "opt", options: [] },
          },
        ]
      : [],
  };
  return encodeMessage(msg);
}

function show(r: Record): string {
  const d = r.data;
  const data = JSON.stringify(d, (_k, v) =>
    v && typeof v === "object" && v.type === "Buffer"
      ? Buffer.from(v.data).toString("hex")
      : typeof v === "string"
        ? v.toLowerCase()
        : v,
  );
  return `${r.name.toLowerCase()} ${r.ttl} ${typeName(r.type)} ${data}`;
}

/** What must agree: rcode, header flags, question, and each section as a sorted list. */
export function summary(wire: Buffer) {
  const m = decodeMessage(wire);
  const opt = m.additional.find((r) => r.type === RRType.OPT);
  const ext = opt ? (opt.ttl >>> 24) << 4 : 0;
  return {
    rcode: m.rcode | ext,
    flags: ["QR", "AA", "TC", "RD", "RA"].filter((f) => m.flags & Flag[f as keyof typeof Flag]).join(" "),
    question: m.questions.map((q) => `${q.name} ${typeName(q.type)}`),
    answer: m.answers.map(show).sort(),
    authority: m.authority.map(show).sort(),
    additional: m.additional
      .filter((r) => r.type !== RRType.OPT)
      .map(show)
      .sort(),
    opt: opt ? { payload: opt.klass, version: (opt.ttl >>> 16) & 0xff } : null,
  };
}
