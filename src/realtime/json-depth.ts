/**
 * How deep a JSON text nests, measured on its bytes before it is parsed: a
 * message of `[[[[…` a million deep parses fine but overflows the stack of
 * anything that walks it afterwards (JSON.stringify included). Strings are
 * skipped with their escapes, so brackets inside them do not count.
 */

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
const OPEN_OBJECT = 0x7b;
const CLOSE_OBJECT = 0x7d;

/** True when no array or object in `text` nests deeper than `max` (the top level is depth 1). */
export function jsonDepthWithin(text: Buffer, max: number): boolean {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (inString) {
      if (c === BACKSLASH) i++;
      else if (c === QUOTE) inString = false;
    } else if (c === QUOTE) {
      inString = true;
    } else if (c === OPEN_ARRAY || c === OPEN_OBJECT) {
      if (++depth > max) return false;
    } else if (c === CLOSE_ARRAY || c === CLOSE_OBJECT) {
      depth--;
    }
  }
  return true;
}
