/** Schema pieces for the value kinds many keys share. */

export const duration = {
  expects: "a duration such as 500ms, 10s, 5m or 1h (or whole milliseconds)",
  description: "A duration: a whole number of milliseconds, or a string such as `500ms`, `10s`, `5m`, `1h`.",
  oneOf: [
    { type: "integer", minimum: 0 },
    { type: "string", pattern: "^\\s*\\d+(\\.\\d+)?\\s*(ms|s|m|h)\\s*$" },
  ],
} as const;

/**
 * A duration that must not be zero: a limit of 0 would end every request at
 * once (`requestTimeout: 0` is a config error, not "no limit"; a long limit
 * such as `1h` is how to allow slow uploads).
 */
export const positiveDuration = {
  expects: "a duration of at least 1ms such as 500ms, 10s, 5m or 1h (or whole milliseconds)",
  description: duration.description,
  oneOf: [
    { type: "integer", minimum: 1 },
    { type: "string", pattern: "^\\s*(?!0*(\\.0*)?\\s*(ms|s|m|h)\\s*$)\\d+(\\.\\d+)?\\s*(ms|s|m|h)\\s*$" },
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
