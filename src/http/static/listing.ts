/** Directory listings: HTML (escaped, sorted, sizes and dates) or JSON. Dotfiles never appear. */
import type { Dirent } from "node:fs";
import { readdir, stat } from "node:fs/promises";
import path from "node:path";

/** One row of a listing. */
export interface ListingItem {
  name: string;
  type: "directory" | "file";
  size: number;
  modified: string;
}

/** Reads a folder's visible entries: folders first, then files, each sorted by name. */
export async function readListing(dir: string): Promise<ListingItem[]> {
  const names: Dirent[] = await readdir(dir, { withFileTypes: true });
  const items: ListingItem[] = [];
  for (const d of names) {
    if (d.name.startsWith(".")) continue;
    try {
      const s = await stat(path.join(dir, d.name));
      items.push({
        name: d.name,
        type: s.isDirectory() ? "directory" : "file",
        size: s.isDirectory() ? 0 : s.size,
        modified: s.mtime.toISOString(),
      });
    } catch {
      // A dangling symlink or a file removed meanwhile: leave it out.
    }
  }
  items.sort((a, b) =>
    a.type === b.type ? (a.name < b.name ? -1 : a.name > b.name ? 1 : 0) : a.type === "directory" ? -1 : 1,
  );
  return items;
}

/** Escapes text for HTML content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

function humanSize(n: number): string {
  if (n < 1024) return `${n} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let v = n / 1024;
  let i = 0;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i++;
  }
  return `${v.toFixed(1)} ${units[i]}`;
}

/** Renders a listing page for the (decoded) request path. */
export function renderListingHtml(requestPath: string, items: ListingItem[]): Buffer {
  const title = escapeHtml(`Index of ${requestPath}`);
  const rows = items
    .map((it) => {
      const href = encodeURIComponent(it.name) + (it.type === "directory" ? "/" : "");
      const label = escapeHtml(it.name) + (it.type === "directory" ? "/" : "");
      const size = it.type === "directory" ? "-" : humanSize(it.size);
      return `<tr><td><a href="${href}">${label}</a></td><td>${size}</td><td><time>${it.modified.slice(0, 19).replace("T", " ")}</time></td></tr>`;
    })
    .join("\n");
  const up = requestPath === "/" ? "" : `<tr><td><a href="../">../</a></td><td></td><td></td></tr>\n`;
  return Buffer.from(
    `<!doctype html>
<html><head><meta charset="utf-8"><title>${title}</title>
<style>body{font:14px system-ui,sans-serif;margin:2em}td{padding:2px 1.5em 2px 0}td:nth-child(2){text-align:right}</style>
</head><body><h1>${title}</h1>
<table><thead><tr><th align="left">Name</th><th>Size</th><th align="left">Modified (UTC)</th></tr></thead><tbody>
${up}${rows}
</tbody></table></body></html>
`,
  );
}

/** Renders a listing as JSON. */
export function renderListingJson(requestPath: string, items: ListingItem[]): Buffer {
  return Buffer.from(`${JSON.stringify({ path: requestPath, entries: items })}\n`);
}
