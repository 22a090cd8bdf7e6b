/**
 * Which upstream a forwarded question tries first, and in what order the
 * rest follow on failure (CoreDNS's forward/policy.go). The forwarder asks
 * its policy once per question; a proxy's balancer can share the shape.
 */

export interface UpstreamPolicy<U> {
  /** The upstreams in the order to try them for one question. */
  order(upstreams: readonly U[]): readonly U[];
}

/** Each question starts at the next upstream; failures go round the list (the default). */
export class RoundRobin<U> implements UpstreamPolicy<U> {
  private next = 0;

  order(upstreams: readonly U[]): readonly U[] {
    const n = upstreams.length;
    if (n <= 1) return upstreams;
    const start = this.next++ % n;
    return start === 0 ? upstreams : [...upstreams.slice(start), ...upstreams.slice(0, start)];
  }
}

/** Always the first upstream, the others only when it fails (a primary with fallbacks). */
export class Sequential<U> implements UpstreamPolicy<U> {
  order(upstreams: readonly U[]): readonly U[] {
    return upstreams;
  }
}
