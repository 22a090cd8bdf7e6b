/**
 * Ferry's own HTTP/1.1 engine over `node:net` and `node:tls`: listeners,
 * the connection set and the one sweeper that enforces every connection's
 * deadline (header, request, idle and send timeouts) without a timer per
 * request. Each connection is an `H1Connection`; TLS sessions that chose
 * `h2` by ALPN, and h2c prior-knowledge connections, go to the HTTP/2
 * engine (`node-h2.ts`) as with the node engine.
 */
import type { Http2Server } from "node:http2";
import net from "node:net";
import tls from "node:tls";
import { timerMs } from "../../core/clock.js";
import type { HttpLimits, ListenAddress } from "../../core/config/types.js";
import { answerTlsAlpnChallenges } from "../../tls/alpn-challenge.js";
import { rotateTicketKeys, TLS_PROFILE } from "../../tls/profile.js";
import type { Handler, UpgradeHandler } from "../types.js";
import type { HttpEngine, TlsProvider } from "./engine.js";
import { H1Connection, type H1Host } from "./h1-connection.js";
import { acceptPriorKnowledge } from "./h2c.js";
import { listenOn } from "./listen.js";
import { publishHandshake } from "./node-events.js";
import { createH2Server, stopHttp2 } from "./node-h2.js";

export class FerryHttpEngine implements HttpEngine, H1Host {
  private readonly servers: net.Server[] = [];
  private readonly tlsServers: { server: tls.Server; h2: Http2Server; stop: () => void }[] = [];
  private readonly h2cServers: Http2Server[] = [];
  readonly connections = new Set<H1Connection>();
  private tls: TlsProvider | null = null;
  private limits: HttpLimits;
  private closing = false;
  private sweeper: NodeJS.Timeout | null = null;
  handler: Handler;
  upgrade: UpgradeHandler;

  constructor(
    limits: HttpLimits,
    handler: Handler,
    upgrade: UpgradeHandler,
    readonly observed = true,
    private readonly h2c = false,
  ) {
    this.limits = limits;
    this.handler = handler;
    this.upgrade = upgrade;
  }

  get currentLimits(): HttpLimits {
    return this.limits;
  }

  get isClosing(): boolean {
    return this.closing;
  }

  setHandlers(handler: Handler, upgrade: UpgradeHandler): void {
    this.handler = handler;
    this.upgrade = upgrade;
  }

  applyLimits(limits: HttpLimits): void {
    this.limits = limits;
    for (const s of this.servers) s.maxConnections = limits.maxConnections;
    for (const c of this.connections) c.parser.limits = limits;
    this.startSweeper();
  }

  setTls(tlsProvider: TlsProvider): void {
    this.tls = tlsProvider;
    const creds = tlsProvider.defaultCredentials();
    if (creds !== null)
      for (const { server } of this.tlsServers) server.setSecureContext({ ...TLS_PROFILE, ...creds });
  }

  /** Checks every connection's deadline, a few times per shortest timeout (node checks its own the same way). */
  private startSweeper(): void {
    if (this.sweeper !== null) clearInterval(this.sweeper);
    const l = this.limits;
    const shortest = Math.min(l.headerTimeout, l.requestTimeout, l.idleTimeout, l.sendTimeout);
    const every = Math.max(25, Math.min(1000, Math.floor(shortest / 8)));
    this.sweeper = setInterval(() => {
      const now = Date.now();
      for (const c of this.connections) if (c.deadline !== 0 && now >= c.deadline) c.expire();
    }, every);
    this.sweeper.unref();
  }

  private createServer(tlsProvider?: TlsProvider): net.Server {
    const limits = this.limits;
    if (tlsProvider === undefined) {
      const server = net.createServer({ allowHalfOpen: true, noDelay: true }, (socket) => {
        new H1Connection(socket, this, false);
      });
      if (this.h2c) {
        const h2 = createH2Server(this);
        this.h2cServers.push(h2);
        acceptPriorKnowledge(server, h2, limits.headerTimeout);
      }
      server.maxConnections = limits.maxConnections;
      return server;
    }
    this.tls = tlsProvider;
    const secure = tls.createServer({
      ...TLS_PROFILE,
      ...(tlsProvider.defaultCredentials() ?? {}),
      // Not half-open: a client that closes during the handshake must not leave its socket behind.
      noDelay: true,
      handshakeTimeout: Math.max(limits.headerTimeout, 1000),
      ALPNProtocols: ["h2", "http/1.1"],
      // Read through `this.tls`, so a reload's new certificates apply to new handshakes.
      SNICallback: (name, cb) => this.tls!.sni(name, cb),
    });
    const h2 = createH2Server(this);
    secure.on("tlsClientError", (err: NodeJS.ErrnoException) => {
      if (this.observed) publishHandshake(false, false, err.code ?? err.message);
    });
    secure.on("secureConnection", (socket: tls.TLSSocket) => {
      if (this.observed) publishHandshake(true, socket.isSessionReused(), "");
      if (socket.alpnProtocol === "h2") h2.emit("connection", socket);
      else new H1Connection(socket, this, true);
    });
    // ACME TLS-ALPN-01 validations are answered on this listener too (only while one is pending).
    answerTlsAlpnChallenges(secure, limits.headerTimeout);
    this.tlsServers.push({ server: secure, h2, stop: rotateTicketKeys(secure) });
    secure.maxConnections = limits.maxConnections;
    return secure;
  }

  listen(addr: ListenAddress, tlsProvider?: TlsProvider): Promise<ListenAddress> {
    const server = this.createServer(tlsProvider);
    if (this.sweeper === null) this.startSweeper();
    return listenOn(server, addr).then((bound) => {
      this.servers.push(server);
      return bound;
    });
  }

  /** Stops accepting; idle connections close now, busy ones after their reply, the rest after `graceMs`. */
  async close(graceMs: number): Promise<void> {
    this.closing = true;
    stopHttp2(this.tlsServers, this.h2cServers, graceMs);
    const done = Promise.all(this.servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
    for (const c of this.connections) c.closeIfIdle();
    const timer = setTimeout(() => {
      for (const c of this.connections) c.socket.destroy();
    }, timerMs(graceMs));
    timer.unref();
    await done;
    clearTimeout(timer);
    if (this.sweeper !== null) clearInterval(this.sweeper);
    this.sweeper = null;
  }
}
