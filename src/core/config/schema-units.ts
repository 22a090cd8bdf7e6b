/** Schema pieces for the value kinds many keys share. */

export const duration = {
  expects: "a duration such as 500ms, 10s, 5m or 1h (or whole milliseconds)",
  description: "A duration: a whole number of milliseconds, or a string such as `500ms`, `10s`, `5m`, `1h`.",
  oneOf: [
    { type: "integer", minimum: 0 },
    { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)\\s*$" },
  ],
} as const;

export const size = {
  expects: "a size such as 512, 16KiB, 1MiB or 2MB (or whole bytes)",
  description:
    "A size: a whole number of bytes, or a string such as `512`, `16KiB`, `1MiB`, `2MB` (KB/MB = 1000, KiB/MiB = 1024).",
  oneOf: [
    { type: "integer", minimum: 0 },
    { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?\\s*(B|KB|KiB|MB|MiB|GB|GiB)?\\s*$" },
  ],
} as const;

export const listenAddress = {
  type: "string",
  expects: "HOST:PORT, e.g. 127.0.0.1:8080 or [::1]:8080",
  description: "`HOST:PORT` to listen on, e.g. `127.0.0.1:8080` or `[::1]:8080`.",
  pattern: "^(\\[[0-9a-fA-F:.]+\\]|[^:\\s\\[\\]]+):\\d{1,5}$",
} as const;
