/**
 * RFC 1035 master files: `$ORIGIN`, `$TTL`, `$INCLUDE`, `@`, relative names,
 * parentheses, comments, quoted strings with escapes, optional class, TTL
 * units (`1h30m`), and `\# len hex` RDATA for any type (RFC 3597).
 */
import { readFileSync } from "node:fs";
import path from "node:path";
import { FerryError } from "../../core/errors.js";
import { RRType, typeNumber } from "../wire/constants.js";
import type { RData, Record } from "../wire/message.js";
import { nameToLabels } from "../wire/names.js";
import { formatIPv6, parseIPv4, parseIPv6 } from "../wire/rdata.js";
import { type Entry, entries, type Token, TokenError, unescapeText } from "./tokenizer.js";

/** A zone file problem, with its file and line. */
export class ZoneSyntaxError extends FerryError {
  constructor(
    readonly file: string,
    readonly line: number,
    message: string,
  ) {
    super("ERR_DNS_ZONE_SYNTAX", `${file}:${line}: ${message}`);
    this.name = "ZoneSyntaxError";
  }
}

const TTL_UNITS: { [k: string]: number } = { s: 1, m: 60, h: 3600, d: 86400, w: 604800 };

/** `3600`, `1h`, `1h30m`, `2w` → seconds; null when it is not a TTL. */
export function parseTtl(text: string): number | null {
  if (/^\d+$/.test(text)) {
    const v = Number(text);
    return v <= 0x7fffffff ? v : null;
  }
  if (!/^(\d+[smhdw])+$/i.test(text)) return null;
  let total = 0;
  for (const m of text.toLowerCase().matchAll(/(\d+)([smhdw])/g)) total += Number(m[1]) * TTL_UNITS[m[2]!]!;
  return total <= 0x7fffffff ? total : null;
}

/** Options for parsing one zone. */
export interface ParseOptions {
  /** File name for messages (and the base for `$INCLUDE`). */
  file: string;
  /** Initial origin, e.g. `example.test` (no trailing dot needed). */
  origin: string;
  /** Reads an included file (tests can replace it). */
  readInclude?: (file: string) => string;
  /** Default TTL in force (an included file inherits its parent's). */
  ttl?: number | null;
}

interface State {
  origin: string;
  ttl: number | null;
  lastTtl: number | null;
  lastOwner: string | null;
}

function absolute(name: string, origin: string): string {
  if (name === "@") return origin;
  if (name.endsWith(".") && !name.endsWith("\\.")) return name === "." ? "" : name.slice(0, -1);
  return origin ? `${name}.${origin}` : name;
}

/** Parses master-file text into records (owner names absolute, without the trailing dot). */
export function parseMasterFile(text: string, opts: ParseOptions, depth = 0): Record[] {
  const out: Record[] = [];
  const st: State = {
    origin: opts.origin.replace(/\.$/, ""),
    ttl: opts.ttl ?? null,
    lastTtl: null,
    lastOwner: null,
  };
  const fail = (line: number, msg: string): never => {
    throw new ZoneSyntaxError(opts.file, line, msg);
  };
  try {
    for (const e of entries(text)) parseEntry(e, st, opts, out, depth, fail);
  } catch (err) {
    if (err instanceof TokenError) fail(err.line, err.message);
    throw err;
  }
  return out;
}

