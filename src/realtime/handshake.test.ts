import assert from "node:assert/strict";
import { test } from "node:test";
import zlib from "node:zlib";
import { ChannelLog } from "./channel.js";
import { deflateMessage } from "./deflate.js";
import { acceptValue } from "./handshake.js";
import { compileRules, isChannelName, ruleFor } from "./rules.js";

test("the accept value of RFC 6455's example", () => {
  assert.equal(acceptValue("dGhlIHNhbXBsZSBub25jZQ=="), "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=");
});

test("a message compressed without context inflates back", () => {
  const text = Buffer.from("price 101 price 102 price 103 ".repeat(20));
  const out = deflateMessage(text, 10);
  assert.ok(out.length < text.length / 4);
  const back = zlib.inflateRawSync(Buffer.concat([out, Buffer.from([0, 0, 0xff, 0xff])]), {
    finishFlush: zlib.constants.Z_SYNC_FLUSH,
  });
  assert.deepEqual(back, text);
});

test("channel rules: first match wins, * globs, names are checked", () => {
  const rules = compileRules([
    { match: "ticker:*", publish: false, historySize: 1, historyAge: 1, maxSubscribers: 1 },
    { match: "*", publish: true, historySize: 1, historyAge: 1, maxSubscribers: 1 },
  ]);
  assert.equal(ruleFor(rules, "ticker:KRW-BTC")?.publish, false);
  assert.equal(ruleFor(rules, "chat.room(1)")?.publish, true);
  assert.equal(ruleFor(compileRules([{ ...rules[0]!.rule, match: "a.b" }]), "axb"), null);
  assert.equal(isChannelName("ticker:KRW-BTC"), true);
  for (const bad of ["", "a b", "tab\t", "x".repeat(201), 5]) assert.equal(isChannelName(bad), false);
});

test("history is bounded by count and age, and offsets grow by one", () => {
  const ch = new ChannelLog("c", {
    match: "*",
    publish: false,
    historySize: 3,
    historyAge: 1000,
    maxSubscribers: 9,
  });
  for (let i = 0; i < 200; i++) ch.append(String(i), 10_000 + i);
  assert.equal(ch.offset, 200);
  assert.equal(ch.retained, 3);
  assert.deepEqual(
    ch.since(0, 10_200).map((m) => m.offset),
    [198, 199, 200],
  );
  assert.deepEqual(
    ch.since(199, 10_200).map((m) => m.offset),
    [200],
  );
  assert.deepEqual(
    ch.since(0, 11_199).map((m) => m.offset),
    [200],
  );
  assert.equal(ch.oldest(20_000), 201);
});
