import assert from "node:assert/strict";
import { test } from "node:test";
import { FrameTap, type TappedFrame } from "./ws-tap.js";

function frame(opcode: number, payload: Buffer, mask: boolean): Buffer {
  const len = payload.length;
  const head: number[] = [0x80 | opcode];
  const m = mask ? 0x80 : 0;
  if (len < 126) head.push(m | len);
  else if (len < 65536) head.push(m | 126, len >> 8, len & 255);
  else {
    head.push(m | 127, 0, 0, 0, 0);
    head.push((len >>> 24) & 255, (len >>> 16) & 255, (len >>> 8) & 255, len & 255);
  }
  if (!mask) return Buffer.concat([Buffer.from(head), payload]);
  const key = Buffer.from([1, 2, 3, 4]);
  const body = Buffer.from(payload.map((b, i) => b ^ key[i & 3]!));
  return Buffer.concat([Buffer.from(head), key, body]);
}

const stream = Buffer.concat([
  frame(1, Buffer.from("héllo"), true),
  frame(2, Buffer.alloc(300, 7), false),
  frame(1, Buffer.from("x".repeat(70_000)), true),
  frame(9, Buffer.alloc(0), true),
  frame(8, Buffer.concat([Buffer.from([0x03, 0xe8]), Buffer.from("bye")]), true),
]);

function run(chunks: Buffer[]): TappedFrame[] {
  const out: TappedFrame[] = [];
  const tap = new FrameTap((f) => out.push(f));
  for (const c of chunks) tap.push(c);
  return out;
}

function check(frames: TappedFrame[]): void {
  assert.deepEqual(
    frames.map((f) => [f.opcode, f.length]),
    [
      [1, 6],
      [2, 300],
      [1, 70_000],
      [9, 0],
      [8, 5],
    ],
  );
  assert.equal(frames[0]!.text, "héllo");
  assert.equal(frames[1]!.text, "");
  assert.equal(frames[2]!.text, "x".repeat(512), "a preview, not the whole payload");
  assert.deepEqual(frames[4]!.close, { code: 1000, reason: "bye" });
}

test("frames are read whole from one chunk", () => check(run([stream])));

test("frames are read the same whatever the split (every byte apart, and random cuts)", () => {
  check(run([...stream].map((b) => Buffer.from([b]))));
  for (let round = 0; round < 50; round++) {
    const chunks: Buffer[] = [];
    let at = 0;
    while (at < stream.length) {
      const n = 1 + Math.floor(Math.random() * 200);
      chunks.push(stream.subarray(at, at + n));
      at += n;
    }
    check(run(chunks));
  }
});
