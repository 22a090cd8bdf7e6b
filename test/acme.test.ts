/**
 * ACME end to end on this machine: pebble (Debian's ACME test server)
 * issues a certificate for a `tls: acme` site; pebble resolves the site's
 * name through Ferry's own DNS server and checks the HTTP-01 challenge on
 * Ferry's plain HTTP listener. curl then trusts the site through pebble's root.
 */
import assert from "node:assert/strict";
import { execFile, spawn } from "node:child_process";
import { existsSync, writeFileSync } from "node:fs";
import net from "node:net";
import path from "node:path";
import { test } from "node:test";
import { promisify } from "node:util";
import { needTool, selfSignedCert, spawnFerry, tmpSite, waitFor } from "./helpers.js";

const run = promisify(execFile);

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

for (const workers of [1, 2])
  for (const challenge of ["http-01", "tls-alpn-01"] as const)
    test(`tls: acme gets a certificate from pebble (${challenge} on Ferry's ${challenge === "http-01" ? "plain" : "TLS"} listener, names from Ferry's DNS${workers > 1 ? `, ${workers} workers: one order, every worker serves the challenge and the certificate` : ""})`, async (t) => {
      if (
        !needTool(t, "pebble", "pebble") ||
        !needTool(t, "openssl", "openssl") ||
        !needTool(t, "curl", "curl")
      )
        return;
      await issueWith(challenge, workers);
    });

async function issueWith(challenge: "http-01" | "tls-alpn-01", workers: number): Promise<void> {
  const dir = tmpSite({
    "site/index.html": "issued by acme",
    "example.test.zone": "$TTL 60\n@ SOA ns hm 1 2 3 4 5\n@ NS ns\nns A 127.0.0.1\nwww A 127.0.0.1\n",
  });
  // pebble's own HTTPS listener needs a certificate: a throwaway one, trusted by Ferry through caRoots.
  const { cert: pebbleCert, key: pebbleKey } = selfSignedCert(dir, "localhost", "pebble");
  const [acmePort, mgmtPort, httpPort, httpsPort, dnsPort, unused] = await Promise.all(
    Array.from({ length: 6 }, freePort),
  );
  // pebble validates on the port of the challenge it is asked for; the other one leads nowhere, so
  // only the challenge under test can succeed.
  const alpn = challenge === "tls-alpn-01";
  writeFileSync(
    path.join(dir, "pebble.json"),
    JSON.stringify({
      pebble: {
        listenAddress: `127.0.0.1:${acmePort}`,
        managementListenAddress: `127.0.0.1:${mgmtPort}`,
        certificate: pebbleCert,
        privateKey: pebbleKey,
        httpPort: alpn ? unused : httpPort,
        tlsPort: alpn ? httpsPort : unused,
        ocspResponderURL: "",
        externalAccountBindingRequired: false,
      },
    }),
  );
  const pebble = spawn(
    "pebble",
    ["-config", path.join(dir, "pebble.json"), "-dnsserver", `127.0.0.1:${dnsPort}`],
    {
      env: { ...process.env, PEBBLE_VA_NOSLEEP: "1", PEBBLE_WFE_NONCEREJECT: "0", PEBBLE_AUTHZREUSE: "0" },
      stdio: ["ignore", "pipe", "pipe"],
    },
  );
  let pebbleLog = "";
  pebble.stdout.on("data", (d: Buffer) => (pebbleLog += d));
  pebble.stderr.on("data", (d: Buffer) => (pebbleLog += d));
  const cfg = path.join(dir, "ferry.yaml");
  writeFileSync(
    cfg,
    `state: state
workers: ${workers}
http:
  listen: ["127.0.0.1:${httpPort}"]
  tls:
    listen: ["127.0.0.1:${httpsPort}"]
    acme: { directory: "https://127.0.0.1:${acmePort}/dir", email: ops@example.test, caRoots: pebble.crt, challenge: ${challenge} }
  sites:
    - hosts: [www.example.test]
      root: site
      tls: acme
dns:
  listen: ["127.0.0.1:${dnsPort}"]
  zones: [{ file: example.test.zone }]
log: { access: false }
`,
  );
  try {
    await waitFor(() => /Listening on: 127\.0\.0\.1:\d+/.test(pebbleLog), "pebble to listen", 10_000);
    const f = await spawnFerry(
      ["serve", "--config", cfg],
      [
        /serving https:\/\/127\.0\.0\.1:(\d+)\//,
        workers > 1 ? /running \d+ workers \(pids ([\d, ]+)\)/ : /()/,
      ],
    );
    try {
      await waitFor(
        () => new RegExp(`certificate issued: certificate from https.*\\(${challenge}\\)`).test(f.stderr()),
        "the ACME certificate",
        30_000,
      );
      const stored = path.join(dir, "state", "acme", "www.example.test.crt");
      assert.ok(existsSync(stored), "the chain is kept in the state folder");
      // pebble's root for this run, from its management listener.
      const roots = await run("curl", [
        "-s",
        "--cacert",
        pebbleCert,
        `https://127.0.0.1:${mgmtPort}/roots/0`,
      ]);
      const rootFile = path.join(dir, "pebble-root.pem");
      writeFileSync(rootFile, roots.stdout);
      const trusted = () =>
        run("curl", [
          "-s",
          "-S",
          "--cacert",
          rootFile,
          "--resolve",
          `www.example.test:${httpsPort}:127.0.0.1`,
          `https://www.example.test:${httpsPort}/`,
        ]).then(
          (r) => r.stdout,
          (e) => String(e.stderr),
        );
      let body = "";
      const deadline = Date.now() + 10_000;
      // New handshakes pick the certificate up at once; allow for the swap.
      while (body !== "issued by acme") {
        assert.ok(Date.now() < deadline, `curl never trusted the site: ${body}`);
        body = await trusted();
      }
      if (workers > 1) {
        // Each curl is a new connection, handed to the workers in turn: every one presents the certificate.
        for (let i = 0; i < 2 * workers; i++) assert.equal(await trusted(), "issued by acme", f.stderr());
        // A worker that starts again finds it in the state folder at once.
        const pids = f.found[1]!.split(", ").map(Number);
        process.kill(pids[0]!, "SIGKILL");
        await waitFor(() => /worker 1 ready/.test(f.stderr()), "worker 1 to start again", 10_000);
        for (let i = 0; i < 2 * workers; i++) assert.equal(await trusted(), "issued by acme", f.stderr());
      }
      // One order, for every worker; its renewal waits for two thirds of the certificate's life (pebble's last
      // years: a renewal timer beyond node's 24.8-day limit once fired at once, ordering again and again).
      await new Promise((r) => setTimeout(r, 1500));
      assert.equal(f.stderr().match(/certificate issued: certificate from/g)?.length, 1, f.stderr());
      assert.doesNotMatch(f.stderr(), /ERR_TLS_ACME|TimeoutOverflowWarning/);
      // The plain listener redirects to https, except for challenges.
      const plain = await run("curl", [
        "-s",
        "-i",
        "-H",
        "Host: www.example.test",
        `http://127.0.0.1:${httpPort}/`,
      ]);
      assert.match(plain.stdout, /^HTTP\/1\.1 308/);
    } finally {
      f.child.kill("SIGKILL");
    }
  } finally {
    pebble.kill("SIGKILL");
  }
}
