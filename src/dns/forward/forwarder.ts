/**
 * The caching forwarder: names outside Ferry's zones go to the configured
 * upstreams (UDP, TCP when truncated; timeouts, retries and failover). The
 * cache honours TTLs, keeps negative answers for min(SOA TTL, MINIMUM)
 * (RFC 2308), is bounded, and coalesces identical questions in flight.
 * Every upstream query has a random ID and source port, and only an answer
 * from the server asked, with that ID and question, is accepted (client.ts).
 */
import { lookup } from "../client.js";
import { Rcode, RRType } from "../wire/constants.js";
import type { Message, Question, Record } from "../wire/message.js";
import { RoundRobin, type UpstreamPolicy } from "./policy.js";
import { scrub } from "./scrub.js";

interface Entry {
  rcode: number;
  answers: Record[];
  authority: Record[];
  additional: Record[];
  storedAt: number;
  expiresAt: number;
}

/** What the forwarder hands back: the sections with TTLs aged, and whether the cache answered. */
export interface Forwarded {
  rcode: number;
  answers: Record[];
  authority: Record[];
  additional: Record[];
  cache: "hit" | "miss";
}

export interface ForwarderOptions {
  upstreams: { host: string; port: number }[];
  timeoutMs: number;
  /** Attempts per upstream before moving to the next. */
  attempts: number;
  maxEntries: number;
  /** Longest time anything is cached, in seconds. */
  maxTtl: number;
  /** True for names at or below one of Ferry's own zones: upstreams never speak for those. */
  own?: (name: string) => boolean;
  /** Which upstream to try first for each question. Default: round robin, failing over in list order. */
  policy?: UpstreamPolicy<{ host: string; port: number }>;
}

const MIN_TTL_OF_ALL = (records: Record[]) =>
  records.reduce((m, r) => Math.min(m, r.ttl), Number.POSITIVE_INFINITY);

const notOwn = (_name: string) => false;

export class Forwarder {
  private readonly cache = new Map<string, Entry>();
  private readonly inflight = new Map<string, Promise<Entry>>();
  private readonly policy: UpstreamPolicy<{ host: string; port: number }>;
  readonly options: ForwarderOptions;

  constructor(options: ForwarderOptions) {
    this.options = options;
    this.policy = options.policy ?? new RoundRobin();
  }

  /** Cached entries now (for tests and metrics). */
  get size(): number {
    return this.cache.size;
  }

  /** Answers a question from the cache or the upstreams. Rejects when every upstream failed. */
  async resolve(q: Question): Promise<Forwarded> {
    const key = `${q.name.toLowerCase()}|${q.type}|${q.klass}`;
    const now = Date.now();
    const hit = this.cache.get(key);
    if (hit && hit.expiresAt > now) return age(hit, now, "hit");
    if (hit) this.cache.delete(key);
    let pending = this.inflight.get(key);
    if (!pending) {
      pending = this.ask(q).finally(() => this.inflight.delete(key));
      this.inflight.set(key, pending);
    }
    const entry = await pending;
    if (entry.expiresAt > entry.storedAt) this.store(key, entry);
    return age(entry, Date.now(), "miss");
  }

  private store(key: string, entry: Entry): void {
    if (this.options.maxEntries === 0) return;
    if (this.cache.size >= this.options.maxEntries) {
      // Drop the oldest tenth (Map keeps insertion order).
      let drop = Math.ceil(this.options.maxEntries / 10);
      for (const k of this.cache.keys()) {
        this.cache.delete(k);
        if (--drop === 0) break;
      }
    }
    this.cache.set(key, entry);
  }

  private async ask(q: Question): Promise<Entry> {
    let lastError: unknown = null;
    for (const server of this.policy.order(this.options.upstreams)) {
      for (let a = 0; a < this.options.attempts; a++) {
        try {
          const r = await lookup(q.name, q.type, { server, timeoutMs: this.options.timeoutMs });
          if (r.message.rcode === Rcode.SERVFAIL || r.message.rcode === Rcode.REFUSED) {
            lastError = new Error(`${server.host}:${server.port} answered rcode ${r.message.rcode}`);
            break;
          }
          return this.entryOf(q, r.message);
        } catch (err) {
          lastError = err;
        }
      }
    }
    throw lastError ?? new Error("no upstream");
  }

  private entryOf(q: Question, m: Message): Entry {
    const now = Date.now();
    // Only what is about the question reaches the cache or a client (see scrub.ts).
    const clean = scrub(q, m, this.options.own ?? notOwn);
    const additional = clean.additional.filter((r) => r.type !== RRType.OPT);
    const answers = clean.answers;
    const authority = clean.authority;
    let ttl: number;
    if (answers.length > 0 && m.rcode === Rcode.NOERROR) {
      ttl = MIN_TTL_OF_ALL(answers);
    } else {
      // Negative answer (NXDOMAIN or NODATA): cached for min(SOA TTL, SOA MINIMUM) when there is an SOA.
      const soa = authority.find((r) => r.type === RRType.SOA);
      ttl = soa && soa.data.type === "soa" ? Math.min(soa.ttl, soa.data.minimum) : 0;
    }
    ttl = Math.min(ttl, this.options.maxTtl);
    return {
      rcode: m.rcode,
      answers,
      authority,
      additional,
      storedAt: now,
      expiresAt: now + ttl * 1000,
    };
  }
}

function age(e: Entry, now: number, cache: "hit" | "miss"): Forwarded {
  const elapsed = Math.floor((now - e.storedAt) / 1000);
  const fix = (list: Record[]) =>
    elapsed === 0 ? list : list.map((r) => ({ ...r, ttl: Math.max(0, r.ttl - elapsed) }));
  return {
    rcode: e.rcode,
    answers: fix(e.answers),
    authority: fix(e.authority),
    additional: fix(e.additional),
    cache,
  };
}
