/** Real DNS secondaries for the transfer tests: Knot (knotd) and BIND (named), started on loopback with their own folders. */
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";

export interface Secondary {
  child: ChildProcess;
  port: number;
  /** What the server printed so far (Knot and BIND log to stderr in the foreground). */
  log: () => string;
  stop: () => void;
}

export interface SecondaryOptions {
  zone: string;
  port: number;
  primaryPort: number;
  /** A TSIG key both sides know; null: unsigned. */
  key: { name: string; algorithm: string; secret: string } | null;
}

function start(cmd: string, args: string[], port: number): Secondary {
  const child = spawn(cmd, args, { stdio: ["ignore", "pipe", "pipe"] });
  let log = "";
  child.stdout!.on("data", (c: Buffer) => (log += c));
  child.stderr!.on("data", (c: Buffer) => (log += c));
  return { child, port, log: () => log, stop: () => child.kill("SIGKILL") };
}

/**
 * A knotd of one zone on 127.0.0.1@`port`: a remote `ferry` at `peerPort` and an ACL for 127.0.0.1
 * (both with the key when there is one) allowing `action`; `zone` is the zone's own lines.
 */
function startKnot(o: {
  port: number;
  peerPort: number;
  key: SecondaryOptions["key"];
  action: "notify" | "transfer";
  template: string;
  zone: string;
}): { secondary: Secondary; conf: string } {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-knot2-"));
  mkdirSync(path.join(dir, "db"));
  const k = o.key;
  const conf = path.join(dir, "knot.conf");
  writeFileSync(
    conf,
    `server:
    listen: 127.0.0.1@${o.port}
    udp-workers: 1
    tcp-workers: 1
    background-workers: 1
    rundir: ${dir}
    user: root:root
database:
    storage: ${dir}/db
log:
  - target: stderr
    any: info
${k ? `key:\n  - id: ${k.name}\n    algorithm: ${k.algorithm}\n    secret: ${k.secret}\n` : ""}remote:
  - id: ferry
    address: 127.0.0.1@${o.peerPort}
${k ? `    key: ${k.name}\n` : ""}acl:
  - id: ferry_acl
    address: 127.0.0.1
${k ? `    key: ${k.name}\n` : ""}    action: ${o.action}
template:
  - id: default
    storage: ${dir}
    zonefile-sync: -1
    journal-content: changes
${o.template}zone:
${o.zone}`,
  );
  return { secondary: start("knotd", ["-c", conf], o.port), conf };
}

/** knotd as a secondary of Ferry: NOTIFY accepted from 127.0.0.1 (with the key when there is one). */
export function startKnotSecondary(o: SecondaryOptions): Secondary {
  return startKnot({
    port: o.port,
    peerPort: o.primaryPort,
    key: o.key,
    action: "notify",
    template: "",
    zone: `  - domain: ${o.zone}\n    master: ferry\n    acl: ferry_acl\n`,
  }).secondary;
}

/** named (BIND 9) as a secondary of Ferry, foreground, no control channel, nothing outside its folder. */
export function startBindSecondary(o: SecondaryOptions): Secondary {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-named-"));
  const k = o.key;
  writeFileSync(
    path.join(dir, "named.conf"),
    `options {
  directory "${dir}";
  pid-file "${dir}/named.pid";
  session-keyfile "${dir}/session.key";
  managed-keys-directory "${dir}";
  listen-on port ${o.port} { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  notify no;
};
controls { };
${k ? `key "${k.name}" { algorithm ${k.algorithm}; secret "${k.secret}"; };\n` : ""}zone "${o.zone}" {
  type secondary;
  primaries port ${o.primaryPort} { 127.0.0.1${k ? ` key "${k.name}"` : ""}; };
  file "${dir}/${o.zone}.bk";
  allow-notify { 127.0.0.1; };
};
`,
  );
  return start("named", ["-g", "-c", path.join(dir, "named.conf"), "-n", "1"], o.port);
}

/** knotd as Ferry's primary: serves `file`, lets 127.0.0.1 transfer it (with the key when there is one), NOTIFYs Ferry. */
export function startKnotPrimary(o: {
  zone: string;
  file: string;
  port: number;
  notifyPort: number;
  key: SecondaryOptions["key"];
}): Secondary & { reload: () => void } {
  const { secondary, conf } = startKnot({
    port: o.port,
    peerPort: o.notifyPort,
    key: o.key,
    action: "transfer",
    template: "    semantic-checks: off\n    zonefile-load: difference\n",
    zone: `  - domain: ${o.zone}\n    file: ${o.file}\n    notify: ferry\n    acl: ferry_acl\n`,
  });
  return {
    ...secondary,
    reload: () => {
      spawnSync("knotc", ["-c", conf, "zone-reload", o.zone], { stdio: "ignore" });
    },
  };
}
