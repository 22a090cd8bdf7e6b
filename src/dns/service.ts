/**
 * The DNS service: zones loaded from their files, UDP and TCP listeners on
 * each address. A reload reads the zones again; a zone that fails keeps its
 * last good copy, and the other zones are not affected.
 */

import type dgram from "node:dgram";
import { existsSync, statSync } from "node:fs";
import type net from "node:net";
import { performance } from "node:perf_hooks";
import { AddressSet } from "../core/cidr.js";
import type { DnsConfig, DnsZoneConfig, ListenAddress } from "../core/config/types.js";
import {
  type DnsNotifyEvent,
  type DnsQueryEvent,
  type DnsSecondaryEvent,
  type DnsTransferEvent,
  dnsNotifyChannel,
  dnsQueryChannel,
  dnsSecondaryChannel,
  dnsTransferChannel,
} from "../core/diagnostics.js";
import { FerryError } from "../core/errors.js";
import { Forwarder } from "./forward/forwarder.js";
import { answerQuery, createState, type DnsServerState, setForwarder, setZones } from "./server/state.js";
import { listenTcp } from "./server/tcp.js";
import { listenUdp } from "./server/udp.js";
import { workerTransferGate } from "./transfer/gate.js";
import { diffZones, Journal, serialAfter, serialOf } from "./transfer/journal.js";
import { Notifier } from "./transfer/notify.js";
import { ReplayCache } from "./transfer/replay.js";
import { SecondaryZone, soaField } from "./transfer/secondary.js";
import { NOTAUTH, type TransferPolicy, type TransferState } from "./transfer/serve.js";
import { type TsigKey, tsigKey } from "./transfer/tsig.js";
import { typeName } from "./wire/constants.js";
import { loadZoneFile, loadZoneText } from "./zone/load.js";
import type { Zone } from "./zone/zone.js";
import { ZoneSet } from "./zone/zone-set.js";

/** A line for the log about one zone load. */
export interface ZoneReport {
  file: string;
  origin: string;
  ok: boolean;
  /** The stable code of the failure (ERR_DNS_ZONE_SYNTAX, ERR_DNS_ZONE_INVALID, ERR_CONFIG_READ), or null. */
  code: string | null;
  message: string;
  /** Loaded, but something the operator should know (a change without a serial increase). */
  warning?: string;
}

/**
 * With `workers` > 1 the first worker is the leader: it alone runs the
 * secondary zones (transfers, the copy on disk) and sends NOTIFY; the others
 * serve the secondaries' copies from disk, reloading them when the leader
 * rewrites them, and pass the NOTIFYs they receive to it (through the primary).
 */
const LEADER = process.env.FERRY_WORKER === undefined || process.env.FERRY_WORKER === "1";

function loadZones(
  config: DnsConfig,
  previous: Map<string, Zone>,
): { zones: Map<string, Zone>; reports: ZoneReport[] } {
  const zones = new Map<string, Zone>();
  const reports: ZoneReport[] = [];
  for (const z of config.zones) {
    if (z.primary && LEADER) {
      // A secondary's copy is the SecondaryZone's to load and replace; a reload keeps what is served.
      const held = previous.get(z.file);
      if (held) zones.set(z.file, held);
      continue;
    }
    if (z.primary && !freshCopy(z.file, z.origin)) continue; // the leader has no copy yet, or it expired
    try {
      const zone =
        z.records !== undefined ? loadZoneText(z.records, z.origin, z.file) : loadZoneFile(z.file, z.origin);
      zones.set(z.file, zone);
      const serial = zone.soa.data.type === "soa" ? zone.soa.data.serial : 0;
      reports.push({
        file: z.file,
        origin: zone.origin,
        ok: true,
        code: null,
        message: `zone ${zone.origin} loaded: serial ${serial}, ${zone.size} records`,
      });
    } catch (err) {
      const old = previous.get(z.file);
      if (old) zones.set(z.file, old);
      reports.push({
        file: z.file,
        origin: z.origin,
        ok: false,
        code: err instanceof FerryError ? err.code : "ERR_DNS_ZONE_INVALID",
        message: `${(err as Error).message}${old ? " (still serving the last good copy)" : " (zone not served)"}`,
      });
    }
  }
  return { zones, reports };
}

