/**
 * How the inspector shows what the collector keeps: DNS codes and records
 * as text, headers as pairs with credentials masked. Runs only when a row
 * is served (the collector stores events as they came).
 */
import { maskHeader } from "../core/secrets.js";
import { Flag, Rcode, typeName } from "../dns/wire/constants.js";
import { rdataText } from "../dns/wire/present.js";
import type { Row } from "./rows.js";

export const RCODES = new Map<number, string>(Object.entries(Rcode).map(([k, v]) => [v, k]));
const FLAGS: [number, string][] = [
  [Flag.QR, "qr"],
  [Flag.AA, "aa"],
  [Flag.TC, "tc"],
  [Flag.RD, "rd"],
  [Flag.RA, "ra"],
  [Flag.AD, "ad"],
  [Flag.CD, "cd"],
];

/** Headers as `[name, value]` pairs, credentials masked (Authorization keeps its scheme, cookies their names). */
function pairs(flat: readonly string[]): [string, string][] {
  const out: [string, string][] = [];
  for (let i = 0; i + 1 < flat.length; i += 2) out.push([flat[i]!, maskHeader(flat[i]!, flat[i + 1]!)]);
  return out;
}

/** A row as the inspector shows it: DNS codes and records as text, headers as pairs. */
export function presentRow(row: Row): Record<string, unknown> {
  if (row.kind === "dns") {
    const { records, flags, rcode, ...rest } = row;
    return {
      ...rest,
      rcode: RCODES.get(rcode) ?? String(rcode),
      flags: FLAGS.filter(([bit]) => (flags & bit) !== 0).map(([, n]) => n),
      answers: records.slice(0, 8).map((r) => `${typeName(r.type)} ${rdataText(r)}`),
    };
  }
  if (row.kind === "http")
    return { ...row, requestHeaders: pairs(row.requestHeaders), responseHeaders: pairs(row.responseHeaders) };
  return { ...row };
}
