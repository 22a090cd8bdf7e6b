import path from "node:path";

/** A zone's default origin: its file's name without `.zone` or `.db`, e.g. `example.test.zone` → `example.test`. */
export function defaultOrigin(file: string): string {
  return path.basename(file).replace(/\.(zone|db)$/i, "");
}
