import assert from "node:assert/strict";
import { mkdtempSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import { test } from "node:test";
import { fileURLToPath } from "node:url";
import { configFromFlags } from "../src/core/config/adapters/flags.js";
import type { StaticLocationConfig } from "../src/core/config/types.js";
import { ConfigError } from "../src/core/errors.js";
import { maskConfig } from "../src/core/secrets.js";

const fixtures = fileURLToPath(new URL("../../test/fixtures/config/", import.meta.url));

function canonical(file: string): string {
  // The default state folder depends on the user running the test ($XDG_DATA_HOME or ~): fixed here.
  const xdg = process.env.XDG_DATA_HOME;
  process.env.XDG_DATA_HOME = "/xdg-data";
  const config = configFromFlags({ http: [], config: file });
  if (xdg === undefined) delete process.env.XDG_DATA_HOME;
  else process.env.XDG_DATA_HOME = xdg;
  const dir = path.dirname(path.resolve(file));
  return `${JSON.stringify(config, null, 2).split(dir).join("<dir>")}\n`;
}

for (const name of readdirSync(path.join(fixtures, "golden")).filter((f) => f.endsWith(".yaml"))) {
  test(`golden: ${name} → canonical JSON`, () => {
    const yaml = path.join(fixtures, "golden", name);
    const expected = yaml.replace(/\.yaml$/, ".json");
    const actual = canonical(yaml);
    if (process.env.UPDATE_GOLDEN === "1") writeFileSync(expected, actual);
    assert.equal(actual, readFileSync(expected, "utf8"));
  });
}

function problemsOf(name: string) {
  const file = path.join(fixtures, "bad", name);
  try {
    configFromFlags({ http: [], config: file });
  } catch (err) {
    assert.ok(err instanceof ConfigError, String(err));
    return err;
  }
  assert.fail(`${name} was accepted`);
}

test("an unknown key is named with its file, line and column", () => {
  const err = problemsOf("unknown-key.yaml");
  assert.equal(err.code, "ERR_CONFIG_INVALID");
  const p = err.problems[0]!;
  assert.equal(p.key, "http.sites[0].hosst");
  assert.match(p.message, /unknown key "hosst"/);
  assert.deepEqual({ line: p.position?.line, column: p.position?.column }, { line: 5, column: 7 });
  assert.ok(p.position?.file.endsWith("unknown-key.yaml"));
});

test("DNS transfers: a bad secret, a second key of one name, a bad range, a key nobody defined, a notify that is no address", () => {
  const err = problemsOf("dns-transfer.yaml");
  const byKey = Object.fromEntries(err.problems.map((p) => [p.key, p]));
  const at = (key: string) => {
    assert.ok(byKey[key], `${key} not in ${JSON.stringify(err.problems.map((p) => p.key))}`);
    return byKey[key]!;
  };
  assert.match(at("dns.tsig[0].secret").message, /not base64/);
  assert.equal(at("dns.tsig[0].secret").position?.line, 3);
  assert.doesNotMatch(JSON.stringify(err.problems), /c2VjcmV0/, "a secret in a config error");
  assert.match(at("dns.tsig[1].name").message, /a second key named k1/);
  assert.match(at("dns.zones[0].transfer.allow[0]").message, /not an address or range/);
  assert.match(at("dns.zones[0].transfer.tsig").message, /no key named k2/);
  assert.match(at("dns.zones[0].notify[0]").message, /not IP\[:PORT\]/);
  assert.equal(at("dns.zones[0].notify[0]").position?.line, 9);
});

test("every bad value is reported at its own place", () => {
  const err = problemsOf("bad-values.yaml");
  const byKey = Object.fromEntries(err.problems.map((p) => [p.key, p]));
  assert.ok(byKey["http.listen[1]"], JSON.stringify(err.problems));
  assert.equal(byKey["http.listen[1]"]!.position?.line, 2);
  assert.equal(byKey["http.limits.headerTimeout"]!.position?.line, 4);
  assert.match(byKey["http.limits.headerTimeout"]!.message, /duration/);
  assert.match(byKey["http.sites[0].symlinks"]!.message, /"inside", "follow"/);
  assert.equal(byKey["http.sites[0].symlinks"]!.position?.line, 7);
});

test("semantic problems: a missing root folder and a port out of range", () => {
  const file = path.join(fixtures, "bad", "bad-values.yaml");
  const text = readFileSync(file, "utf8")
    .replace('"nonsense"', '"127.0.0.1:1"')
    .replace("soon", "5s")
    .replace("maybe", "inside");
  const tmp = path.join(mkdtempSync(path.join(os.tmpdir(), "ferry-config-")), "semantic.yaml");
  writeFileSync(tmp, text);
  try {
    configFromFlags({ http: [], config: tmp });
    assert.fail("accepted");
  } catch (err) {
    assert.ok(err instanceof ConfigError);
    const keys = err.problems.map((p) => p.key);
    assert.ok(keys.includes("http.listen[0]"), keys.join());
    assert.ok(keys.includes("http.sites[0].root"), keys.join());
    const root = err.problems.find((p) => p.key === "http.sites[0].root")!;
    assert.equal(root.position?.line, 6);
    assert.match(root.message, /does not exist/);
  }
});

test("a redirect location refuses file-serving keys, each named at its line", () => {
  const err = problemsOf("location-kinds.yaml");
  const byKey = Object.fromEntries(err.problems.map((p) => [p.key, p]));
  assert.equal(byKey["http.sites[0].locations[0].root"]?.position?.line, 7, JSON.stringify(err.problems));
  assert.equal(byKey["http.sites[0].locations[0].listing"]?.position?.line, 8);
  assert.match(byKey["http.sites[0].locations[0].root"]!.message, /redirect location serves none/);
});

test("YAML syntax errors name the line", () => {
  const err = problemsOf("syntax.yaml");
  assert.equal(err.code, "ERR_CONFIG_SYNTAX");
  assert.ok(err.problems[0]!.position!.line >= 4, JSON.stringify(err.problems));
});

test("a host served by two sites is refused at the second", () => {
  const err = problemsOf("duplicate-host.yaml");
  assert.equal(err.problems[0]!.key, "http.sites[1].hosts[1]");
  assert.equal(err.problems[0]!.position?.line, 5);
});

test("realtime endpoints: a path declared twice and an idle timeout shorter than the ping interval", () => {
  const err = problemsOf("realtime.yaml");
  const byKey = Object.fromEntries(err.problems.map((p) => [p.key, p]));
  assert.equal(
    byKey["http.sites[0].realtime[0].idleTimeout"]?.position?.line,
    7,
    JSON.stringify(err.problems),
  );
  assert.match(byKey["http.sites[0].realtime[0].idleTimeout"]!.message, /longer than pingInterval/);
  assert.equal(byKey["http.sites[0].realtime[1].path"]?.position?.line, 8);
});

test("flags: --proxy is the same as a proxy location written in YAML", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-proxy-flag-"));
  const file = path.join(dir, "ferry.yaml");
  writeFileSync(
    file,
    `http:\n  sites:\n    - root: .\n      locations:\n        - path: /api/\n          proxy: { to: ["127.0.0.1:3001", "127.0.0.1:3002"] }\n`,
  );
  const fromYaml = configFromFlags({ http: [], config: file }).http!.sites[0]!.locations;
  const fromFlag = configFromFlags(
    { http: [], root: dir, proxy: ["/api/=127.0.0.1:3001,127.0.0.1:3002"] },
    dir,
  ).http!.sites[0]!.locations;
  assert.deepEqual(fromFlag, fromYaml);
  assert.equal(fromFlag[0]!.kind, "proxy");
  assert.throws(() => configFromFlags({ http: [], proxy: ["/api/"] }), /--proxy takes PREFIX=UPSTREAM/);
});

