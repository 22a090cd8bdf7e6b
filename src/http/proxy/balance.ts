/**
 * Picking an upstream among the healthy ones (Caddy's selection policies,
 * nginx's `least_conn` and `hash`). Each policy is a small object, built once
 * per location, that skips upstreams already tried by this request.
 */
import type { ProxyBalance } from "../../core/config/types.js";

/** What a policy reads of an upstream. */
export interface Candidate {
  readonly name: string;
  /** Requests in flight. */
  readonly inflight: number;
  healthy(now: number): boolean;
}

export interface Balancer<T extends Candidate> {
  /** An upstream for this request, or null when every healthy one was tried (or none is healthy). */
  pick(list: readonly T[], client: string, tried: ReadonlySet<T>, now: number): T | null;
}

function usable<T extends Candidate>(u: T, tried: ReadonlySet<T>, now: number): boolean {
  return !tried.has(u) && u.healthy(now);
}

class RoundRobin<T extends Candidate> implements Balancer<T> {
  private next = 0;
  pick(list: readonly T[], _client: string, tried: ReadonlySet<T>, now: number): T | null {
    const n = list.length;
    for (let i = 0; i < n; i++) {
      const u = list[(this.next + i) % n]!;
      if (usable(u, tried, now)) {
        this.next = (this.next + i + 1) % n;
        return u;
      }
    }
    return null;
  }
}

class LeastConn<T extends Candidate> implements Balancer<T> {
  private next = 0;
  pick(list: readonly T[], _client: string, tried: ReadonlySet<T>, now: number): T | null {
    const n = list.length;
    let best: T | null = null;
    // Ties go round robin, so equal upstreams share the load.
    for (let i = 0; i < n; i++) {
      const u = list[(this.next + i) % n]!;
      if (usable(u, tried, now) && (best === null || u.inflight < best.inflight)) best = u;
    }
    this.next = (this.next + 1) % Math.max(1, n);
    return best;
  }
}

/** FNV-1a, 32 bits. */
function hash(text: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h >>> 0;
}

/**
 * Rendezvous hashing on the client's address: each client has its own
 * order of upstreams, so it stays on one while that one is healthy, and
 * only the clients of an upstream that goes down move.
 */
class ClientHash<T extends Candidate> implements Balancer<T> {
  pick(list: readonly T[], client: string, tried: ReadonlySet<T>, now: number): T | null {
    let best: T | null = null;
    let bestScore = -1;
    for (const u of list) {
      if (!usable(u, tried, now)) continue;
      const score = hash(`${client}|${u.name}`);
      if (score > bestScore) {
        best = u;
        bestScore = score;
      }
    }
    return best;
  }
}

class First<T extends Candidate> implements Balancer<T> {
  pick(list: readonly T[], _client: string, tried: ReadonlySet<T>, now: number): T | null {
    for (const u of list) if (usable(u, tried, now)) return u;
    return null;
  }
}

export function createBalancer<T extends Candidate>(policy: ProxyBalance): Balancer<T> {
  switch (policy) {
    case "least_conn":
      return new LeastConn();
    case "client_hash":
      return new ClientHash();
    case "first":
      return new First();
    default:
      return new RoundRobin();
  }
}
