/** RFC 6455 opcodes, close codes and the GUID of the handshake. */

export const GUID = "258EAFA5-E914-47DA-95CA-C5AB0DC85B11";

export const Opcode = {
  Continuation: 0x0,
  Text: 0x1,
  Binary: 0x2,
  Close: 0x8,
  Ping: 0x9,
  Pong: 0xa,
} as const;

/** Close codes Ferry sends (RFC 6455 §7.4.1, plus Ferry's own in the private range). */
export const CloseCode = {
  Normal: 1000,
  GoingAway: 1001,
  ProtocolError: 1002,
  Unsupported: 1003,
  NoStatus: 1005,
  Abnormal: 1006,
  InvalidData: 1007,
  PolicyViolation: 1008,
  TooBig: 1009,
  InternalError: 1011,
  /** Ferry: the connection's send queue passed `maxBackpressure`. */
  SlowConsumer: 4008,
  /** Ferry: the peer answered no ping within `idleTimeout`. */
  IdleTimeout: 4000,
} as const;

/** True for a close code a peer may send in a close frame. */
export function isValidCloseCode(code: number): boolean {
  return (
    (code >= 1000 && code <= 1003) ||
    (code >= 1007 && code <= 1014 && code !== 1015) ||
    (code >= 3000 && code <= 4999)
  );
}
