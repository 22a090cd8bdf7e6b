/**
 * Replayed transfer requests (RFC 8945 §5.2.3 leaves replay protection to
 * the server): a signed AXFR or IXFR over TCP whose MAC was seen before is
 * refused. Someone who recorded a secondary's signed request could otherwise
 * send it again, within its time window (fudge, 300 s by default), and read
 * the zone. A MAC is kept until its request's time check would refuse it
 * anyway (time signed + fudge); at most `max` are kept, the oldest let go
 * first. With workers, the primary process keeps one for all of them
 * (gate.ts), so a replay sent to another worker is still seen. UDP is left
 * out, where a client may resend the same packet.
 */
export class ReplayCache {
  /** `key MAC` → when its request stops passing the time check (seconds). */
  private readonly seen = new Map<string, number>();

  constructor(private readonly max = 10_000) {}

  /** True when this key's MAC was seen before (a replay); otherwise it is kept until `expires`. */
  replayed(keyName: string, mac: Buffer, expires: number, now: number): boolean {
    // Mostly in order of expiry (most clients use one fudge): drop the expired from the front.
    for (const [id, until] of this.seen) {
      if (until >= now) break;
      this.seen.delete(id);
    }
    const id = `${keyName.toLowerCase()} ${mac.toString("base64")}`;
    if (this.seen.has(id)) return true;
    if (this.seen.size >= this.max) this.seen.delete(this.seen.keys().next().value!);
    this.seen.set(id, expires);
    return false;
  }
}
