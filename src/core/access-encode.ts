/**
 * Access-log lines (JSON, and nginx's combined format) encoded straight into
 * the writer's buffer: no string is built per request. ASCII text is copied
 * byte by byte while it is checked; a value that needs escaping is escaped
 * as a string (log-escape.ts) for that value alone. A property test checks
 * the lines against JSON.stringify and a plain combined-format reference.
 */
import type { HttpRequestEvent } from "./diagnostics.js";
import { quoteClf, str } from "./log-escape.js";
import { clfTime, isoSecond } from "./log-time.js";

/** An upper bound of a line's bytes (every character escaped to six bytes, plus the fixed text). */
export function maxLineBytes(e: HttpRequestEvent): number {
  let n =
    e.remoteAddress.length +
    e.method.length +
    e.host.length +
    e.target.length +
    e.site.length +
    e.location.length +
    e.referer.length +
    e.userAgent.length;
  if (e.tls !== null) n += e.tls.version.length + e.tls.sni.length;
  if (e.upstream !== null) n += e.upstream.address.length + (e.upstream.error?.length ?? 0);
  return n * 6 + 512;
}

/** Printable ASCII other than `"` and `\`, copied; -1 (the caller escapes) when a character needs care. */
function plain(buf: Buffer, pos: number, s: string): number {
  const n = s.length;
  for (let i = 0; i < n; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c >= 0x7f || c === 0x22 || c === 0x5c) return -1;
    buf[pos + i] = c;
  }
  return pos + n;
}

function ascii(buf: Buffer, pos: number, s: string): number {
  for (let i = 0; i < s.length; i++) buf[pos + i] = s.charCodeAt(i);
  return pos + s.length;
}

/** A JSON string literal. */
function jstr(buf: Buffer, pos: number, s: string): number {
  buf[pos] = 0x22;
  const end = plain(buf, pos + 1, s);
  if (end >= 0) {
    buf[end] = 0x22;
    return end + 1;
  }
  return pos + buf.write(str(s), pos, "utf8");
}

/** A non-negative integer's digits (no string made; 32-bit integer arithmetic below 2^32); anything else as `String(v)` writes it. */
function num(buf: Buffer, pos: number, v: number): number {
  if (v >>> 0 !== v) return bigNum(buf, pos, v);
  const digits =
    v < 10
      ? 1
      : v < 100
        ? 2
        : v < 1e3
          ? 3
          : v < 1e4
            ? 4
            : v < 1e5
              ? 5
              : v < 1e6
                ? 6
                : v < 1e7
                  ? 7
                  : v < 1e8
                    ? 8
                    : v < 1e9
                      ? 9
                      : 10;
  let at = pos + digits - 1;
  while (v >= 10) {
    const q = (v / 10) >>> 0;
    buf[at--] = 48 + v - q * 10;
    v = q;
  }
  buf[at] = 48 + v;
  return pos + digits;
}

/** `num` for 2^32 and above (safe integers), and anything else as `String(v)` writes it. */
function bigNum(buf: Buffer, pos: number, v: number): number {
  if (!Number.isSafeInteger(v) || v < 0) return ascii(buf, pos, String(v));
  let digits = 1;
  for (let x = v; x >= 10; x = Math.floor(x / 10)) digits++;
  let at = pos + digits - 1;
  do {
    buf[at--] = 48 + (v % 10);
    v = Math.floor(v / 10);
  } while (v > 0);
  return pos + digits;
}

function ms3(v: number): number {
  return Math.round(v * 1000) / 1000;
}

/** Milliseconds rounded to three decimals, written as JSON writes `ms3(v)` (integer arithmetic, no float printing). */
function millis(buf: Buffer, pos: number, v: number): number {
  const t = Math.round(v * 1000);
  // Past 2^32 thousandths (49 days), or not a number of them: as JSON writes it. (Far past that, near
  // 2^43 ms, a double cannot hold three decimals and JSON prints fewer than the digits would.)
  if (t >>> 0 !== t) return ascii(buf, pos, String(ms3(v)));
  const whole = (t / 1000) >>> 0;
  return fraction(buf, num(buf, pos, whole), t - whole * 1000);
}

