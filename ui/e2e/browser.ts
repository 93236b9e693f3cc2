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
      // Media tests: a fake camera (moving test pattern) and microphone, allowed without a prompt,
      // and real host candidates instead of mDNS names the relay does not resolve.
      '--use-fake-device-for-media-stream',
      '--use-fake-ui-for-media-stream',
      '--disable-features=WebRtcHideLocalIpsWithMdns',
      '--autoplay-policy=no-user-gesture-required',
    ],
  });
}
