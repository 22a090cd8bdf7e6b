/** TSIG (RFC 8945) signing and verification, rule by rule. Real peers (kdig, Knot, BIND) check it in test/dns-transfer.test.ts. */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Flag, RRClass, RRType } from "../wire/constants.js";
import { encodeMessage } from "../wire/writer.js";
import { appendTsigError, findTsig, signMessage, TsigError, tsigKey, tsigSize, verifyTsig } from "./tsig.js";

const key = tsigKey("Key1.", "hmac-sha256", Buffer.alloc(32, 7).toString("base64"));
const keys = new Map([[key.name, key]]);
const NOW = 1_800_000_000;

function query(id = 0x1234): Buffer {
  return encodeMessage({
    id,
    flags: 0,
    opcode: 0,
    rcode: 0,
    questions: [{ name: "example.test", type: RRType.SOA, klass: RRClass.IN }],
    answers: [],
    authority: [],
    additional: [],
  });
}

function verify(wire: Buffer, now = NOW, prior: Buffer | null = null, timersOnly = false) {
  const t = findTsig(wire);
  assert.ok(t, "no TSIG record");
  return verifyTsig(wire, t, keys, now, prior, timersOnly).error;
}

describe("TSIG", () => {
  test("a signed message verifies; the key name is kept lower case without the dot", () => {
    assert.equal(key.name, "key1");
    const { wire } = signMessage(query(), key, { now: NOW });
    assert.equal(wire.readUInt16BE(10), 1, "ARCOUNT counts the TSIG record");
    assert.equal(verify(wire), TsigError.NOERROR);
    assert.equal(wire.length, query().length + tsigSize(key));
  });

  const tampered: [string, (w: Buffer) => void][] = [
    ["a changed question byte", (w) => (w[13] = w[13]! ^ 1)],
    ["a changed flag", (w) => w.writeUInt16BE(Flag.RD, 2)],
    ["a changed MAC byte", (w) => (w[w.length - 10] = w[w.length - 10]! ^ 1)],
  ];
  for (const [what, edit] of tampered)
    test(`${what}: BADSIG`, () => {
      const { wire } = signMessage(query(), key, { now: NOW });
      edit(wire);
      assert.equal(verify(wire), TsigError.BADSIG);
    });

  test("the header ID may change on the way (a forwarder's); the original ID in the record is what is signed", () => {
    const { wire } = signMessage(query(), key, { now: NOW });
    wire.writeUInt16BE(0x4321, 0);
    assert.equal(verify(wire), TsigError.NOERROR);
    wire.writeUInt16BE(0x4321, wire.length - 6); // the original ID field
    assert.equal(verify(wire), TsigError.BADSIG);
  });

  test("another secret: BADSIG; an unknown key name or algorithm: BADKEY", () => {
    const other = tsigKey("key1", "hmac-sha256", Buffer.alloc(32, 8).toString("base64"));
    assert.equal(verify(signMessage(query(), other, { now: NOW }).wire), TsigError.BADSIG);
    const stranger = tsigKey("key2", "hmac-sha256", Buffer.alloc(32, 7).toString("base64"));
    assert.equal(verify(signMessage(query(), stranger, { now: NOW }).wire), TsigError.BADKEY);
    const sha1 = tsigKey("key1", "hmac-sha1", Buffer.alloc(32, 7).toString("base64"));
    assert.equal(verify(signMessage(query(), sha1, { now: NOW }).wire), TsigError.BADKEY);
  });

  test("time signed past the fudge: BADTIME; within it: good", () => {
    const { wire } = signMessage(query(), key, { now: NOW, fudge: 300 });
    assert.equal(verify(wire, NOW + 300), TsigError.NOERROR);
    assert.equal(verify(wire, NOW - 300), TsigError.NOERROR);
    assert.equal(verify(wire, NOW + 301), TsigError.BADTIME);
  });

  test("a response covers the request's MAC; later TCP messages the previous MAC and the timers", () => {
    const req = signMessage(query(), key, { now: NOW });
    const first = signMessage(query(), key, { now: NOW, priorMac: req.mac });
    assert.equal(verify(first.wire, NOW, req.mac), TsigError.NOERROR);
    assert.equal(verify(first.wire, NOW, null), TsigError.BADSIG, "verified without the request MAC");
    const second = signMessage(query(), key, { now: NOW, priorMac: first.mac, timersOnly: true });
    assert.equal(verify(second.wire, NOW, first.mac, true), TsigError.NOERROR);
    assert.equal(verify(second.wire, NOW, first.mac, false), TsigError.BADSIG);
    assert.equal(verify(second.wire, NOW, req.mac, true), TsigError.BADSIG, "chained to the wrong message");
  });

  test("algorithms: each signs and verifies with its own digest length", () => {
    for (const alg of ["hmac-md5", "hmac-sha1", "hmac-sha224", "hmac-sha256", "hmac-sha384", "hmac-sha512"]) {
      const k = tsigKey("k", alg, Buffer.alloc(64, 3).toString("base64"));
      const { wire } = signMessage(query(), k, { now: NOW });
      const t = findTsig(wire)!;
      assert.equal(verifyTsig(wire, t, new Map([["k", k]]), NOW).error, TsigError.NOERROR, alg);
      assert.equal(t.algorithm, alg === "hmac-md5" ? "hmac-md5.sig-alg.reg.int" : alg);
    }
  });

  test("a TSIG record that is not last is a format error; none is null", () => {
    assert.equal(findTsig(query()), null);
    const { wire } = signMessage(query(), key, { now: NOW });
    // Append a second record (a copy of the TSIG one) after it: the first is no longer last.
    const rr = wire.subarray(query().length);
    const twice = Buffer.concat([wire, rr]);
    twice.writeUInt16BE(2, 10);
    assert.throws(() => findTsig(twice), /not the last/);
  });

  test("an error answer carries the request's key name and the error with an empty MAC", () => {
    const req = signMessage(query(), key, { now: NOW }).wire;
    const t = findTsig(req)!;
    const out = appendTsigError(query(), t, TsigError.BADSIG, NOW);
    const back = findTsig(out)!;
    assert.equal(back.keyName, "key1");
    assert.equal(back.error, TsigError.BADSIG);
    assert.equal(back.mac.length, 0);
  });
});
