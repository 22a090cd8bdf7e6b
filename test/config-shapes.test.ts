/**
 * Loading a config must leave V8's object shapes as it found them. Compiling
 * the schema at run time (ajv's code generator) once left over a thousand
 * objects made as `{[name]: 1}` behind; past 1,536 transitions from the empty
 * object's map V8 records no more, so every object that starts empty or with
 * a computed key got a map of its own and the inline caches that saw them
 * turned megamorphic. node's process.nextTick builds its tick objects that
 * way: every tick cost ~0.7 µs instead of ~0.1 µs, about 5 µs per HTTP/2
 * request. The check runs in a child with V8's natives syntax.
 */
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { test } from "node:test";

const flags = new URL("../src/core/config/adapters/flags.js", import.meta.url).href;
const runtime = new URL("../src/app/runtime.js", import.meta.url).href;

test("loading a config leaves literals with a computed first key sharing one map (no transition overflow)", () => {
  const script = `
    import { createRequire } from "node:module";
    import { configFromFlags } from ${JSON.stringify(flags)};
    // What \`ferry serve\` loads besides: its modules add their own transitions.
    await import(${JSON.stringify(runtime)});
    // Literals with a new computed first key: shapes V8 must still share after a config load.
    const make = (key) => ({ [key]: 1, callback: null, args: undefined });
    configFromFlags({ http: ["127.0.0.1:0"], dns: ["127.0.0.1:0"], realtime: "/ws", proxy: ["/api/=127.0.0.1:1"] });
    configFromFlags({ http: ["127.0.0.1:0"] });
    const key = Symbol("after the config load");
    const same = %HaveSameMap(make(key), make(key));
    // The schema is compiled at build time: ajv's code generator never runs in a serving process.
    const cache = createRequire(import.meta.url).cache;
    const codegen = Object.keys(cache).some((f) => f.includes("/ajv/dist/compile/"));
    process.stdout.write(JSON.stringify({ same, codegen }));
  `;
  const r = spawnSync(process.execPath, ["--allow-natives-syntax", "--input-type=module", "-e", script], {
    encoding: "utf8",
  });
  assert.equal(r.status, 0, r.stderr);
  assert.deepEqual(JSON.parse(r.stdout), { same: true, codegen: false });
});