test("flags: --https, --tls-cert/--tls-key and --state are the same as their YAML keys", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-tls-flag-"));
  writeFileSync(path.join(dir, "c.pem"), "x");
  writeFileSync(path.join(dir, "k.pem"), "x");
  const file = path.join(dir, "ferry.yaml");
  writeFileSync(
    file,
    `state: st\nhttp:\n  tls: { listen: ["127.0.0.1:8443"] }\n  sites:\n    - root: .\n      tls: { cert: c.pem, key: k.pem }\n`,
  );
  const fromYaml = configFromFlags({ http: [], config: file });
  const fromFlags = configFromFlags(
    { http: [], root: dir, https: ["127.0.0.1:8443"], tlsCert: "c.pem", tlsKey: "k.pem", state: "st" },
    dir,
  );
  assert.deepEqual(fromFlags.http!.tls, fromYaml.http!.tls);
  assert.deepEqual(fromFlags.http!.sites[0]!.tls, fromYaml.http!.sites[0]!.tls);
  assert.equal(fromFlags.state, fromYaml.state);
  const internal = configFromFlags({ http: [], root: dir, https: ["127.0.0.1:8443"] }, dir);
  assert.deepEqual(internal.http!.sites[0]!.tls, { kind: "internal" });
  assert.throws(() => configFromFlags({ http: [], root: dir, tlsCert: "c.pem" }, dir), /go together/);
  const dot = configFromFlags(
    { http: [], root: dir, https: ["127.0.0.1:8443"], dot: ["127.0.0.1:8853"] },
    dir,
  );
  assert.deepEqual(dot.dns!.tls, { listen: [{ host: "127.0.0.1", port: 8853 }], site: null });
  assert.throws(
    () => configFromFlags({ http: [], root: dir, dot: ["127.0.0.1:8853"] }, dir),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.match(err.problems[0]!.message, /DNS over TLS presents an HTTP site's certificate/);
      return true;
    },
  );
});

