/**
 * A bounded ring buffer: pushing past the capacity overwrites the oldest
 * entry, so memory stays fixed whatever the traffic. Every entry gets a
 * sequence number, so a reader can ask for what came after one it saw.
 */
export class Ring<T> {
  private readonly items: (T | undefined)[];
  private readonly seqs: number[];
  /** Sequence number of the next push (the count of everything ever pushed). */
  private next = 0;

  constructor(readonly capacity: number) {
    if (!(capacity > 0)) throw new RangeError("a ring needs a capacity of at least 1");
    this.items = new Array(capacity);
    this.seqs = new Array(capacity).fill(-1);
  }

  /** Adds an entry; returns its sequence number. */
  push(item: T): number {
    const seq = this.next++;
    const i = seq % this.capacity;
    this.items[i] = item;
    this.seqs[i] = seq;
    return seq;
  }

  /** Entries kept. */
  get size(): number {
    return Math.min(this.next, this.capacity);
  }

  /** How many entries were ever pushed. */
  get total(): number {
    return this.next;
  }

  /** Newest first, at most `limit`, only those that pass `keep`. */
  newest(limit = this.capacity, keep?: (item: T) => boolean): T[] {
    const out: T[] = [];
    for (let seq = this.next - 1; seq >= 0 && seq >= this.next - this.capacity && out.length < limit; seq--) {
      const item = this.items[seq % this.capacity] as T;
      if (keep === undefined || keep(item)) out.push(item);
    }
    return out;
  }

  /** Entries pushed after sequence number `seq`, oldest first. */
  after(seq: number): T[] {
    const out: T[] = [];
    for (let s = Math.max(seq + 1, this.next - this.capacity); s < this.next; s++)
      out.push(this.items[s % this.capacity] as T);
    return out;
  }

  clear(): void {
    this.items.fill(undefined);
    this.seqs.fill(-1);
    this.next = 0;
  }
}