function tcpLimits(config: DnsConfig): DnsServerState["tcp"] {
  return {
    idleTimeout: config.tcpIdleTimeout,
    messageTimeout: config.tcpMessageTimeout,
    maxConnections: config.tcpMaxConnections,
    maxTransfers: config.transfersOut,
  };
}

/** The forwarder of a config; `state` tells which names are Ferry's own (read per answer, so reloads apply). */
function forwarderFor(config: DnsConfig, state: { zones: ZoneSet }): Forwarder | null {
  if (config.forward.length === 0) return null;
  return new Forwarder({
    upstreams: config.forward,
    timeoutMs: config.forwardTimeout,
    attempts: 2,
    maxEntries: config.cacheSize,
    maxTtl: 86_400,
    own: (name) => state.zones.find(name) !== null,
  });
}

/** A secondary's copy on disk that the primary confirmed within the SOA expire (its mtime is when). */
function freshCopy(file: string, origin: string): boolean {
  if (!existsSync(file)) return false;
  try {
    const zone = loadZoneFile(file, origin);
    return Date.now() - statSync(file).mtimeMs < soaField(zone, "expire") * 1000;
  } catch {
    return false;
  }
}

/** Zone files read from disk and watched: files, and (in a worker that is not the leader) secondaries' copies. */
function watched(z: DnsZoneConfig): boolean {
  return z.records === undefined && (!z.primary || !LEADER);
}

/** A zone file's mtime, size and inode ("" when it cannot be read): a change in any is an edit. */
function fileStamp(file: string): string {
  try {
    const st = statSync(file);
    return `${st.mtimeMs}/${st.size}/${st.ino}`;
  } catch {
    return "";
  }
}

/** Keys and transfer policies of a config; `journals` carries over from the previous load. */
function transferState(
  config: DnsConfig,
  zones: Map<string, Zone>,
  journals: Map<string, Journal>,
  replays: ReplayCache,
): TransferState {
  const keys = new Map<string, TsigKey>();
  for (const k of config.tsig) keys.set(k.name, tsigKey(k.name, k.algorithm, k.secret));
  const policies = new Map<string, TransferPolicy>();
  for (const z of config.zones) {
    const zone = zones.get(z.file);
    if (zone === undefined || z.transfer === null) continue;
    policies.set(zone.apex, { allow: new AddressSet(z.transfer.allow), tsig: z.transfer.tsig });
    if (!journals.has(zone.apex)) journals.set(zone.apex, new Journal());
  }
  return { keys, policies, journals, replays };
}

export class DnsService {
  private readonly state: DnsServerState;
  private byFile: Map<string, Zone>;
  private readonly udp: dgram.Socket[] = [];
  private readonly tcp: net.Server[] = [];
  /** The DNS-over-TLS listeners among them. */
  private readonly tlsServers: import("node:tls").Server[] = [];
  /** Where it listens (actual ports when 0 was asked for; UDP and TCP share the port). */
  readonly addresses: ListenAddress[] = [];
  /** What the last load said about each zone. */
  reports: ZoneReport[];
  private config: DnsConfig;
  /** What each zone file looked like (mtime, size, inode) when it was last read; the watcher compares against it. */
  private readonly seen = new Map<string, string>();
  private watcher: NodeJS.Timeout | null = null;
  /** IXFR journals by zone apex (kept across reloads). */
  private readonly journals = new Map<string, Journal>();
  /** Signed transfer requests already answered (kept across reloads). */
  private readonly replays = new ReplayCache();
  /** Secondary zones by their file under the state folder, with what configured each (to see changes on reload). */
  private readonly secondaries = new Map<string, { zone: SecondaryZone; config: string }>();
  private readonly notifier = new Notifier((o) => {
    if (!dnsNotifyChannel.hasSubscribers) return;
    const event: DnsNotifyEvent = { time: Date.now(), ...o };
    dnsNotifyChannel.publish(event);
  });

