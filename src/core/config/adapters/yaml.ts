import { isMap, isNode, isPair, isScalar, LineCounter, type Node, parseDocument } from "yaml";
import { ConfigError, type SourcePosition } from "../../errors.js";
import type { KeyPath } from "../problems.js";

/** A parsed YAML config: its plain value and a way back from a key path to the file. */
export interface ParsedYaml {
  value: unknown;
  locate(path: KeyPath): SourcePosition;
}

/**
 * Parses YAML config text. Syntax errors become `ERR_CONFIG_SYNTAX` with the
 * file, line and column; the result can map any key path back to its place.
 */
export function parseYamlConfig(text: string, file: string): ParsedYaml {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  const at = (offset: number): SourcePosition => {
    const { line, col } = lines.linePos(offset);
    return { file, line, column: col };
  };
  if (doc.errors.length > 0) {
    throw new ConfigError(
      "ERR_CONFIG_SYNTAX",
      doc.errors.map((e) => ({ key: "", message: e.message.split("\n")[0]!, position: at(e.pos[0]) })),
    );
  }
  const locate = (path: KeyPath): SourcePosition => {
    let node: unknown = doc.contents;
    let best = (doc.contents as Node | null)?.range?.[0] ?? 0;
    for (const key of path) {
      if (isMap(node)) {
        const pair = node.items.find(
          (p) => isPair(p) && isScalar(p.key) && String(p.key.value) === String(key),
        );
        if (!pair) break;
        if (isNode(pair.key) && pair.key.range) best = pair.key.range[0];
        node = pair.value;
        continue;
      }
      if (isNode(node) && "items" in node && Array.isArray(node.items) && typeof key === "number") {
        node = node.items[key];
        if (isNode(node) && node.range) best = node.range[0];
        continue;
      }
      break;
    }
    return at(best);
  };
  return { value: doc.toJS() ?? {}, locate };
}
