/** The `redirect` location kind's normaliser. */
import type { RedirectLocationConfig, UserLocation } from "../types.js";

export function normalizeRedirect(
  loc: UserLocation & { redirect: NonNullable<UserLocation["redirect"]> },
): RedirectLocationConfig {
  return { kind: "redirect", path: loc.path, to: loc.redirect.to, status: loc.redirect.status! };
}
