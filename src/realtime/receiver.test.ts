import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Opcode } from "./constants.js";
import { encodeFrame } from "./frame.js";
import { type FrameSink, Receiver } from "./receiver.js";

class Sink implements FrameSink {
  events: string[] = [];
  onMessage(data: Buffer, binary: boolean) {
    this.events.push(`${binary ? "bin" : "text"}:${data.toString("hex")}`);
  }
  onPing(data: Buffer) {
    this.events.push(`ping:${data.toString("hex")}`);
  }
  onPong(data: Buffer) {
    this.events.push(`pong:${data.toString("hex")}`);
  }
  onCloseFrame(code: number, reason: string) {
    this.events.push(`close:${code}:${reason}`);
  }
  onProtocolError(code: number) {
    this.events.push(`error:${code}`);
  }
}

const frameArb = fc.oneof(
  fc.record({ op: fc.constant(Opcode.Text), data: fc.string({ maxLength: 300 }).map((s) => Buffer.from(s)) }),
  fc.record({
    op: fc.constant(Opcode.Binary),
    data: fc.uint8Array({ maxLength: 70_000 }).map((a) => Buffer.from(a)),
  }),
  fc.record({
    op: fc.constant(Opcode.Ping),
    data: fc.uint8Array({ maxLength: 125 }).map((a) => Buffer.from(a)),
  }),
);

test("the same frames give the same events however the bytes are split", () => {
  fc.assert(
    fc.property(
      fc.array(frameArb, { maxLength: 6 }),
      fc.array(fc.nat(), { maxLength: 10 }),
      (frames, cuts) => {
        const wire = Buffer.concat(frames.map((f) => encodeFrame(f.op, f.data, { mask: true })));
        const whole = new Sink();
        new Receiver(whole, true, 0).push(Buffer.from(wire));
        const split = new Sink();
        const r = new Receiver(split, true, 0);
        const points = [...new Set(cuts.map((c) => c % (wire.length + 1)))].sort((a, b) => a - b);
        let from = 0;
        for (const p of [...points, wire.length]) {
          r.push(Buffer.from(wire.subarray(from, p)));
          from = p;
        }
        assert.deepEqual(split.events, whole.events);
        assert.equal(whole.events.length, frames.length);
      },
    ),
    { numRuns: 200 },
  );
});

test("a client-side receiver refuses masked frames; a server-side one unmasked", () => {
  const s = new Sink();
  new Receiver(s, false, 0).push(encodeFrame(Opcode.Text, Buffer.from("x"), { mask: true }));
  assert.deepEqual(s.events, ["error:1002"]);
  const t = new Sink();
  new Receiver(t, true, 0).push(encodeFrame(Opcode.Text, Buffer.from("x")));
  assert.deepEqual(t.events, ["error:1002"]);
});

test("random bytes never throw: they end in messages or one protocol error", () => {
  fc.assert(
    fc.property(fc.uint8Array({ maxLength: 200 }), (bytes) => {
      const s = new Sink();
      new Receiver(s, true, 1024).push(Buffer.from(bytes));
      assert.ok(s.events.filter((e) => e.startsWith("error")).length <= 1);
    }),
    { numRuns: 500 },
  );
});