test("flags: --realtime adds an endpoint to the default site, --publish-key sets its key", () => {
  const config = configFromFlags({ http: [], root: ".", realtime: "/live", publishKey: "flag-key-123" });
  const rt = config.http!.sites[0]!.realtime;
  assert.deepEqual(
    rt.map((r) => [r.path, r.publishKey]),
    [["/live", "flag-key-123"]],
  );
});

test("flags: --broker is the endpoint's broker key, set through YAML the same; a URL that is not redis:// is refused", () => {
  const fromFlags = configFromFlags({
    http: [],
    root: ".",
    realtime: "/ws",
    broker: "redis://127.0.0.1:6379/0",
  });
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-broker-"));
  const file = path.join(dir, "ferry.yaml");
  writeFileSync(
    file,
    "http:\n  sites:\n    - root: .\n      realtime:\n        - path: /ws\n          broker: redis://127.0.0.1:6379/0\n",
  );
  const fromYaml = configFromFlags({ http: [], config: file });
  assert.equal(fromFlags.http!.sites[0]!.realtime[0]!.broker, "redis://127.0.0.1:6379/0");
  assert.equal(fromYaml.http!.sites[0]!.realtime[0]!.broker, "redis://127.0.0.1:6379/0");
  // A password in the URL never reaches `ferry check --json`.
  const secret = configFromFlags({
    http: [],
    root: ".",
    realtime: "/ws",
    broker: "redis://app:s3cret-pw@127.0.0.1:6379/0",
  });
  const shown = JSON.stringify(maskConfig(secret));
  assert.ok(!shown.includes("s3cret-pw"), shown);
  assert.match(shown, /redis:\/\/app:••••••@127\.0\.0\.1:6379\/0/);
  // --broker with a config file's endpoint: applies to it.
  const both = configFromFlags({ http: [], config: file, broker: "redis://127.0.0.1:7000/1" });
  assert.equal(both.http!.sites[0]!.realtime[0]!.broker, "redis://127.0.0.1:7000/1");
  writeFileSync(
    file,
    "http:\n  sites:\n    - root: .\n      realtime:\n        - path: /ws\n          broker: http://127.0.0.1:6379\n",
  );
  assert.throws(
    () => configFromFlags({ http: [], config: file }),
    (err: ConfigError) =>
      err.problems.some((p) => p.key === "http.sites[0].realtime[0].broker" && p.position?.line === 6),
  );
  // A Redis Cluster: seed nodes, through YAML and the flag; its password masked too.
  const cluster = "redis+cluster://:cl-s3cret@127.0.0.1:7000,127.0.0.1:7001";
  writeFileSync(
    file,
    `http:\n  sites:\n    - root: .\n      realtime:\n        - path: /ws\n          broker: "${cluster}"\n`,
  );
  assert.equal(configFromFlags({ http: [], config: file }).http!.sites[0]!.realtime[0]!.broker, cluster);
  const clusterFlag = configFromFlags({ http: [], root: ".", realtime: "/ws", broker: cluster });
  assert.equal(clusterFlag.http!.sites[0]!.realtime[0]!.broker, cluster);
  const masked = JSON.stringify(maskConfig(clusterFlag));
  assert.ok(!masked.includes("cl-s3cret"), masked);
  assert.match(masked, /redis\+cluster:\/\/:••••••@127\.0\.0\.1:7000,127\.0\.0\.1:7001/);
  // A cluster has database 0 only, every seed needs a port, a password's `/`, `@` and `%` are escaped;
  // the error names the key and never shows the password.
  for (const bad of [
    "redis+cluster://127.0.0.1:7000/2",
    "redis+cluster://127.0.0.1",
    "redis+cluster://a:1,b",
    "redis+cluster://:cl-s3cret/x@127.0.0.1:7000",
    "redis+cluster://:cl-s3cret%@127.0.0.1:7000",
    "redis+cluster://:cl-s3cret@127.0.0.1",
    "http://:cl-s3cret@127.0.0.1:6379",
  ]) {
    writeFileSync(
      file,
      `http:\n  sites:\n    - root: .\n      realtime:\n        - path: /ws\n          broker: "${bad}"\n`,
    );
    assert.throws(
      () => configFromFlags({ http: [], config: file }),
      (err: ConfigError) =>
        err.problems.some((p) => p.key === "http.sites[0].realtime[0].broker" && p.position?.line === 6) &&
        !JSON.stringify(err.problems).includes("cl-s3cret") &&
        !err.message.includes("cl-s3cret"),
      bad,
    );
  }
});

