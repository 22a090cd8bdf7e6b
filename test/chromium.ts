/** Headless Chromium as this machine runs it: Debian's binary, no sandbox as root, no background traffic. */
import { chromium } from "playwright-core";

export function launchChromium(env?: NodeJS.ProcessEnv) {
  return chromium.launch({
    executablePath: "/usr/bin/chromium",
    ...(env === undefined ? {} : { env }),
    args: [
      "--no-sandbox",
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
    ],
  });
}