/** `.5`, `.25`, `.125` for thousandths 500, 250, 125 (trailing zeros left out, as JSON prints a number); nothing for 0. */
function fraction(buf: Buffer, pos: number, thousandths: number): number {
  if (thousandths === 0) return pos;
  const d1 = (thousandths / 100) >>> 0;
  const rest = thousandths - d1 * 100;
  const d2 = (rest / 10) >>> 0;
  const d3 = rest - d2 * 10;
  buf[pos] = 0x2e; // .
  buf[pos + 1] = 48 + d1;
  if (d3 !== 0) {
    buf[pos + 2] = 48 + d2;
    buf[pos + 3] = 48 + d3;
    return pos + 4;
  }
  if (d2 !== 0) {
    buf[pos + 2] = 48 + d2;
    return pos + 3;
  }
  return pos + 2;
}

/** The milliseconds of a time, three digits (the ISO prefix of its second comes before, `Z` after). */
function millisOfSecond(buf: Buffer, pos: number, ms: number): number {
  const frac = Math.floor(ms - Math.floor(ms / 1000) * 1000) >>> 0;
  const d1 = (frac / 100) >>> 0;
  const rest = frac - d1 * 100;
  const d2 = (rest / 10) >>> 0;
  buf[pos] = 48 + d1;
  buf[pos + 1] = 48 + d2;
  buf[pos + 2] = 48 + rest - d2 * 10;
  return pos + 3;
}

/**
 * Encoded runs of a JSON line that repeat from request to request, kept as
 * bytes and copied with one `set` (a memcpy) rather than byte by byte: the
 * text between values, joined to the values that rarely change (the client's
 * address, the method, the host, the site, the location, the user agent). Each cache
 * keeps 256 values of up to 256 characters and starts over when full.
 */
/** The longest value a cache keeps. */
const MAX_KEPT = 256;

class Runs {
  private readonly map = new Map<string, Buffer>();
  /** The value asked for last and its run: most lines repeat it, and comparing beats hashing a fresh string. */
  private last: string | null = null;
  private lastRun: Buffer = Buffer.alloc(0);
  constructor(
    private readonly before: string,
    private readonly after: string,
    /** The string the value stands for in the line (the protocol's name for a version). */
    private readonly shown: (value: string) => string = (v) => v,
    /** How the format writes a string: a JSON literal, or the combined format's escaped text. */
    private readonly quote: (s: string) => string = str,
    /** Values kept at most (the cache starts over when full). */
    private readonly max = 256,
  ) {}

  get(value: string): Buffer {
    if (value === this.last) return this.lastRun;
    let run = this.map.get(value);
    if (run === undefined) {
      run = Buffer.from(`${this.before}${this.quote(this.shown(value))}${this.after}`, "utf8");
      // Long values (a client's made-up user agent) are not kept: the caches stay a few hundred KiB at most.
      if (value.length > MAX_KEPT) return run;
      if (this.map.size >= this.max) this.map.clear();
      this.map.set(value, run);
    }
    this.last = value;
    this.lastRun = run;
    return run;
  }
}

/**
 * Two neighbouring values in one run (the method and the host; the site and
 * the location; the TLS version and the SNI name): one copy instead of two. At most 16 first values × 64
 * second ones are kept (a client's made-up methods and hosts cannot grow it).
 */
class PairRuns {
  private readonly outer = new Map<string, Runs>();
  private lastA: string | null = null;
  private lastB: string | null = null;
  private lastRun: Buffer = Buffer.alloc(0);
  constructor(
    private readonly before: string,
    private readonly middle: string,
    private readonly after: string,
  ) {}

  get(a: string, b: string): Buffer {
    if (a === this.lastA && b === this.lastB) return this.lastRun;
    let inner = this.outer.get(a);
    if (inner === undefined) {
      inner = new Runs(`${this.before}${str(a)}${this.middle}`, this.after, undefined, undefined, 64);
      if (a.length > MAX_KEPT) return inner.get(b);
      if (this.outer.size >= 16) this.outer.clear();
      this.outer.set(a, inner);
    }
    const run = inner.get(b);
    this.lastA = a;
    this.lastB = b;
    this.lastRun = run;
    return run;
  }
}

const REMOTE = new Runs('Z","remote":', ',"method":');
const METHOD_HOST = new PairRuns("", ',"host":', ',"uri":');
const PROTOCOL = new Runs(',"protocol":', ',"status":', (version) => `HTTP/${version}`);

/**
 * A run made of a string and a status (`,"protocol":"HTTP/1.1","status":200,"bytes":`;
 * an upstream's address and status), copied in one piece: kept for statuses
 * 0–999 of up to `max` strings (it starts over when full); `null` for a value
 * it does not keep, which the caller writes part by part.
 */