test("http.limits: a timeout of 0 is refused with file, line and key (0 would end every request at once, and the engines would each read it differently); 1ms and longer are taken", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-limits-"));
  const file = path.join(dir, "ferry.yaml");
  for (const key of ["headerTimeout", "requestTimeout", "idleTimeout", "sendTimeout"] as const) {
    for (const zero of ["0", "0s", "0ms", "0.0s", " 00 m"]) {
      writeFileSync(file, `http:\n  limits:\n    ${key}: "${zero}"\n`);
      assert.throws(
        () => configFromFlags({ http: [], config: file }),
        (err: ConfigError) =>
          err.problems.some(
            (p) =>
              p.key === `http.limits.${key}` &&
              p.position?.line === 3 &&
              p.position.column === 5 &&
              /at least 1ms/.test(p.message),
          ),
        `${key}: ${zero}`,
      );
    }
    writeFileSync(file, `http:\n  limits:\n    ${key}: 0\n`);
    assert.throws(() => configFromFlags({ http: [], config: file }), /at least 1ms/);
    for (const [value, ms] of [
      ["1ms", 1],
      ["0.5s", 500],
      ["10s", 10_000],
      ["2m", 120_000],
      ["1", 1],
    ] as const) {
      writeFileSync(file, `http:\n  limits:\n    ${key}: ${value === "1" ? 1 : `"${value}"`}\n`);
      assert.equal(configFromFlags({ http: [], config: file }).http!.limits[key], ms, `${key}: ${value}`);
    }
  }
});

test("workers: the YAML key and --workers agree; auto is one per core; 1 by default; bad values are refused", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-workers-"));
  const file = path.join(dir, "ferry.yaml");
  writeFileSync(file, "workers: 3\n");
  assert.equal(configFromFlags({ http: [], config: file }).workers, 3);
  assert.equal(configFromFlags({ http: [], root: ".", workers: "3" }).workers, 3);
  assert.equal(configFromFlags({ http: [], root: ".", workers: "auto" }).workers, os.availableParallelism());
  writeFileSync(file, "workers: auto\n");
  assert.equal(configFromFlags({ http: [], config: file }).workers, os.availableParallelism());
  assert.equal(configFromFlags({ http: [], root: "." }).workers, 1);
  assert.throws(() => configFromFlags({ http: [], root: ".", workers: "0" }), /--workers takes a number/);
  assert.throws(() => configFromFlags({ http: [], root: ".", workers: "many" }), /--workers takes a number/);
  writeFileSync(file, "http: {}\nworkers: 0\n");
  assert.throws(
    () => configFromFlags({ http: [], config: file }),
    (err: ConfigError) => err.problems.some((p) => p.key === "workers" && p.position?.line === 2),
  );
});

