import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import pino from "pino";
import { encodeCombined, encodeJson, maxLineBytes } from "./access-encode.js";
import { dnsSecondaryChannel, type HttpRequestEvent } from "./diagnostics.js";
import { logDnsTransfers } from "./log.js";

/** What the JSON line must be: the event's fields through JSON.stringify. */
function referenceJson(e: HttpRequestEvent): string {
  const u = e.upstream;
  return `${JSON.stringify({
    time: new Date(e.time).toISOString(),
    remote: e.remoteAddress,
    method: e.method,
    host: e.host,
    uri: e.target,
    protocol: `HTTP/${e.httpVersion}`,
    status: e.status,
    bytes: e.bytes,
    duration_ms: Math.round(e.durationMs * 1000) / 1000,
    site: e.site,
    location: e.location,
    referer: e.referer,
    user_agent: e.userAgent,
    ...(e.completed ? {} : { aborted: true }),
    ...(e.tls === null ? {} : { tls: e.tls.version, sni: e.tls.sni }),
    ...(u === null
      ? {}
      : {
          upstream: u.address,
          upstream_status: u.status,
          upstream_connect_ms: Math.round(u.connectMs * 1000) / 1000,
          upstream_first_byte_ms: Math.round(u.firstByteMs * 1000) / 1000,
          ...(u.error ? { upstream_error: u.error } : {}),
        }),
  })}\n`;
}

const text = fc.oneof(
  fc.string(),
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.constantFrom('a"b', "c\\d", "\u2028", "\u007f", "", "\ud800", "x\udfffy", "\u0085", "tab\tnl\n"),
);

const eventsOf = (text: fc.Arbitrary<string>) =>
  fc
    .record({
      time: fc.double({ min: 1e12, max: 4e12, noNaN: true }),
      remoteAddress: text,
      method: text,
      host: text,
      target: text,
      httpVersion: fc.constantFrom("1.0", "1.1", "2.0"),
      status: fc.oneof(fc.integer({ min: 100, max: 599 }), fc.integer({ min: 0, max: 1_000_000 })),
      bytes: fc.oneof(fc.nat(), fc.maxSafeNat(), fc.integer({ min: 2 ** 32 - 3, max: 2 ** 32 + 3 })),
      durationMs: fc.oneof(
        fc.double({ min: 0, max: 1e5, noNaN: true }),
        fc.double({ min: 0, max: 1e13, noNaN: true }),
        fc.double({ min: 8.7e12, max: 9.1e12, noNaN: true }),
        // Around 2^32 thousandths, where the encoder leaves 32-bit arithmetic, and around rounding.
        fc.constantFrom(4294967.295, 4294967.296, 4294967.2955, 4294967.2965, 0.0005, 0.0004999, 1.9995),
      ),
      site: text,
      location: text,
      referer: text,
      userAgent: text,
      completed: fc.boolean(),
      tls: fc.option(fc.record({ version: fc.constantFrom("TLSv1.2", "TLSv1.3"), sni: text, alpn: text })),
      upstream: fc.option(
        fc.record({
          address: text,
          status: fc.oneof(fc.integer({ min: 0, max: 599 }), fc.integer({ min: 0, max: 1_000_000 })),
          connectMs: fc.double({ min: 0, max: 1e4, noNaN: true }),
          firstByteMs: fc.oneof(
            fc.double({ min: 0, max: 1e4, noNaN: true }),
            fc.double({ min: 4e12, max: 1e13, noNaN: true }),
          ),
          tries: fc.nat(),
          error: fc.constantFrom("", "ERR_PROXY_CONNECT"),
        }),
      ),
    })
    .map(
      (fields) => ({ ...fields, handler: "", requestHeaders: [], responseHeaders: [] }) as HttpRequestEvent,
    );

const events = eventsOf(text);
/** Values from a small pool, so that a run of lines repeats some and changes others (the encoder's caches). */
const pooled = eventsOf(fc.constantFrom("", "a", "b", "127.0.0.1", "GET", 'q"', "\u2028", "x".repeat(300)));

const MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

