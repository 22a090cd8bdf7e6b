/** A small parser of the Prometheus text format (0.0.4), for the tests of /metrics. */
import assert from "node:assert/strict";

/** Families with their type, help and samples; asserts on any line that breaks the format. */
export function parseExposition(text: string) {
  const families = new Map<
    string,
    { type: string; help: string; samples: { name: string; labels: Record<string, string>; value: number }[] }
  >();
  let current = "";
  for (const line of text.split("\n")) {
    if (line === "") continue;
    let m = /^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) (.*)$/.exec(line);
    if (m) {
      current = m[1]!;
      families.set(current, { type: "untyped", help: m[2]!, samples: [] });
      continue;
    }
    m = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$/.exec(line);
    if (m) {
      assert.equal(m[1], current, `TYPE for ${m[1]} must follow its HELP`);
      families.get(current)!.type = m[2]!;
      continue;
    }
    m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{(.*)\})? (-?[0-9.e+-]+|\+Inf|NaN)$/.exec(line);
    assert.ok(m, `not a sample line: ${line}`);
    const name = m[1]!;
    assert.ok(name === current || name.startsWith(`${current}_`), `${name} outside its family ${current}`);
    const labels: Record<string, string> = {};
    for (const lm of (m[3] ?? "").matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g))
      labels[lm[1]!] = lm[2]!.replace(/\\(.)/g, (_, c: string) => (c === "n" ? "\n" : c));
    families
      .get(current)!
      .samples.push({ name, labels, value: m[4] === "+Inf" ? Number.POSITIVE_INFINITY : Number(m[4]) });
  }
  return families;
}
