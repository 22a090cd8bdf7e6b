import assert from "node:assert/strict";
import { test } from "node:test";
import { TransferLedger } from "./gate.js";
import type { TransferVerdict } from "./serve.js";

test("the primary's ledger: a MAC seen from any worker is a replay; the cap counts every worker; slots come back", () => {
  const mac = (n: number) => Buffer.alloc(32, n).toString("base64");
  const l = new TransferLedger<string>(2);
  type Step =
    | ["admit", string, string | null, TransferVerdict, number]
    | ["release", string, number, number]
    | ["forget", string, number]
    | ["max", number, number];
  // [op, worker, …, what it gives, transfers in progress after]
  const steps: Step[] = [
    ["admit", "w1", mac(1), "ok", 1],
    ["admit", "w2", mac(1), "replayed", 1], // recorded on its way to w1, sent to w2
    ["admit", "w2", null, "ok", 2], // unsigned: no MAC to remember
    ["admit", "w1", mac(2), "busy", 2], // the cap is for all workers together
    ["admit", "w1", mac(2), "replayed", 2], // refused as busy, its MAC is still spent
    ["release", "w2", 1, 1],
    ["admit", "w1", null, "ok", 2],
    ["release", "w2", 5, 2], // w2 holds none now: nothing more comes back
    ["forget", "w1", 0], // w1 died: its two slots are free
    ["max", 0, 0],
    ["admit", "w2", null, "busy", 0], // dns.transfersOut: 0 after a reload
  ];
  for (const s of steps) {
    if (s[0] === "admit") {
      const [, w, m, want, after] = s;
      assert.equal(l.admit(w, { key: "k", mac: m, expires: 1300 }, 1000), want, `${w} ${m}`);
      assert.equal(l.inProgress, after);
    } else if (s[0] === "release") {
      l.release(s[1], s[2]);
      assert.equal(l.inProgress, s[3]);
    } else if (s[0] === "forget") {
      l.forget(s[1]);
      assert.equal(l.inProgress, s[2]);
    } else {
      l.max = s[1];
      assert.equal(l.inProgress, s[2]);
    }
  }
});
