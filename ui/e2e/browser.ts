// Debian's Chromium driven by playwright-core (browser downloads are not possible here).
import { chromium, type Browser } from 'playwright-core';

export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      // Without these Chromium keeps dialling out, which this closed network refuses.
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}
