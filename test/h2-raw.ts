/**
 * Raw HTTP/2 frames for the abuse tests (RFC 9113 §4, §6): what a hostile
 * client sends, byte by byte, where real clients would refuse to.
 * Header blocks use HPACK's static table and literals without Huffman
 * coding (RFC 7541), enough for a GET.
 */
import net from "node:net";
import tls from "node:tls";

export const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", "latin1");

export const Type = {
  DATA: 0,
  HEADERS: 1,
  RST_STREAM: 3,
  SETTINGS: 4,
  PING: 6,
  GOAWAY: 7,
  WINDOW_UPDATE: 8,
  CONTINUATION: 9,
};
export const Flag = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 };

export function frame(
  type: number,
  flags: number,
  stream: number,
  payload: Buffer = Buffer.alloc(0),
): Buffer {
  const head = Buffer.alloc(9);
  head.writeUIntBE(payload.length, 0, 3);
  head[3] = type;
  head[4] = flags;
  head.writeUInt32BE(stream & 0x7fffffff, 5);
  return Buffer.concat([head, payload]);
}

/** A literal header field without indexing, new name (RFC 7541 §6.2.2), lengths under 127. */
function literal(name: string, value: string): Buffer {
  return Buffer.concat([
    Buffer.from([0x00, name.length]),
    Buffer.from(name, "latin1"),
    Buffer.from([value.length]),
    Buffer.from(value, "latin1"),
  ]);
}

/** The header block of `GET path` for `authority` over http (static-table entries 2, 6; literal :path, :authority). */
export function getBlock(authority: string, path = "/"): Buffer {
  return Buffer.concat([
    Buffer.from([0x82, 0x86]), // :method GET, :scheme http
    Buffer.from([0x04, path.length]), // :path, name from the static table (4), literal value
    Buffer.from(path, "latin1"),
    Buffer.from([0x01, authority.length]), // :authority (1)
    Buffer.from(authority, "latin1"),
  ]);
}

/** A filler header for CONTINUATION frames. */
export function fillerBlock(i: number): Buffer {
  return literal(`x-filler-${i % 1000}`, "a".repeat(60));
}

export interface RawH2 {
  socket: net.Socket;
  /** Frames received so far: type and, for GOAWAY, the error code. */
  frames: { type: number; flags: number; stream: number; error?: number }[];
  closed: Promise<void>;
}

/**
 * Connects (h2c with prior knowledge, or TLS with ALPN h2 when `secure`; the
 * attacker does not check certificates) and sends the preface and an empty SETTINGS.
 */
export function connectRaw(port: number, secure = false): Promise<RawH2> {
  return new Promise((resolve, reject) => {
    const socket = secure
      ? tls.connect({ port, host: "127.0.0.1", ALPNProtocols: ["h2"], rejectUnauthorized: false })
      : net.connect(port, "127.0.0.1");
    const frames: RawH2["frames"] = [];
    let buf = Buffer.alloc(0);
    socket.on("data", (c: Buffer) => {
      buf = Buffer.concat([buf, c]);
      while (buf.length >= 9) {
        const len = buf.readUIntBE(0, 3);
        if (buf.length < 9 + len) break;
        const f = {
          type: buf[3]!,
          flags: buf[4]!,
          stream: buf.readUInt32BE(5) & 0x7fffffff,
        } as RawH2["frames"][0];
        if (f.type === Type.GOAWAY) f.error = buf.readUInt32BE(9 + 4);
        frames.push(f);
        buf = buf.subarray(9 + len);
      }
    });
    const closed = new Promise<void>((r) => socket.once("close", () => r()));
    socket.on("error", () => {});
    socket.once(secure ? "secureConnect" : "connect", () => {
      socket.write(Buffer.concat([PREFACE, frame(Type.SETTINGS, 0, 0)]));
      resolve({ socket, frames, closed });
    });
    socket.once("error", reject);
  });
}
