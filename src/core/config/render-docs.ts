/**
 * Renders the config schema's descriptions into Markdown (docs/config.md):
 * the schema is the single source of the user documentation.
 */
import { configSchema } from "./schema.js";

interface SchemaNode {
  type?: string;
  description?: string;
  properties?: Record<string, SchemaNode>;
  items?: SchemaNode;
  enum?: readonly unknown[];
  oneOf?: readonly SchemaNode[];
  additionalProperties?: boolean | SchemaNode;
  expects?: string;
  default?: unknown;
}

/** `Default …` for a key whose schema has one (empty objects are only there to fill nested defaults). */
function defaultText(n: SchemaNode): string {
  const d = n.default;
  if (d === undefined || (typeof d === "object" && d !== null && Object.keys(d).length === 0)) return "";
  if (Array.isArray(d) && d.some((x) => typeof x === "object")) return "";
  const shown = Array.isArray(d) ? `[${d.join(", ")}]` : String(d);
  return ` Default \`${shown}\`.`;
}

function typeOf(n: SchemaNode): string {
  if (n.enum) return n.enum.map((v) => `\`${JSON.stringify(v)}\``).join(" \\| ");
  if (n.expects) return n.expects.split(" (")[0]!.replace(/^a /, "");
  if (n.oneOf) return n.oneOf.map(typeOf).join(" or ");
  if (n.type === "array" && n.items)
    return `list of ${n.items.type === "object" ? "objects" : typeOf(n.items)}`;
  if (n.type === "object" && n.additionalProperties && typeof n.additionalProperties === "object")
    return "map";
  return (
    n.type ??
    ((n as { const?: unknown }).const !== undefined
      ? `\`${JSON.stringify((n as { const?: unknown }).const)}\``
      : "object")
  );
}

function walk(node: SchemaNode, prefix: string, out: string[]): void {
  const props = node.properties ?? node.items?.properties;
  if (!props) return;
  for (const [key, child] of Object.entries(props)) {
    const name = prefix ? `${prefix}.${key}` : key;
    const objectBranch = child.oneOf?.find((b) => b.properties);
    const text = (child.description ?? "") + defaultText(child);
    out.push(`| \`${name}\` | ${typeOf(child)} | ${text.replace(/\|/g, "\\|")} |`);
    walk(child, child.type === "array" ? `${name}[]` : name, out);
    if (objectBranch) walk(objectBranch, name, out);
  }
}

/** The Markdown page. */
export function renderConfigDocs(): string {
  const rows: string[] = [];
  walk(configSchema as unknown as SchemaNode, "", rows);
  return `# Configuration reference

Generated from the JSON Schema in \`src/core/config/schema.ts\` by \`npm run docs\`; do not edit by hand
(a test fails when this page and the schema disagree).

Ferry reads one YAML file (\`ferry serve --config ferry.yaml\`, checked by \`ferry check --config ferry.yaml\`).
Relative paths are relative to the file's folder. Durations are milliseconds or text such as \`500ms\`,
\`10s\`, \`5m\`, \`1h\`; sizes are bytes or text such as \`16KiB\`, \`1MiB\`, \`2MB\`. Unknown keys are errors.
A location inherits every serving setting it leaves out from its site (the site's defaults are listed on its keys).

| key | type | meaning |
| --- | --- | --- |
${rows.join("\n")}
`;
}
