/**
 * Per-second time series for the inspector's charts over the last minutes:
 * counts (requests/s, queries/s, messages/s) and latency percentiles, from a
 * bounded sample of each second.
 */

/** One closed second. */
export interface Point {
  /** Epoch seconds. */
  t: number;
  httpRequests: number;
  dnsQueries: number;
  wsMessages: number;
  /** Milliseconds; null when nothing happened that second. */
  httpP50: number | null;
  httpP90: number | null;
  httpP99: number | null;
  dnsP50: number | null;
  dnsP99: number | null;
}

const SAMPLE = 256;

function percentile(sorted: number[], p: number): number | null {
  if (sorted.length === 0) return null;
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]!;
}

/** A latency sample of one second: the first SAMPLE values, then reservoir sampling. */
class Sample {
  values: number[] = [];
  seen = 0;
  add(v: number): void {
    this.seen++;
    if (this.values.length < SAMPLE) this.values.push(v);
    else {
      const j = Math.floor(Math.random() * this.seen);
      if (j < SAMPLE) this.values[j] = v;
    }
  }
  sorted(): number[] {
    return this.values.sort((a, b) => a - b);
  }
}

export class Series {
  private readonly points: Point[] = [];
  private current: number;
  private http = 0;
  private dns = 0;
  private ws = 0;
  private httpLatency = new Sample();
  private dnsLatency = new Sample();
  /** Seconds closed since the last `tick` (events close seconds too). */
  private unsent: Point[] = [];

  constructor(
    /** Seconds kept. */
    readonly span = 300,
    now = Date.now(),
  ) {
    this.current = Math.floor(now / 1000);
  }

  private roll(now: number): Point[] {
    const sec = Math.floor(now / 1000);
    const closed: Point[] = [];
    while (this.current < sec) {
      const h = this.httpLatency.sorted();
      const d = this.dnsLatency.sorted();
      const p: Point = {
        t: this.current,
        httpRequests: this.http,
        dnsQueries: this.dns,
        wsMessages: this.ws,
        httpP50: percentile(h, 0.5),
        httpP90: percentile(h, 0.9),
        httpP99: percentile(h, 0.99),
        dnsP50: percentile(d, 0.5),
        dnsP99: percentile(d, 0.99),
      };
      this.points.push(p);
      closed.push(p);
      this.unsent.push(p);
      if (this.unsent.length > this.span) this.unsent.shift();
      if (this.points.length > this.span) this.points.shift();
      this.http = this.dns = this.ws = 0;
      this.httpLatency = new Sample();
      this.dnsLatency = new Sample();
      this.current++;
      // A long quiet spell: skip ahead rather than emit thousands of empty seconds.
      if (sec - this.current > this.span) this.current = sec - this.span;
    }
    return closed;
  }

  httpRequest(ms: number, now = Date.now()): void {
    this.roll(now);
    this.http++;
    this.httpLatency.add(ms);
  }

  dnsQuery(ms: number, now = Date.now()): void {
    this.roll(now);
    this.dns++;
    this.dnsLatency.add(ms);
  }

  wsMessages(n: number, now = Date.now()): void {
    this.roll(now);
    this.ws += n;
  }

  /** Closes the seconds that ended; returns every second closed since the last call (for live updates). */
  tick(now = Date.now()): Point[] {
    this.roll(now);
    const out = this.unsent;
    this.unsent = [];
    return out;
  }

  /** The closed seconds kept, oldest first. */
  all(now = Date.now()): Point[] {
    this.roll(now);
    return [...this.points];
  }
}