  private constructor(config: DnsConfig) {
    this.config = config;
    this.markSeen();
    const { zones, reports } = loadZones(config, new Map());
    this.byFile = zones;
    this.reports = reports;
    this.state = createState(new ZoneSet([...zones.values()]), tcpLimits(config));
    setForwarder(this.state, forwarderFor(config, this.state));
    this.state.transfer = transferState(config, zones, this.journals, this.replays);
    this.state.transferGate = workerTransferGate();
    this.state.onTransfer = (o, client, ms) => {
      if (!dnsTransferChannel.hasSubscribers) return;
      const event: DnsTransferEvent = { time: Date.now(), client, durationMs: ms, ...o };
      dnsTransferChannel.publish(event);
    };
    this.state.onNotify = (name, client, key) => this.onNotify(name, client, key);
    this.state.onQuery = (o, client, transport, ms) => {
      if (!dnsQueryChannel.hasSubscribers) return;
      const event: DnsQueryEvent = {
        time: Date.now(),
        client,
        transport,
        name: o.name,
        type: typeName(o.type),
        rcode: o.rcode,
        flags: o.flags,
        answers: o.answers,
        truncated: o.truncated,
        durationMs: ms,
        source: o.source,
        records: o.records,
      };
      dnsQueryChannel.publish(event);
    };
  }

  /** Answers a DNS message that came over HTTP (DoH): TCP size rules, reported as transport "doh". */
  readonly answerHttp = (query: Buffer): Buffer | null | Promise<Buffer | null> => {
    const started = performance.now();
    const onQuery = this.state.onQuery;
    return answerQuery(
      query,
      this.state,
      false,
      onQuery ? (o) => onQuery(o, "", "doh", performance.now() - started) : undefined,
    );
  };

  /** Loads the zones and listens on UDP and TCP at every address. */
  static async start(config: DnsConfig): Promise<DnsService> {
    const svc = new DnsService(config);
    try {
      for (const addr of config.listen) {
        const t = await listenTcp(addr, svc.state);
        svc.tcp.push(t.server);
        const u = await listenUdp({ host: addr.host, port: t.port }, svc.state);
        svc.udp.push(u.socket);
        svc.addresses.push({ host: addr.host, port: t.port });
      }
    } catch (err) {
      await svc.close();
      throw err;
    }
    // Secondaries hear of every zone at start (as Knot and BIND do), so they catch up with any edit made while down.
    for (const z of config.zones) {
      const zone = svc.byFile.get(z.file);
      if (zone !== undefined) svc.notifyFor(z, zone);
    }
    svc.syncSecondaries();
    return svc;
  }

  /** Where it answers DNS over TLS. */
  readonly tlsAddresses: ListenAddress[] = [];

  /** Answers DNS over TLS on `addrs` too (after the HTTP side has the certificates). */
  async listenTls(addrs: ListenAddress[], secure: import("node:tls").TlsOptions): Promise<void> {
    for (const addr of addrs) {
      const t = await listenTcp(addr, this.state, secure);
      this.tcp.push(t.server);
      this.tlsServers.push(t.server as import("node:tls").Server);
      this.tlsAddresses.push({ host: addr.host, port: t.port });
    }
  }

  /** New certificates for the DNS-over-TLS listeners (a reload or a renewal); open connections keep theirs. */
  setTls(secure: import("node:tls").TlsOptions): void {
    for (const server of this.tlsServers) server.setSecureContext(secure);
  }

