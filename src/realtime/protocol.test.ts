import assert from "node:assert/strict";
import { test } from "node:test";
import { type ClientCommand, parseCommand } from "./protocol.js";

// Each client message, as docs/protocol.md says it is read.
const cases: [string, string, ClientCommand | { error: string; id?: string | number }][] = [
  [
    "subscribe",
    '{"type":"subscribe","channel":"ticker:A"}',
    { type: "subscribe", channel: "ticker:A", since: undefined, epoch: undefined, id: undefined },
  ],
  [
    "subscribe with since, epoch and an id",
    '{"type":"subscribe","channel":"c","since":5,"epoch":"e1","id":"s1"}',
    { type: "subscribe", channel: "c", since: 5, epoch: "e1", id: "s1" },
  ],
  [
    "subscribe with a negative since",
    '{"type":"subscribe","channel":"c","since":-1,"id":7}',
    { error: "bad_request", id: 7 },
  ],
  [
    "subscribe with a fractional since",
    '{"type":"subscribe","channel":"c","since":1.5}',
    { error: "bad_request" },
  ],
  ["subscribe to a name with a space", '{"type":"subscribe","channel":"a b"}', { error: "bad_channel" }],
  ["subscribe with no channel", '{"type":"subscribe"}', { error: "bad_channel" }],
  [
    "unsubscribe",
    '{"type":"unsubscribe","channel":"c","id":2}',
    { type: "unsubscribe", channel: "c", id: 2 },
  ],
  ["unsubscribe from a bad name", '{"type":"unsubscribe","channel":7}', { error: "bad_channel" }],
  [
    "publish: data kept as JSON text",
    '{"type":"publish","channel":"chat:1","data":{"text":"hi","n":[1,2]}}',
    { type: "publish", channel: "chat:1", data: '{"text":"hi","n":[1,2]}', id: undefined },
  ],
  [
    "publish null data",
    '{"type":"publish","channel":"c","data":null}',
    { type: "publish", channel: "c", data: "null", id: undefined },
  ],
  ["publish without data", '{"type":"publish","channel":"c"}', { error: "bad_request" }],
  ["an unknown type", '{"type":"dance","id":"x"}', { error: "unknown_type", id: "x" }],
  ["no type", "{}", { error: "unknown_type" }],
  ["an array", "[1,2]", { error: "bad_request" }],
  ["a string", '"subscribe"', { error: "bad_request" }],
  ["not JSON", "{nope", { error: "bad_json" }],
  [
    "nested past the depth limit",
    `{"type":"publish","channel":"c","data":${"[".repeat(9)}${"]".repeat(9)}}`,
    { error: "bad_request" },
  ],
  [
    "an id that is neither string nor number is dropped",
    '{"type":"dance","id":{"a":1}}',
    { error: "unknown_type" },
  ],
];

test("client messages become commands or the error the client is told", () => {
  for (const [name, text, want] of cases) {
    const got = parseCommand(Buffer.from(text), false, 8);
    if ("error" in want) {
      assert.equal(got.type, "error", name);
      assert.equal((got as { code: string }).code, want.error, name);
      assert.equal(got.id, want.id, name);
    } else assert.deepEqual(got, want, name);
  }
});

test("a binary frame is refused as bad_message", () => {
  assert.equal((parseCommand(Buffer.from("{}"), true, 8) as { code: string }).code, "bad_message");
});