function parseEntry(
  e: Entry,
  st: State,
  opts: ParseOptions,
  out: Record[],
  depth: number,
  fail: (line: number, msg: string) => never,
): void {
  const t = e.tokens;
  const first = t[0]!.text;
  if (!t[0]!.quoted && first.startsWith("$")) {
    const dir = first.toUpperCase();
    if (dir === "$ORIGIN") {
      if (t.length !== 2) fail(e.line, "$ORIGIN takes one name");
      st.origin = checkName(absolute(t[1]!.text, st.origin), e.line, fail);
    } else if (dir === "$TTL") {
      const v = t.length === 2 ? parseTtl(t[1]!.text) : null;
      if (v === null) fail(e.line, "$TTL takes one TTL such as 3600 or 1h");
      st.ttl = v;
    } else if (dir === "$INCLUDE") {
      if (t.length < 2 || t.length > 3) fail(e.line, "$INCLUDE takes a file and an optional origin");
      if (depth >= 8) fail(e.line, "$INCLUDE nested too deeply");
      const file = path.resolve(path.dirname(opts.file), t[1]!.text);
      let body: string;
      try {
        body = (opts.readInclude ?? ((f) => readFileSync(f, "utf8")))(file);
      } catch (err) {
        fail(
          e.line,
          `cannot read $INCLUDE file ${t[1]!.text}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
        );
      }
      const origin = t[2] ? absolute(t[2].text, st.origin) : st.origin;
      const inner = parseMasterFile(body!, { ...opts, file, origin, ttl: st.ttl ?? st.lastTtl }, depth + 1);
      out.push(...inner);
    } else fail(e.line, `unknown directive ${first}`);
    return;
  }
  let i = 0;
  let owner: string;
  if (e.blankOwner) {
    if (st.lastOwner === null) fail(e.line, "no owner name, and no previous record to take it from");
    owner = st.lastOwner!;
  } else {
    owner = checkName(absolute(t[0]!.text, st.origin), e.line, fail);
    i = 1;
  }
  let ttl: number | null = null;
  let type: number | undefined;
  // [TTL] [class] or [class] [TTL], then the type.
  for (let k = 0; k < 3 && i < t.length; k++) {
    const word = t[i]!.text;
    const asTtl = parseTtl(word);
    if (asTtl !== null && ttl === null) {
      ttl = asTtl;
      i++;
      continue;
    }
    if (/^(IN|CLASS1)$/i.test(word)) {
      i++;
      continue;
    }
    if (/^(CH|HS|CS|CLASS\d+)$/i.test(word)) fail(e.line, `class ${word} is not supported (only IN)`);
    type = typeNumber(word);
    if (type === undefined) fail(e.line, `unknown type ${word}`);
    i++;
    break;
  }
  if (type === undefined) fail(e.line, "missing type");
  if (ttl === null) ttl = st.ttl ?? st.lastTtl;
  if (ttl === null) fail(e.line, "no TTL: give one, or set $TTL");
  const data = parseRData(type!, t.slice(i), st.origin, e.line, fail);
  st.lastOwner = owner;
  st.lastTtl = ttl;
  if (type === RRType.SOA && st.ttl === null) st.ttl = ttl;
  out.push({ name: owner, type: type!, klass: 1, ttl: ttl!, data });
}

function checkName(name: string, line: number, fail: (line: number, msg: string) => never): string {
  try {
    nameToLabels(name);
  } catch (err) {
    fail(line, (err as Error).message);
  }
  return name;
}

function parseRData(
  type: number,
  t: Token[],
  origin: string,
  line: number,
  fail: (line: number, msg: string) => never,
): RData {
  const words = t.map((x) => x.text);
  const count = (n: number, what: string) => {
    if (words.length !== n) fail(line, `${what} takes ${n} field${n > 1 ? "s" : ""}, got ${words.length}`);
  };
  const name = (w: string) => checkName(absolute(w, origin), line, fail);
  const u16 = (w: string, what: string) => {
    const v = Number(w);
    if (!/^\d+$/.test(w) || v > 0xffff) fail(line, `${what} must be 0-65535, got ${w}`);
    return v;
  };
  const u8 = (w: string, what: string) => {
    const v = Number(w);
    if (!/^\d+$/.test(w) || v > 255) fail(line, `${what} must be 0-255, got ${w}`);
    return v;
  };
  if (words[0] === "\\#" && !t[0]!.quoted) {
    const len = Number(words[1]);
    const hex = words.slice(2).join("");
    if (!/^\d+$/.test(words[1] ?? "") || !/^([0-9a-fA-F]{2})*$/.test(hex) || hex.length / 2 !== len) {
      fail(line, "generic RDATA is \\# LENGTH HEX with LENGTH bytes of hex");
    }
    return { type: "raw", data: Buffer.from(hex, "hex") };
  }
  try {
    switch (type) {
      case RRType.A:
        count(1, "A");
        return { type: "a", address: parseIPv4(words[0]!).join(".") };
      case RRType.AAAA:
        count(1, "AAAA");
        return { type: "aaaa", address: formatIPv6(parseIPv6(words[0]!), 0) };
      case RRType.NS:
      case RRType.CNAME:
      case RRType.PTR:
      case RRType.DNAME:
        count(1, "this type");
        return { type: "name", name: name(words[0]!) };
      case RRType.SOA: {
        count(7, "SOA");
        const nums = words.slice(2).map((w, k) => {
          const v = k === 0 ? (/^\d+$/.test(w) ? Number(w) : null) : parseTtl(w);
          if (v === null || v > 0xffffffff)
            fail(line, `bad SOA ${["serial", "refresh", "retry", "expire", "minimum"][k]} ${w}`);
          return v!;
        });
        return {
          type: "soa",
          mname: name(words[0]!),
          rname: name(words[1]!),
          serial: nums[0]!,
          refresh: nums[1]!,
          retry: nums[2]!,
          expire: nums[3]!,
          minimum: nums[4]!,
        };
      }
      case RRType.MX:
        count(2, "MX");
        return { type: "mx", preference: u16(words[0]!, "MX preference"), exchange: name(words[1]!) };
      case RRType.TXT: {
        if (words.length === 0) fail(line, "TXT needs at least one string");
        const strings = t.map((x) => unescapeText(x.text));
        for (const s of strings)
          if (s.length > 255)
            fail(line, "a TXT string is longer than 255 bytes: split it into several quoted strings");
        return { type: "txt", strings };
      }
      case RRType.SRV:
        count(4, "SRV");
        return {
          type: "srv",
          priority: u16(words[0]!, "SRV priority"),
          weight: u16(words[1]!, "SRV weight"),
          port: u16(words[2]!, "SRV port"),
          target: name(words[3]!),
        };
      case RRType.CAA: {
        count(3, "CAA");
        const tag = words[1]!;
        if (!/^[A-Za-z0-9]{1,255}$/.test(tag)) fail(line, `bad CAA tag ${tag}`);
        return { type: "caa", flags: u8(words[0]!, "CAA flags"), tag, value: unescapeText(words[2]!) };
      }
      case RRType.DS: {
        if (words.length < 4) fail(line, "DS takes key tag, algorithm, digest type and digest");
        const hex = words.slice(3).join("");
        if (!/^([0-9a-fA-F]{2})+$/.test(hex)) fail(line, "DS digest must be hex");
        return {
          type: "ds",
          keyTag: u16(words[0]!, "DS key tag"),
          algorithm: u8(words[1]!, "DS algorithm"),
          digestType: u8(words[2]!, "DS digest type"),
          digest: Buffer.from(hex, "hex"),
        };
      }
      default:
        return fail(line, `type ${type} needs generic RDATA: \\# LENGTH HEX`);
    }
  } catch (err) {
    if (err instanceof ZoneSyntaxError) throw err;
    return fail(line, (err as Error).message);
  }
}