  /** Reads the zones again; returns what each load said. */
  reload(config: DnsConfig): ZoneReport[] {
    this.config = config;
    this.markSeen();
    const previous = this.byFile;
    const { zones, reports } = loadZones(config, previous);
    this.byFile = zones;
    setZones(this.state, new ZoneSet([...zones.values()]));
    this.state.transfer = transferState(config, zones, this.journals, this.replays);
    for (const z of config.zones) {
      const zone = zones.get(z.file);
      const warning = zone ? this.zoneChanged(z, previous.get(z.file), zone) : null;
      const report = reports.find((r) => r.file === z.file);
      if (warning !== null && report) report.warning = warning;
    }
    this.syncSecondaries();
    this.state.tcp = tcpLimits(config);
    setForwarder(this.state, forwarderFor(config, this.state));
    this.reports = reports;
    return reports;
  }

  /**
   * Reloads the zones whenever a zone file changes on disk (checked every
   * `intervalMs`; polling also catches editors that replace the file), and
   * hands the reports to `onChange`. Each file is compared with what it was
   * when last read, so an edit made at any moment (even between a load and
   * the first check) is picked up.
   */
  watch(onChange: (reports: ZoneReport[]) => void, intervalMs = 1000): void {
    this.unwatch();
    this.watcher = setInterval(() => {
      if (this.config.zones.some((z) => watched(z) && this.seen.get(z.file) !== fileStamp(z.file)))
        onChange(this.reload(this.config));
    }, intervalMs);
    this.watcher.unref();
  }

  /** Notes how every zone file looks now, before it is read. */
  private markSeen(): void {
    this.seen.clear();
    for (const z of this.config.zones) if (watched(z)) this.seen.set(z.file, fileStamp(z.file));
  }

  private unwatch(): void {
    if (this.watcher !== null) clearInterval(this.watcher);
    this.watcher = null;
  }

  /**
   * After a zone got a new copy (a reload, a transfer): the IXFR journal
   * learns the differences and the zone's secondaries are notified. Returns
   * a warning when the content changed without a serial increase.
   */
  private zoneChanged(z: DnsZoneConfig, old: Zone | undefined, zone: Zone): string | null {
    if (zone === old) return null;
    if (old === undefined || old.apex !== zone.apex) {
      this.journals.get(zone.apex)?.reset();
      this.notifyFor(z, zone);
      return null;
    }
    const from = serialOf(old.soa);
    const to = serialOf(zone.soa);
    if (serialAfter(to, from)) {
      this.journals.get(zone.apex)?.add(diffZones(old, zone));
      this.notifyFor(z, zone);
      return null;
    }
    if (z.transfer === null && z.notify.length === 0) return null;
    const diff = diffZones(old, zone);
    if (diff.added.length + diff.deleted.length === 0) return null;
    return `serial ${to} is not above ${from}: secondaries will not pick this change up`;
  }

  /** Starts the secondary zones the config names, stops the ones it no longer does, restarts changed ones. */
  private syncSecondaries(): void {
    if (!LEADER) return;
    const wanted = new Set<string>();
    for (const z of this.config.zones) {
      if (!z.primary) continue;
      const key = z.primary.tsig ? (this.state.transfer.keys.get(z.primary.tsig) ?? null) : null;
      const config = JSON.stringify([z.origin, z.primary, key?.algorithm, key?.secret.toString("base64")]);
      wanted.add(z.file);
      const have = this.secondaries.get(z.file);
      if (have?.config === config) continue;
      have?.zone.close();
      const zone = new SecondaryZone({
        origin: z.origin,
        file: z.file,
        primary: z.primary.address,
        key,
        // A zone closed by a reload may still finish a transfer: only the current one is listened to.
        onZone: (next) => {
          if (this.secondaries.get(z.file)?.zone === zone) this.secondaryZone(z.file, next);
        },
        report: (o) => {
          if (!dnsSecondaryChannel.hasSubscribers) return;
          const event: DnsSecondaryEvent = { time: Date.now(), ...o };
          dnsSecondaryChannel.publish(event);
        },
      });
      this.secondaries.set(z.file, { zone, config });
      zone.start();
    }
    for (const [file, s] of this.secondaries)
      if (!wanted.has(file)) {
        s.zone.close();
        this.secondaries.delete(file);
        if (this.byFile.delete(file)) this.swapZones();
      }
  }

