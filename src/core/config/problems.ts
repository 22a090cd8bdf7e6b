/** Where a config problem is (a key path), and the problem before it is given a file position. */

/** A path of keys and indexes into the user config, e.g. `["http", "sites", 0, "root"]`. */
export type KeyPath = (string | number)[];

/** A semantic problem found while normalising, before it is given a file position. */
export interface RawProblem {
  path: KeyPath;
  message: string;
}

/** Renders a key path as `http.sites[0].root`. */
export function keyPathText(p: KeyPath): string {
  let out = "";
  for (const k of p) out += typeof k === "number" ? `[${k}]` : out ? `.${k}` : k;
  return out;
}
