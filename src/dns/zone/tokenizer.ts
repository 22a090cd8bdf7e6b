/**
 * Tokens of an RFC 1035 master file: one logical entry per yield (parentheses
 * join lines), comments dropped, quoted strings kept as such, `\` escapes kept
 * for the name and text parsers to resolve.
 */

/** One token: its text and whether it was quoted. */
export interface Token {
  text: string;
  quoted: boolean;
}

/** A logical entry: its tokens, the line it starts on, and whether it starts with blank (owner omitted). */
export interface Entry {
  tokens: Token[];
  line: number;
  blankOwner: boolean;
}

/** A syntax problem at a line (the zone loader adds the file). */
export class TokenError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
  }
}

/** Splits master-file text into logical entries. */
export function* entries(text: string): Generator<Entry> {
  let i = 0;
  let line = 1;
  let depth = 0;
  let tokens: Token[] = [];
  let startLine = 1;
  let blankOwner = false;
  let atLineStart = true;
  let openLine = 0;
  const n = text.length;
  while (i <= n) {
    const c = i < n ? text[i]! : "\n";
    if (c === "\n" || i === n) {
      if (depth === 0 && tokens.length > 0) {
        yield { tokens, line: startLine, blankOwner };
        tokens = [];
      }
      if (i === n) break;
      line++;
      i++;
      atLineStart = true;
      continue;
    }
    if (atLineStart && depth === 0) {
      blankOwner = c === " " || c === "\t";
      startLine = line;
    }
    atLineStart = false;
    if (c === " " || c === "\t" || c === "\r") {
      i++;
      continue;
    }
    if (c === ";") {
      while (i < n && text[i] !== "\n") i++;
      continue;
    }
    if (c === "(") {
      if (tokens.length === 0 && depth === 0) startLine = line;
      if (depth === 0) openLine = line;
      depth++;
      i++;
      continue;
    }
    if (c === ")") {
      if (depth === 0) throw new TokenError("')' without '('", line);
      depth--;
      i++;
      continue;
    }
    if (c === '"') {
      let s = "";
      const quoteLine = line;
      i++;
      for (;;) {
        if (i >= n) throw new TokenError("unterminated quoted string", quoteLine);
        const d = text[i]!;
        if (d === '"') break;
        if (d === "\n") line++;
        if (d === "\\" && i + 1 < n) {
          s += d + text[i + 1]!;
          i += 2;
          continue;
        }
        s += d;
        i++;
      }
      i++;
      tokens.push({ text: s, quoted: true });
      continue;
    }
    let s = "";
    while (i < n) {
      const d = text[i]!;
      if (
        d === " " ||
        d === "\t" ||
        d === "\r" ||
        d === "\n" ||
        d === ";" ||
        d === "(" ||
        d === ")" ||
        d === '"'
      )
        break;
      if (d === "\\" && i + 1 < n) {
        s += d + text[i + 1]!;
        i += 2;
        continue;
      }
      s += d;
      i++;
    }
    tokens.push({ text: s, quoted: false });
  }
  if (depth > 0) throw new TokenError("'(' never closed", openLine);
}

/** Resolves `\X` and `\DDD` escapes in character-string text into bytes. */
export function unescapeText(s: string): Buffer {
  const out: number[] = [];
  for (let i = 0; i < s.length; i++) {
    const ch = s.charCodeAt(i);
    if (ch === 0x5c && i + 1 < s.length) {
      const d = /^\d{3}/.exec(s.slice(i + 1, i + 4));
      if (d && Number(d[0]) <= 255) {
        out.push(Number(d[0]));
        i += 3;
      } else out.push(s.charCodeAt(++i));
    } else if (ch > 0x7f) {
      out.push(...Buffer.from(s[i]!, "utf8"));
    } else out.push(ch);
  }
  return Buffer.from(out);
}