class StatusRuns {
  private readonly byKey = new Map<string, Buffer[]>();
  private lastKey: string | null = null;
  private lastStatus = -1;
  private lastRun: Buffer = Buffer.alloc(0);
  constructor(
    private readonly make: (key: string, status: number) => string,
    private readonly max: number,
  ) {}

  get(key: string, status: number): Buffer | null {
    if (status === this.lastStatus && key === this.lastKey) return this.lastRun;
    if (status >>> 0 !== status || status > 999 || key.length > MAX_KEPT) return null;
    let runs = this.byKey.get(key);
    if (runs === undefined) {
      if (this.byKey.size >= this.max) this.byKey.clear();
      runs = [];
      this.byKey.set(key, runs);
    }
    let run = runs[status];
    if (run === undefined) {
      run = Buffer.from(this.make(key, status), "utf8");
      runs[status] = run;
    }
    this.lastKey = key;
    this.lastStatus = status;
    this.lastRun = run;
    return run;
  }
}
const STATUS = new StatusRuns(
  (version, status) => `,"protocol":${str(`HTTP/${version}`)},"status":${status},"bytes":`,
  8,
);
const UPSTREAM = new StatusRuns(
  (address, status) => `,"upstream":${str(address)},"upstream_status":${status},"upstream_connect_ms":`,
  64,
);
const FIRST_BYTE = Buffer.from(',"upstream_first_byte_ms":', "latin1");
const TLS = new PairRuns(',"tls":', ',"sni":', "");
const DURATION = Buffer.from(',"duration_ms":', "latin1");
const SITE_LOCATION = new PairRuns(',"site":', ',"location":', ',"referer":');
/** The user agent after an empty referer (the usual case for a first visit, and for every tool). */
const AGENT_NO_REFERER = new Runs('"","user_agent":', "");
const AGENT = new Runs(',"user_agent":', "");

/**
 * Neighbouring parts of the last lines joined into one run: a client's
 * requests on one connection repeat its address, method and host, its site,
 * location, referer and user agent, and one copy costs less than three (a copy
 * of a cached run costs about 25 ns inside a busy server, most of it fetching
 * the run back into the CPU's caches). When the same values (up to four) come
 * twice in a row, the bytes just written for them are kept; until then the
 * caller writes the parts.
 */
class JoinedRun {
  private a: string | null = null;
  private b: string | null = null;
  private c: string | null = null;
  private d: string | null = null;
  private run: Buffer | null = null;
  /** The values came twice in a row: keep what `wrote` is given next. */
  private again = false;

