/** Loads a zone file into a `Zone`. The origin defaults to the file name without `.zone` (`example.test.zone`). */

import { readFileSync } from "node:fs";
import { defaultOrigin } from "../../core/config/zone-origin.js";
import { FerryError } from "../../core/errors.js";
import { parseMasterFile } from "./master-file.js";
import { Zone } from "./zone.js";

/** The origin a zone file gets when the config names none. */

/** Parses and checks a zone given as text (inline in the config). */
export function loadZoneText(text: string, origin: string, source: string): Zone {
  return new Zone(origin, parseMasterFile(text, { file: source, origin }), source);
}

/** Reads and checks one zone file. Throws `ERR_DNS_ZONE_SYNTAX` / `ERR_DNS_ZONE_INVALID` / `ERR_CONFIG_READ`. */
export function loadZoneFile(file: string, origin?: string): Zone {
  let text: string;
  try {
    text = readFileSync(file, "utf8");
  } catch (err) {
    throw new FerryError(
      "ERR_CONFIG_READ",
      `cannot read zone file ${file}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`,
    );
  }
  const o = origin ?? defaultOrigin(file);
  return new Zone(o, parseMasterFile(text, { file, origin: o }), file);
}
