/**
 * The ACME manager's bookkeeping, without a CA: what it takes from the state
 * folder, what it forgets on reload, and that a stopped manager or a dead
 * thread never leaves an order hanging. Certificates are made by openssl.
 */
import assert from "node:assert/strict";
import diagnostics from "node:diagnostics_channel";
import { once } from "node:events";
import { readFileSync, statSync, writeFileSync } from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { test } from "node:test";
import { Worker } from "node:worker_threads";
import { tlsCertChannel } from "../src/core/diagnostics.js";
import { Thread } from "../src/core/thread.js";
import { AcmeManager, type AcmeSettings, acmeDir, readStored, writeStored } from "../src/tls/acme.js";
import { needTool, selfSignedCert, tmpSite } from "./helpers.js";

/** A self-signed certificate for `names` (PEM text), made by openssl. */
function certFor(dir: string, names: string[]): { cert: string; key: string } {
  const files = selfSignedCert(dir, names[0]!, `${names[0]}-${names.length}`, names.slice(1));
  return { cert: readFileSync(files.cert, "utf8"), key: readFileSync(files.key, "utf8") };
}

test("a stored ACME certificate is used only for the names it covers, with its own key", (t) => {
  if (!needTool(t, "openssl", "openssl")) return;
  const dir = tmpSite({});
  const store = acmeDir(dir);
  const ab = certFor(dir, ["a.test", "b.test"]);
  writeStored(store, ["a.test", "b.test"], ab.cert, ab.key);
  assert.equal(statSync(path.join(store, "a.test.key")).mode & 0o777, 0o600, "the key file is 0600");
  assert.equal(readStored(store, ["a.test", "b.test"])?.cert, ab.cert);
  assert.equal(readStored(store, ["a.test", "B.TEST"])?.cert, ab.cert, "names compare without case");
  // The site's names changed: b.test went, c.test came. The old certificate does not cover c.test.
  assert.equal(readStored(store, ["a.test", "c.test"]), null);
  // A key that is not the certificate's (a write caught half way, a hand edit): not used.
  const other = certFor(dir, ["a.test"]);
  writeFileSync(path.join(store, "a.test.key"), other.key);
  assert.equal(readStored(store, ["a.test", "b.test"]), null);
});

/**
 * A "CA" without a directory: every order fails at once with its 404
 * (acme-client retries network errors for minutes, not answers).
 */
async function nowhere(t: { after: (fn: () => void) => void }): Promise<AcmeSettings> {
  const ca = http.createServer((_req, res) => {
    res.writeHead(404, { "content-type": "application/problem+json" });
    res.end(JSON.stringify({ type: "urn:ietf:params:acme:error:malformed", detail: "no directory here" }));
  });
  ca.listen(0, "127.0.0.1");
  await once(ca, "listening");
  t.after(() => ca.close());
  const { port } = ca.address() as AddressInfo;
  return { directory: `http://127.0.0.1:${port}/dir`, email: null, caRoots: null, challenge: "http-01" };
}

function failures(): { count: () => number; stop: () => void } {
  let n = 0;
  const on = (e: unknown) => {
    if ((e as { kind: string }).kind === "error") n++;
  };
  diagnostics.subscribe(tlsCertChannel.name, on);
  return { count: () => n, stop: () => diagnostics.unsubscribe(tlsCertChannel.name, on) };
}

async function until(cond: () => boolean, what: string): Promise<void> {
  const deadline = Date.now() + 20_000;
  while (!cond()) {
    assert.ok(Date.now() < deadline, `timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

test("a reload forgets the names no site has any more: no retry or renewal keeps running for them", async (t) => {
  const dir = tmpSite({});
  const settings = await nowhere(t);
  const seen = failures();
  const m = new AcmeManager(settings, dir);
  try {
    assert.equal(m.get(["gone.test"]), null);
    await until(() => seen.count() === 1, "the failed order");
    const timers = (m as unknown as { timers: Map<string, NodeJS.Timeout> }).timers;
    assert.equal(timers.size, 1, "a retry is scheduled");
    m.configure(settings, [["kept.test"]]);
    assert.equal(timers.size, 0, "the retry of a name no site has is dropped");
  } finally {
    m.stop();
    seen.stop();
  }
});

test("a stopped manager schedules nothing more when its order in flight fails", async (t) => {
  const dir = tmpSite({});
  const seen = failures();
  const m = new AcmeManager(await nowhere(t), dir);
  try {
    m.get(["stop.test"]);
    m.stop();
    // The order in flight ends (the thread is terminated); nothing is logged or scheduled after the stop.
    await new Promise((r) => setTimeout(r, 500));
    assert.equal((m as unknown as { timers: Map<string, NodeJS.Timeout> }).timers.size, 0);
    assert.equal(seen.count(), 0);
  } finally {
    seen.stop();
  }
});

test("a thread that has ended refuses new work at once (an order never hangs on a dead thread)", async () => {
  const thread = new Thread(new Worker("process.exit(0)", { eval: true }));
  await until(() => thread.exited, "the thread to end");
  await assert.rejects(
    Promise.race([
      thread.call({}),
      new Promise((_, reject) => setTimeout(() => reject(new Error("hung")), 2000)),
    ]),
    /the thread stopped/,
  );
});