  /** A secondary has a new copy (or none: expired). */
  private secondaryZone(file: string, zone: Zone | null): void {
    const old = this.byFile.get(file);
    if (zone) this.byFile.set(file, zone);
    else this.byFile.delete(file);
    this.swapZones();
    const z = this.config.zones.find((c) => c.file === file);
    if (z && zone) this.zoneChanged(z, old, zone);
  }

  private swapZones(): void {
    setZones(this.state, new ZoneSet([...this.byFile.values()]));
    this.state.transfer = transferState(this.config, this.byFile, this.journals, this.replays);
  }

  /** A NOTIFY: NOERROR and a refresh for a secondary zone's primary (signed with its key when it has one). */
  private onNotify(name: string, client: string, key: string | null): number {
    const apex = name.toLowerCase().replace(/\.$/, "");
    const z = this.config.zones.find((c) => c.primary && c.origin.toLowerCase() === apex);
    if (z?.primary && !LEADER) {
      const from = client.startsWith("::ffff:") ? client.slice(7) : client;
      if (from !== z.primary.address.host || (z.primary.tsig !== null && key !== z.primary.tsig)) return 5;
      process.send?.({ t: "dns-notify", origin: z.origin });
      this.reportNotify(z.origin, client, "passed to worker 1, which keeps the secondary zones");
      return 0;
    }
    const s = z ? this.secondaries.get(z.file)?.zone : undefined;
    if (s === undefined || z === undefined) return NOTAUTH;
    if (!s.fromPrimary(client) || (s.keyName !== null && key !== s.keyName)) return 5; // REFUSED
    this.reportNotify(z.origin, client, null);
    s.notified();
    return 0;
  }

  /** A NOTIFY taken for a secondary zone (for the log and the inspector). */
  private reportNotify(origin: string, client: string, relayed: string | null): void {
    if (!dnsSecondaryChannel.hasSubscribers) return;
    const event: DnsSecondaryEvent = {
      time: Date.now(),
      zone: origin,
      primary: client,
      result: "notified",
      kind: null,
      serial: 0,
      from: null,
      records: 0,
      reason: relayed,
      next: 0,
    };
    dnsSecondaryChannel.publish(event);
  }

  /** A NOTIFY for a secondary zone passed on by another worker: refresh it now. */
  notified(origin: string): void {
    const z = this.config.zones.find((c) => c.primary && c.origin.toLowerCase() === origin.toLowerCase());
    if (z) this.secondaries.get(z.file)?.zone.notified();
  }

  /** NOTIFY the zone's secondaries of its current serial, signed with its transfer key when it has one. */
  private notifyFor(z: DnsConfig["zones"][number], zone: Zone): void {
    if (z.notify.length === 0 || !LEADER) return;
    const key = z.transfer?.tsig ? (this.state.transfer.keys.get(z.transfer.tsig) ?? null) : null;
    // In a cluster the other workers reload within their 1 s poll: NOTIFY after them, or a secondary's
    // SOA query could reach one still serving the old serial and decide it is current.
    if (process.env.FERRY_WORKER !== undefined)
      setTimeout(() => this.notifier.notify(zone, z.notify, key), 1500).unref();
    else this.notifier.notify(zone, z.notify, key);
  }

  close(): Promise<void> {
    this.unwatch();
    for (const s of this.secondaries.values()) s.zone.close();
    this.notifier.close();
    for (const u of this.udp) u.close();
    return Promise.all(
      this.tcp.map(
        (s) =>
          new Promise<void>((r) => {
            s.close(() => r());
          }),
      ),
    ).then(() => undefined);
  }
}
