import assert from "node:assert/strict";
import { test } from "node:test";
import { TransferLedger } from "./gate.js";
import type { TransferVerdict } from "./serve.js";

test("the primary's ledger: a MAC seen from any worker is a replay; the cap counts what every worker is sending; slots come back", () => {
  const mac = (n: number) => Buffer.alloc(32, n).toString("base64");
  const l = new TransferLedger<string>(2);
  type Step =
    | ["admit", string | null, TransferVerdict]
    | ["take", string]
    | ["release", string, number]
    | ["forget", string]
    | ["max", number];
  // [op, …, what it gives]; then the transfers counted after it
  const steps: [Step, number][] = [
    [["admit", mac(1), "ok"], 0], // admitted: counted only once its messages wait for the client
    [["take", "w1"], 1],
    [["admit", mac(1), "replayed"], 1], // recorded on its way to w1, sent to w2
    [["admit", null, "ok"], 1], // unsigned: no MAC to remember
    [["take", "w2"], 2],
    [["admit", mac(2), "busy"], 2], // the cap is for all workers together
    [["admit", mac(2), "replayed"], 2], // refused as busy, its MAC is still spent
    [["release", "w2", 1], 1],
    [["admit", null, "ok"], 1],
    [["take", "w1"], 2],
    [["release", "w2", 5], 2], // w2 holds none now: nothing more comes back
    [["release", "w1", Number.NaN], 2], // not a count: ignored
    [["forget", "w1"], 0], // w1 died: its two slots are free
    [["max", 0], 0],
    [["admit", null, "busy"], 0], // dns.transfersOut lowered by a reload
  ];
  for (const [s, after] of steps) {
    if (s[0] === "admit")
      assert.equal(l.admit({ key: "k", mac: s[1], expires: 1300 }, 1000), s[2], `admit ${s[1]}`);
    else if (s[0] === "take") l.take(s[1]);
    else if (s[0] === "release") l.release(s[1], s[2]);
    else if (s[0] === "forget") l.forget(s[1]);
    else l.max = s[1];
    assert.equal(l.inProgress, after, s.join(" "));
  }
});
