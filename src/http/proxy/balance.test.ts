import assert from "node:assert/strict";
import { test } from "node:test";
import { type Candidate, createBalancer } from "./balance.js";

class U implements Candidate {
  inflight = 0;
  up = true;
  constructor(readonly name: string) {}
  healthy(): boolean {
    return this.up;
  }
}

const none = new Set<U>();

test("round_robin: in turn, skipping the unhealthy and those tried", () => {
  const list = [new U("a"), new U("b"), new U("c")];
  const b = createBalancer<U>("round_robin");
  assert.deepEqual(
    [1, 2, 3, 4].map(() => b.pick(list, "", none, 0)!.name),
    ["a", "b", "c", "a"],
  );
  list[1]!.up = false;
  assert.deepEqual(
    [1, 2, 3].map(() => b.pick(list, "", none, 0)!.name),
    ["c", "a", "c"],
  );
  assert.equal(b.pick(list, "", new Set([list[0]!, list[2]!]), 0), null);
});

test("least_conn: the fewest in flight; ties shared", () => {
  const list = [new U("a"), new U("b"), new U("c")];
  const b = createBalancer<U>("least_conn");
  list[0]!.inflight = 5;
  list[1]!.inflight = 1;
  list[2]!.inflight = 3;
  assert.equal(b.pick(list, "", none, 0)!.name, "b");
  list[1]!.up = false;
  assert.equal(b.pick(list, "", none, 0)!.name, "c");
  for (const u of list) {
    u.inflight = 0;
    u.up = true;
  }
  const seen = new Set([1, 2, 3, 4, 5, 6].map(() => b.pick(list, "", none, 0)!.name));
  assert.equal(seen.size, 3, "equal upstreams share the load");
});

test("client_hash: a client stays on one upstream; only its clients move when it goes down", () => {
  const list = ["a", "b", "c", "d"].map((n) => new U(n));
  const b = createBalancer<U>("client_hash");
  const clients = Array.from({ length: 200 }, (_, i) => `10.0.${i >> 8}.${i & 255}`);
  const before = new Map(clients.map((c) => [c, b.pick(list, c, none, 0)!.name]));
  for (const c of clients) assert.equal(b.pick(list, c, none, 0)!.name, before.get(c), "sticky");
  assert.ok(new Set(before.values()).size === 4, "spread over every upstream");
  list[2]!.up = false;
  for (const c of clients) {
    const now = b.pick(list, c, none, 0)!.name;
    if (before.get(c) !== "c") assert.equal(now, before.get(c), "clients of healthy upstreams do not move");
    else assert.notEqual(now, "c");
  }
});

test("first: the first healthy in list order", () => {
  const list = [new U("a"), new U("b")];
  const b = createBalancer<U>("first");
  assert.equal(b.pick(list, "", none, 0)!.name, "a");
  list[0]!.up = false;
  assert.equal(b.pick(list, "", none, 0)!.name, "b");
  list[1]!.up = false;
  assert.equal(b.pick(list, "", none, 0), null);
});
