import { existsSync } from 'node:fs';
import { chromium, type Browser } from 'playwright-core';

/** Debian's Chromium, which `npm test` installs itself (scripts/ensure-test-tools.sh). */
const CHROMIUM = '/usr/bin/chromium';

/** Headless in a container, and nothing of the browser's own traffic in the tests' way. */
const COMMON_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Fails at once, saying what to install, when Chromium is missing (before a slow set-up). */
export function requireChromium(): void {
  if (!existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install it with "apt-get install -y chromium" (npm test does).`,
    );
  }
}

/** Debian's Chromium with the common flags and a test's own `extraArgs`. */
export function launchChromium(extraArgs: string[] = []): Promise<Browser> {
  requireChromium();
  return chromium.launch({ executablePath: CHROMIUM, args: [...COMMON_ARGS, ...extraArgs] });
}
