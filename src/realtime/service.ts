/**
 * The realtime endpoints of all sites, kept across reloads: a reload
 * updates each hub's rules in place (connections, channels and offsets
 * stay), adds new endpoints and closes removed ones with 1001.
 */
import type { HttpConfig, RealtimeConfig } from "../core/config/types.js";
import { type RealtimeBrokerEvent, realtimeBrokerChannel } from "../core/diagnostics.js";
import type { Broker } from "./broker/broker.js";
import { ClusterBroker, inCluster } from "./broker/cluster.js";
import { LocalBroker } from "./broker/local.js";
import { RedisBroker } from "./broker/redis.js";
import { CloseCode } from "./constants.js";
import { Hub } from "./hub.js";

/** A hub's identity: its site's name and its path. */
function hubKey(site: string, path: string): string {
  return `${site} ${path}`;
}

/** The site name as the site table computes it. */
function siteName(hosts: string[]): string {
  return hosts[0] ?? "default";
}

function brokerEvent(site: string, path: string, up: boolean, reason: string): void {
  if (!realtimeBrokerChannel.hasSubscribers) return;
  const event: RealtimeBrokerEvent = { time: Date.now(), site, path, up, reason };
  realtimeBrokerChannel.publish(event);
}

/** The endpoint's broker: Redis when it names one (shared by every node), else this process's. */
function brokerFor(site: string, endpoint: RealtimeConfig): Broker {
  if (endpoint.broker === null)
    return inCluster() ? new ClusterBroker(hubKey(site, endpoint.path)) : new LocalBroker();
  return new RedisBroker(endpoint.broker, `${site}${endpoint.path}`, {
    state: (up, reason) => brokerEvent(site, endpoint.path, up, reason),
  });
}

export class RealtimeService {
  private readonly hubs = new Map<string, Hub>();

  /** Builds or updates the hubs a config names. */
  configure(config: HttpConfig): void {
    const wanted = new Set<string>();
    for (const site of config.sites) {
      const name = siteName(site.hosts);
      for (const endpoint of site.realtime) {
        const key = hubKey(name, endpoint.path);
        wanted.add(key);
        const hub = this.hubs.get(key);
        if (hub) {
          if (hub.config.broker !== endpoint.broker)
            brokerEvent(name, endpoint.path, false, "a changed broker takes effect at the next restart");
          hub.configure({ ...endpoint, broker: hub.config.broker });
        } else this.hubs.set(key, new Hub(name, endpoint, true, brokerFor(name, endpoint)));
      }
    }
    for (const [key, hub] of this.hubs) {
      if (!wanted.has(key)) {
        hub.close(CloseCode.GoingAway, "endpoint removed");
        this.hubs.delete(key);
      }
    }
  }

  /** The hub of a site's path, if it has one. */
  find(site: string, path: string): Hub | undefined {
    return this.hubs.get(hubKey(site, path));
  }

  /** Every hub. */
  all(): Hub[] {
    return [...this.hubs.values()];
  }

  /** Closes every connection (1001) as the server stops. */
  close(): void {
    for (const hub of this.hubs.values()) hub.close();
  }
}
