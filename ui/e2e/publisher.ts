// A real publisher for browser tests: a Chromium page sends its fake camera (a moving test
// pattern) and microphone to the relay through WHIP.
import type { Page } from 'playwright-core';

export async function publishFakeCamera(page: Page, stream: string, key: string): Promise<void> {
  await page.evaluate(
    async ({ stream, key }) => {
      const media = await navigator.mediaDevices.getUserMedia({
        video: { width: 640, height: 360, frameRate: 30 },
        audio: true,
      });
      const pc = new RTCPeerConnection();
      for (const track of media.getTracks()) pc.addTransceiver(track, { direction: 'sendonly' });
      await pc.setLocalDescription(await pc.createOffer());
      await new Promise<void>((done) => {
        if (pc.iceGatheringState === 'complete') done();
        pc.addEventListener('icegatheringstatechange', () => {
          if (pc.iceGatheringState === 'complete') done();
        });
      });
      const response = await fetch(`/whip/${stream}`, {
        method: 'POST',
        headers: { 'content-type': 'application/sdp', authorization: `Bearer ${key}` },
        body: pc.localDescription!.sdp,
      });
      if (response.status !== 201) throw new Error(`WHIP ${response.status}: ${await response.text()}`);
      await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
      (window as unknown as { publisher: RTCPeerConnection }).publisher = pc;
    },
    { stream, key },
  );
}

/** Resolves once the relay reports video frames arriving on `stream`. */
export async function waitForIngest(relayUrl: string, stream: string, timeoutMs = 15_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const stats = (await fetch(`${relayUrl}/api/streams/${stream}/stats`).then((r) => r.json())) as {
      video?: { fps?: number };
    };
    if ((stats.video?.fps ?? 0) > 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`no video arrived on ${stream} within ${timeoutMs} ms`);
}
