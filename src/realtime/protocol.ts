/**
 * The client side of the JSON protocol of docs/protocol.md: a text frame
 * becomes a typed command, or the error the client is told. No sockets and
 * no state here (table-tested in protocol.test.ts); the hub acts on commands.
 */
import { jsonDepthWithin } from "./json-depth.js";
import { isChannelName } from "./rules.js";

/** A request ID the client may attach; echoed in the reply. */
export type RequestId = string | number | undefined;

export type ClientCommand =
  | {
      type: "subscribe";
      channel: string;
      since: number | undefined;
      epoch: string | undefined;
      id: RequestId;
    }
  | { type: "unsubscribe"; channel: string; id: RequestId }
  /** `data` is the JSON text of the value to publish, serialised once. */
  | { type: "publish"; channel: string; data: string; id: RequestId }
  | { type: "error"; code: string; message: string; id: RequestId };

function refuse(code: string, message: string, id: RequestId = undefined): ClientCommand {
  return { type: "error", code, message, id };
}

/** Reads one client message (a text or binary frame's payload). */
export function parseCommand(data: Buffer, binary: boolean, maxJsonDepth: number): ClientCommand {
  if (binary) return refuse("bad_message", "messages are JSON text frames");
  if (!jsonDepthWithin(data, maxJsonDepth))
    return refuse("bad_request", `JSON nests deeper than ${maxJsonDepth} levels`);
  let msg: unknown;
  try {
    msg = JSON.parse(data.toString("utf8"));
  } catch {
    return refuse("bad_json", "the message is not valid JSON");
  }
  if (typeof msg !== "object" || msg === null || Array.isArray(msg))
    return refuse("bad_request", "a message is a JSON object with a type");
  const m = msg as Record<string, unknown>;
  const id = typeof m.id === "string" || typeof m.id === "number" ? m.id : undefined;
  switch (m.type) {
    case "subscribe": {
      const since = m.since;
      if (since !== undefined && !(Number.isSafeInteger(since) && (since as number) >= 0))
        return refuse("bad_request", "since must be a whole number", id);
      if (!isChannelName(m.channel)) return refuse("bad_channel", "channel must be a channel name", id);
      const epoch = typeof m.epoch === "string" ? m.epoch : undefined;
      return { type: "subscribe", channel: m.channel, since: since as number | undefined, epoch, id };
    }
    case "unsubscribe":
      if (!isChannelName(m.channel)) return refuse("bad_channel", "channel must be a channel name", id);
      return { type: "unsubscribe", channel: m.channel, id };
    case "publish":
      if (!("data" in m)) return refuse("bad_request", "publish needs data", id);
      if (!isChannelName(m.channel)) return refuse("bad_channel", "channel must be a channel name", id);
      return { type: "publish", channel: m.channel, data: JSON.stringify(m.data), id };
    default:
      return refuse(
        "unknown_type",
        `unknown message type ${typeof m.type === "string" ? m.type : String(m.type)}`,
        id,
      );
  }
}
