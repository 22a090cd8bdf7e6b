/** How access-log text is escaped: the combined format's quoting and JSON string literals. */

// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const CLF_ESCAPE = /[\u0000-\u001f"\\\u007f]/;

/** The text as the combined format quotes it: as it is in the usual case, escaped when it must be. */
export function quoteClf(s: string): string {
  if (!CLF_ESCAPE.test(s)) return s;
  let out = "";
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x20 || c === 0x7f) out += `\\x${c.toString(16).padStart(2, "0")}`;
    else if (c === 0x22 || c === 0x5c) out += `\\${s[i]}`;
    else out += s[i];
  }
  return out;
}

/** Characters that JSON strings must escape (and the ones Ferry escapes to keep lines ASCII-safe). */
// biome-ignore lint/suspicious/noControlCharactersInRegex: finding control characters is the point
const NEEDS_ESCAPE = /[\u0000-\u001f"\\\u007f-\u009f\u2028\u2029\ud800-\udfff]/;

/** A JSON string literal: the text in quotes as it is when nothing needs escaping (the usual case). */
export function str(s: string): string {
  return NEEDS_ESCAPE.test(s) ? JSON.stringify(s) : `"${s}"`;
}