test("the admin listener must be loopback unless allowRemote says otherwise; --admin sets it", () => {
  const err = problemsOf("admin.yaml");
  assert.equal(err.problems[0]!.key, "admin.listen");
  assert.equal(err.problems[0]!.position?.line, 5);
  assert.match(err.problems[0]!.message, /not a loopback address/);
  const config = configFromFlags({ http: [], root: ".", admin: "127.0.0.1:9191" });
  assert.deepEqual(config.admin, {
    listen: { host: "127.0.0.1", port: 9191 },
    events: 1000,
    frames: 200,
    token: null,
    allowRemote: false,
  });
});

test("a missing file is ERR_CONFIG_READ", () => {
  assert.throws(() => configFromFlags({ http: [], config: "/no/such/ferry.yaml" }), {
    code: "ERR_CONFIG_READ",
  });
});

test("flags alone: ROOT and --http make one default site", () => {
  const c = configFromFlags({ root: "test", http: ["127.0.0.1:9000", "[::1]:9001"] }, process.cwd());
  assert.deepEqual(c.http!.listen, [
    { host: "127.0.0.1", port: 9000 },
    { host: "::1", port: 9001 },
  ]);
  assert.equal(c.http!.sites.length, 1);
  assert.equal((c.http!.sites[0]!.locations[0] as StaticLocationConfig).root, path.resolve("test"));
  assert.equal(c.http!.sites[0]!.default, true);
});

test("flags override the file", () => {
  const file = path.join(fixtures, "golden", "two-sites.yaml");
  const c = configFromFlags({ http: ["127.0.0.1:9999"], config: file, accessLog: "off" });
  assert.deepEqual(c.http!.listen, [{ host: "127.0.0.1", port: 9999 }]);
  assert.equal(c.log.access, null);
  assert.equal(c.http!.sites.length, 2);
});

test("a bad --http flag is reported by key", () => {
  assert.throws(
    () => configFromFlags({ http: ["localhost"] }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems[0]!.key, "http.listen[0]");
      return true;
    },
  );
});

test("defaults live in the schema: an empty section's canonical values are the schema's defaults", async () => {
  const { configSchema } = await import("../src/core/config/schema.js");
  const { parseDuration, parseSize } = await import("../src/core/config/units.js");
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-defaults-"));
  const file = path.join(dir, "ferry.yaml");
  writeFileSync(file, "http: {}\ndns: {}\nadmin: {}\n");
  const c = configFromFlags({ http: [], config: file });
  const limits = configSchema.properties.http.properties.limits.properties;
  for (const [key, schema] of Object.entries(limits)) {
    const d = (schema as { default: string | number }).default;
    const want = typeof d === "number" ? d : key.endsWith("Timeout") ? parseDuration(d) : parseSize(d);
    const got = c.http!.limits as unknown as Record<string, number>;
    assert.equal(got[key], want, key);
  }
  assert.deepEqual(
    c.http!.listen.map((l) => `${l.host}:${l.port}`),
    configSchema.properties.http.properties.listen.default,
  );
  assert.equal(c.dns!.cacheSize, configSchema.properties.dns.properties.cacheSize.default);
  assert.equal(c.admin!.events, configSchema.properties.admin.properties.events.default);
  assert.equal(c.log.level, "info");
  assert.equal(c.http!.sites[0]!.locations[0]!.kind, "static");
  assert.deepEqual((c.http!.sites[0]!.locations[0] as StaticLocationConfig).index, ["index.html"]);
});

test("flags: --h2c is the same as http.h2c in YAML; off by default", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), "ferry-h2c-flag-"));
  const file = path.join(dir, "ferry.yaml");
  writeFileSync(file, "http:\n  h2c: true\n  sites:\n    - root: .\n");
  const fromYaml = configFromFlags({ http: [], config: file });
  const fromFlag = configFromFlags({ http: [], root: dir, h2c: true }, dir);
  assert.equal(fromYaml.http!.h2c, true);
  assert.equal(fromFlag.http!.h2c, true);
  assert.equal(configFromFlags({ http: [], root: dir }, dir).http!.h2c, false);
});