/** What the combined line must be (nginx's format): control characters as \xHH, `"` and `\` escaped. */
function referenceCombined(e: HttpRequestEvent): string {
  const q = (s: string) =>
    [...s]
      .map((ch) => {
        const c = ch.charCodeAt(0);
        if (ch.length === 1 && (c < 0x20 || c === 0x7f)) return `\\x${c.toString(16).padStart(2, "0")}`;
        return ch === '"' || ch === "\\" ? `\\${ch}` : ch;
      })
      .join("");
  const d = new Date(Math.floor(e.time / 1000) * 1000);
  const two = (n: number) => String(n).padStart(2, "0");
  const time = `${two(d.getUTCDate())}/${MONTHS[d.getUTCMonth()]}/${d.getUTCFullYear()}:${two(d.getUTCHours())}:${two(d.getUTCMinutes())}:${two(d.getUTCSeconds())} +0000`;
  const remote = e.remoteAddress === "" ? "-" : q(e.remoteAddress);
  return `${remote} - - [${time}] "${q(`${e.method} ${e.target} HTTP/${e.httpVersion}`)}" ${e.status} ${e.bytes} "${q(e.referer || "-")}" "${q(e.userAgent || "-")}"\n`;
}

test("access-log lines encoded into the buffer are the reference lines byte for byte (JSON and combined), for any text", () => {
  const buf = Buffer.alloc(1 << 20, 0xee);
  fc.assert(
    fc.property(events, fc.nat({ max: 100 }), (e, at) => {
      for (const [encode, reference] of [
        [encodeJson, referenceJson],
        [encodeCombined, referenceCombined],
      ] as const) {
        const end = encode(buf, at, e);
        assert.ok(end - at <= maxLineBytes(e), "the bound holds");
        assert.deepEqual(buf.subarray(at, end), Buffer.from(reference(e), "utf8"));
      }
      JSON.parse(buf.subarray(at, encodeJson(buf, at, e)).toString("utf8"));
    }),
    { numRuns: 3000 },
  );
});

/** Encodes `list` one line after another in both formats; each line must be its reference line. */
function encodesAsReference(buf: Buffer, list: HttpRequestEvent[]): void {
  for (const [encode, reference] of [
    [encodeJson, referenceJson],
    [encodeCombined, referenceCombined],
  ] as const) {
    let at = 0;
    for (const e of list) {
      const end = encode(buf, at, e);
      assert.equal(buf.subarray(at, end).toString("utf8"), reference(e));
      at = end;
    }
  }
}

test("a run of lines that repeat some values and change others encodes each line as its reference (the caches)", () => {
  const buf = Buffer.alloc(1 << 20, 0xee);
  fc.assert(
    fc.property(fc.array(pooled, { minLength: 2, maxLength: 30 }), (list) => {
      encodesAsReference(buf, list);
    }),
    { numRuns: 1000 },
  );
});

test("lines that repeat a client's values and change one at a time encode as their reference (the joined runs)", () => {
  const buf = Buffer.alloc(1 << 20, 0xee);
  const fields = [
    "remoteAddress",
    "method",
    "host",
    "site",
    "location",
    "referer",
    "userAgent",
    "target",
  ] as const;
  fc.assert(
    fc.property(
      pooled,
      fc.array(fc.tuple(pooled, fc.constantFrom(...fields), fc.integer({ min: 1, max: 4 })), {
        maxLength: 20,
      }),
      (first, steps) => {
        // Each step takes one field from another event and repeats the line 1–4 times, as a client's
        // requests on one connection do.
        const list = [first];
        for (const [other, field, times] of steps) {
          const next = { ...list[list.length - 1]!, [field]: other[field], status: other.status };
          for (let i = 0; i < times; i++) list.push(next);
        }
        encodesAsReference(buf, list);
      },
    ),
    { numRuns: 1000 },
  );
});

test("a NOTIFY for a secondary zone is logged once per sender and zone every 10 s, then with how many were left out", () => {
  const lines: { msg: string; remote: string; suppressed?: number }[] = [];
  const log = pino({ level: "info" }, { write: (s: string) => lines.push(JSON.parse(s)) });
  const stop = logDnsTransfers(log);
  try {
    const notify = (remote: string, time: number) =>
      dnsSecondaryChannel.publish({ result: "notified", zone: "example.test", primary: remote, time });
    // A forged flood from one address: one line.
    for (let i = 0; i < 20; i++) notify("192.0.2.1", 1_000 + i);
    notify("192.0.2.2", 1_500);
    assert.deepEqual(
      lines.map((l) => [l.remote, l.suppressed]),
      [
        ["192.0.2.1", undefined],
        ["192.0.2.2", undefined],
      ],
    );
    notify("192.0.2.1", 12_000);
    assert.equal(lines.length, 3);
    assert.equal(lines[2]!.suppressed, 19);
    assert.equal(lines[2]!.msg, "NOTIFY received");
  } finally {
    stop();
  }
});