  /** The joined run for these values, or null: the caller writes the parts, then calls `wrote`. */
  get(a: string, b: string, c: string, d: string): Buffer | null {
    if (a === this.a && b === this.b && c === this.c && d === this.d) {
      if (this.run === null) this.again = true;
      return this.run;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
    this.run = null;
    this.again = false;
    return null;
  }

  /** The parts `get` asked for were written at `buf[from, to)`. */
  wrote(buf: Buffer, from: number, to: number): void {
    if (!this.again || to - from > 4 * MAX_KEPT) return;
    this.run = Buffer.from(buf.subarray(from, to));
    this.again = false;
  }
}
const HEAD = new JoinedRun();
const TAIL = new JoinedRun();

function copy(buf: Buffer, pos: number, run: Buffer): number {
  buf.set(run, pos);
  return pos + run.length;
}

let timeSecond = "";
let timeRun: Buffer = Buffer.alloc(0);

/** One JSON line (with its newline) at `pos`; returns the position after it. */
export function encodeJson(buf: Buffer, pos: number, e: HttpRequestEvent): number {
  const second = isoSecond(e.time);
  if (second !== timeSecond) {
    timeSecond = second;
    timeRun = Buffer.from(`{"time":"${second}`, "latin1");
  }
  pos = copy(buf, pos, timeRun);
  pos = millisOfSecond(buf, pos, e.time);
  const head = HEAD.get(e.remoteAddress, e.method, e.host, "");
  if (head !== null) pos = copy(buf, pos, head);
  else {
    const from = pos;
    pos = copy(buf, pos, REMOTE.get(e.remoteAddress));
    pos = copy(buf, pos, METHOD_HOST.get(e.method, e.host));
    HEAD.wrote(buf, from, pos);
  }
  pos = jstr(buf, pos, e.target);
  const status = STATUS.get(e.httpVersion, e.status);
  if (status !== null) pos = copy(buf, pos, status);
  else {
    pos = copy(buf, pos, PROTOCOL.get(e.httpVersion));
    pos = num(buf, pos, e.status);
    pos = ascii(buf, pos, ',"bytes":');
  }
  pos = num(buf, pos, e.bytes);
  pos = copy(buf, pos, DURATION);
  pos = millis(buf, pos, e.durationMs);
  const tail = TAIL.get(e.site, e.location, e.referer, e.userAgent);
  if (tail !== null) pos = copy(buf, pos, tail);
  else {
    const from = pos;
    pos = copy(buf, pos, SITE_LOCATION.get(e.site, e.location));
    if (e.referer === "") pos = copy(buf, pos, AGENT_NO_REFERER.get(e.userAgent));
    else {
      pos = jstr(buf, pos, e.referer);
      pos = copy(buf, pos, AGENT.get(e.userAgent));
    }
    TAIL.wrote(buf, from, pos);
  }
  if (!e.completed) pos = ascii(buf, pos, ',"aborted":true');
  if (e.tls !== null) pos = copy(buf, pos, TLS.get(e.tls.version, e.tls.sni));
  const u = e.upstream;
  if (u !== null) {
    const run = UPSTREAM.get(u.address, u.status);
    if (run !== null) pos = copy(buf, pos, run);
    else {
      pos = ascii(buf, pos, ',"upstream":');
      pos = jstr(buf, pos, u.address);
      pos = ascii(buf, pos, ',"upstream_status":');
      pos = num(buf, pos, u.status);
      pos = ascii(buf, pos, ',"upstream_connect_ms":');
    }
    pos = millis(buf, pos, u.connectMs);
    pos = copy(buf, pos, FIRST_BYTE);
    pos = millis(buf, pos, u.firstByteMs);
    if (u.error) {
      pos = ascii(buf, pos, ',"upstream_error":');
      pos = jstr(buf, pos, u.error);
    }
  }
  buf[pos] = 0x7d; // }
  buf[pos + 1] = 0x0a;
  return pos + 2;
}

/** Text inside the combined format's quotes. */
function clf(buf: Buffer, pos: number, s: string): number {
  const end = plain(buf, pos, s);
  return end >= 0 ? end : pos + buf.write(quoteClf(s), pos, "utf8");
}

const orDash = (v: string) => v || "-";
const CLF_REMOTE = new Runs("", " - - [", orDash, quoteClf);
/** `" HTTP/1.1" 200 `: the version and the status in one run. */
const CLF_VERSION_STATUS = new StatusRuns((version, status) => ` HTTP/${quoteClf(version)}" ${status} `, 8);
/** The time and the method after it (`28/Nov/2026:15:09:23 +0000] "GET `), built once a second per method. */
const CLF_TIME_METHOD = new JoinedRun();
/** The referer and the user agent (` "-" "curl/8.5.0"\n`). */
const CLF_TAIL = new JoinedRun();

/** One combined-format line (with its newline) at `pos`. */
export function encodeCombined(buf: Buffer, pos: number, e: HttpRequestEvent): number {
  pos = copy(buf, pos, CLF_REMOTE.get(e.remoteAddress));
  const time = clfTime(e.time);
  const timeMethod = CLF_TIME_METHOD.get(time, e.method, "", "");
  if (timeMethod !== null) pos = copy(buf, pos, timeMethod);
  else {
    const from = pos;
    pos = ascii(buf, pos, time);
    pos = ascii(buf, pos, '] "');
    pos = clf(buf, pos, e.method);
    buf[pos++] = 0x20;
    CLF_TIME_METHOD.wrote(buf, from, pos);
  }
  // The request line, part by part (escaping each part is escaping the whole: the joins are plain).
  pos = clf(buf, pos, e.target);
  const versionStatus = CLF_VERSION_STATUS.get(e.httpVersion, e.status);
  if (versionStatus !== null) pos = copy(buf, pos, versionStatus);
  else {
    pos = ascii(buf, pos, " HTTP/");
    pos = clf(buf, pos, e.httpVersion);
    pos = ascii(buf, pos, '" ');
    pos = num(buf, pos, e.status);
    buf[pos++] = 0x20;
  }
  pos = num(buf, pos, e.bytes);
  const tail = CLF_TAIL.get(e.referer, e.userAgent, "", "");
  if (tail !== null) return copy(buf, pos, tail);
  const from = pos;
  pos = ascii(buf, pos, ' "');
  pos = clf(buf, pos, e.referer || "-");
  pos = ascii(buf, pos, '" "');
  pos = clf(buf, pos, e.userAgent || "-");
  pos = ascii(buf, pos, '"\n');
  CLF_TAIL.wrote(buf, from, pos);
  return pos;
}
