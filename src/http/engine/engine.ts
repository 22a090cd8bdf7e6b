/**
 * The engine seam: what the HTTP service needs from an HTTP implementation
 * (undici's lesson: one shape, an engine per protocol). Today node:http
 * (`node-http.ts`) or Ferry's own (`ferry-http.ts`); HTTP/2 plugs into both.
 * Services name `createEngine`, never an implementation.
 */
import type { HttpLimits, ListenAddress } from "../../core/config/types.js";
import type { Handler, UpgradeHandler } from "../types.js";
import { FerryHttpEngine } from "./ferry-http.js";
import { NodeHttpEngine } from "./node-http.js";

/** What a TLS listener asks for its certificates (the certificate store of the current config). */
export interface TlsProvider {
  /** node's SNICallback. */
  sni(servername: string, cb: (err: Error | null, ctx?: import("node:tls").SecureContext) => void): void;
  /** The certificate for clients that send no name; null when there is none. */
  defaultCredentials(): { cert: string; key: string } | null;
}

export interface HttpEngine {
  /** Starts listening on one more address, with TLS when `tls` is given; resolves to it (the real port when 0 was asked). */
  listen(addr: ListenAddress, tls?: TlsProvider): Promise<ListenAddress>;
  /** Swaps the certificates of the TLS listeners (a reload); open connections keep theirs. */
  setTls(tls: TlsProvider): void;
  /** Stops accepting, lets in-flight requests finish for up to `graceMs`, then closes the rest. */
  close(graceMs: number): Promise<void>;
  /** Swaps the handlers atomically (a reload); open connections stay. */
  setHandlers(handler: Handler, upgrade: UpgradeHandler): void;
  /** Applies the limits that can change on a running listener. */
  applyLimits(limits: HttpLimits): void;
}

export interface EngineOptions {
  limits: HttpLimits;
  handler: Handler;
  upgrade: UpgradeHandler;
  /** False for Ferry's own admin listener: its requests publish no diagnostics events. */
  observed?: boolean;
  /** HTTP/2 with prior knowledge on the plain listeners too (read when a listener starts). */
  h2c?: boolean;
  /** Which HTTP/1.1 implementation: Ferry's own (default) or node:http (the fallback and the tests' reference). */
  engine?: "ferry" | "node";
}

/** The engine for a listener. */
export function createEngine(options: EngineOptions): HttpEngine {
  const Engine = options.engine === "node" ? NodeHttpEngine : FerryHttpEngine;
  return new Engine(
    options.limits,
    options.handler,
    options.upgrade,
    options.observed ?? true,
    options.h2c ?? false,
  );
}
