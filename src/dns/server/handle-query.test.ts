import assert from "node:assert/strict";
import { test } from "node:test";
import fc from "fast-check";
import { Flag, RRType } from "../wire/constants.js";
import { encodeMessage } from "../wire/writer.js";
import { parseMasterFile } from "../zone/master-file.js";
import { Zone } from "../zone/zone.js";
import { ZoneSet } from "../zone/zone-set.js";
import { buildChain } from "./chain.js";
import { handleQuery } from "./handle-query.js";

const text = `$TTL 60
@ SOA ns hm 1 2 3 4 5
@ NS ns
ns A 192.0.2.1
www A 192.0.2.2
*.w CNAME www
sub NS ns.sub
ns.sub A 192.0.2.3
d DNAME www
`;
const zones = new ZoneSet([
  new Zone("example.test", parseMasterFile(text, { file: "t.zone", origin: "example.test" }), "t.zone"),
]);
const chain = buildChain(zones, null);

test("fuzz: no input makes the query handler throw; every answer is a well-formed response", () => {
  const valid = encodeMessage({
    id: 1,
    flags: Flag.RD,
    opcode: 0,
    rcode: 0,
    questions: [{ name: "x.w.example.test", type: RRType.A, klass: 1 }],
    answers: [],
    authority: [],
    additional: [{ name: "", type: RRType.OPT, klass: 1232, ttl: 0, data: { type: "opt", options: [] } }],
  });
  fc.assert(
    fc.property(
      fc.oneof(
        fc.uint8Array({ maxLength: 300 }),
        fc
          .tuple(fc.nat(valid.length - 1), fc.uint8Array({ minLength: 1, maxLength: 6 }))
          .map(([at, patch]) => {
            const b = Buffer.from(valid);
            Buffer.from(patch).copy(b, at);
            return new Uint8Array(b);
          }),
      ),
      fc.boolean(),
      (bytes, udp) => {
        const out = handleQuery(Buffer.from(bytes), chain, udp);
        assert.ok(!(out instanceof Promise));
        if (out !== null) {
          assert.ok(out.length >= 12);
          assert.equal(out.readUInt16BE(2) & Flag.QR, Flag.QR);
          if (udp) assert.ok(out.length <= 1232);
        }
      },
    ),
    { numRuns: 5000 },
  );
});
