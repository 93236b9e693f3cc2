import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser';
import { ARTIFACTS, startRelay, type Relay } from './relay';

let relay: Relay;
let browser: Browser;

beforeAll(async () => {
  relay = await startRelay();
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
});

describe('viewer page served by the relay', () => {
  it('loads with its zh-CN title and the relay version', async () => {
    const page = await browser.newPage({ viewport: { width: 390, height: 844 } });
    await page.goto(`${relay.url}/`);
    await expect.poll(() => page.title()).toBe('AnchorDesk 直播间');
    expect(await page.locator('h1').textContent()).toBe('AnchorDesk 直播间');
    await page.getByTestId('relay-version').waitFor();
    expect(await page.getByTestId('relay-version').textContent()).toMatch(/^中继版本 \d+\.\d+\.\d+$/);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-page.png') });
    await page.close();
  });

  it('serves the same app on a live room link and switches to English', async () => {
    const page = await browser.newPage();
    await page.goto(`${relay.url}/live/1`);
    await page.getByRole('combobox').selectOption('en');
    await expect.poll(() => page.title()).toBe('AnchorDesk Live Room');
    // The choice is remembered across a reload.
    await page.reload();
    await expect.poll(() => page.locator('h1').textContent()).toBe('AnchorDesk Live Room');
    await page.close();
  });
});
