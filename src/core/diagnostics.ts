import diagnostics from "node:diagnostics_channel";

/**
 * The diagnostics channels protocol code publishes on. Logging, metrics and
 * the inspector subscribe; with no subscriber a publish costs one boolean check.
 */

/** Published once per HTTP exchange, when the response is done (or the connection died). */
export interface HttpRequestEvent {
  /** Epoch milliseconds when the request arrived. */
  time: number;
  remoteAddress: string;
  method: string;
  host: string;
  target: string;
  httpVersion: string;
  status: number;
  /** Body bytes sent. */
  bytes: number;
  durationMs: number;
  site: string;
  location: string;
  referer: string;
  userAgent: string;
  /** False when the connection closed before the response was complete. */
  completed: boolean;
}

/** Published when a client sends something that is not a valid HTTP request. */
export interface HttpClientErrorEvent {
  time: number;
  remoteAddress: string;
  code: string;
  status: number;
  message: string;
}

export const httpRequestChannel = diagnostics.channel("ferry:http:request");
export const httpClientErrorChannel = diagnostics.channel("ferry:http:client-error");
