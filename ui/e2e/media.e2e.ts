// Chromium's own WebRTC (libwebrtc) against the relay: page A publishes its fake camera and
// microphone through WHIP, page B plays through WHEP and then through HLS with hls.js. Runs in
// the network namespace `make e2e` sets up (Chromium offers no loopback candidates).
import { createRequire } from 'node:module';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser';
import { publishFakeCamera, waitForIngest } from './publisher';
import { startRelay, type Relay } from './relay';

let relay: Relay;
let browser: Browser;

beforeAll(async () => {
  relay = await startRelay({ streams: ['demo'] });
  browser = await launchChromium();
});

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
});

/// Opens a page on the relay's origin, so WHIP/WHEP requests are same-origin. The tests drive
/// raw WebRTC and hls.js from scripts they inject, which the viewer page's CSP rightly forbids
/// (`script-src 'self'`): this harness page bypasses it; the viewer page's own tests keep it.
async function relayPage(): Promise<Page> {
  const page = await browser.newPage({ bypassCSP: true });
  await page.goto(`${relay.url}/`);
  return page;
}

async function playWhep(page: Page): Promise<void> {
  await page.evaluate(async () => {
    const pc = new RTCPeerConnection();
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const video = document.createElement('video');
    video.muted = true;
    video.autoplay = true;
    video.playsInline = true;
    document.body.append(video);
    const stream = new MediaStream();
    pc.addEventListener('track', (event) => {
      stream.addTrack(event.track);
      video.srcObject = stream;
    });
    await pc.setLocalDescription(await pc.createOffer());
    await new Promise<void>((done) => {
      if (pc.iceGatheringState === 'complete') done();
      pc.addEventListener('icegatheringstatechange', () => {
        if (pc.iceGatheringState === 'complete') done();
      });
    });
    const response = await fetch('/whep/demo', {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: pc.localDescription!.sdp,
    });
    if (response.status !== 201) throw new Error(`WHEP ${response.status}: ${await response.text()}`);
    await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
    (window as unknown as { player: RTCPeerConnection }).player = pc;
  });
}

function framesDecoded(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pc = (window as unknown as { player: RTCPeerConnection }).player;
    let frames = 0;
    (await pc.getStats()).forEach((report) => {
      if (report.type === 'inbound-rtp' && report.kind === 'video') frames = report.framesDecoded ?? 0;
    });
    return frames;
  });
}

describe('media in Chromium', () => {
  it('publishes a fake camera through WHIP and plays it through WHEP and HLS', async () => {
    const publisher = await relayPage();
    const key = relay.keys.demo;
    if (!key) throw new Error('stream demo was not created');
    await publishFakeCamera(publisher, 'demo', key);
    await waitForIngest(relay.url, 'demo');

    const player = await relayPage();
    await playWhep(player);
    await expect.poll(() => framesDecoded(player), { timeout: 15_000 }).toBeGreaterThan(0);
    // Frames keep being decoded for 5 s: sampled every second, each count is higher.
    let last = await framesDecoded(player);
    for (let second = 0; second < 5; second++) {
      await player.waitForTimeout(1000);
      const now = await framesDecoded(player);
      expect(now, `second ${second + 1}`).toBeGreaterThan(last);
      last = now;
    }
    const stats = await fetch(`${relay.url}/api/streams/demo/stats`).then((r) => r.json());
    expect(stats.viewers).toBe(1);
    expect(stats.video.codec.toLowerCase()).toBe('video/h264');

    // Page B plays the same stream through HLS too, with hls.js in a second <video> element.
    const require = createRequire(import.meta.url);
    const hlsPage = player;
    await hlsPage.addScriptTag({ path: require.resolve('hls.js/dist/hls.min.js') });
    await hlsPage.evaluate((src) => {
      const video = document.createElement('video');
      video.muted = true;
      video.autoplay = true;
      document.body.append(video);
      const Hls = (window as unknown as { Hls: { new (): { loadSource(s: string): void; attachMedia(v: HTMLVideoElement): void } } }).Hls;
      const hls = new Hls();
      hls.loadSource(src);
      hls.attachMedia(video);
      (window as unknown as { hlsVideo: HTMLVideoElement }).hlsVideo = video;
    }, `${relay.url}/hls/demo/index.m3u8`);
    const hlsFrames = () =>
      hlsPage.evaluate(
        () => (window as unknown as { hlsVideo: HTMLVideoElement }).hlsVideo.getVideoPlaybackQuality().totalVideoFrames,
      );
    await expect.poll(hlsFrames, { timeout: 30_000 }).toBeGreaterThan(30);
    const before = await hlsFrames();
    await hlsPage.waitForTimeout(2000);
    expect(await hlsFrames()).toBeGreaterThan(before);

    await Promise.all([publisher.close(), player.close()]);
  });
});
