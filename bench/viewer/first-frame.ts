// Viewer page benchmark: time from page load to the first video frame, over WHEP and over
// HLS (20 cold loads each, every one in a fresh browser context: no cache, a new viewer), and
// the viewer entry's size gzipped. A real relay, a real publisher (Chromium's fake camera over
// WHIP) and Debian's Chromium, in the network namespace `make bench` runs it in. Run by vitest
// (`ui/vitest.bench.config.ts`, with `it` as a global: this folder has no node_modules).
//
// Run: `make bench-viewer` (builds the UI and the release relay first). Writes
// bench/results/<date>-viewer.json.
import { execFileSync } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { launchChromium } from '../../ui/e2e/browser';
import { publishFakeCamera, waitForIngest } from '../../ui/e2e/publisher';
import { startRelay, WORKSPACE } from '../../ui/e2e/relay';

const LOADS = Number(process.env.ANCHORDESK_BENCH_LOADS ?? 20);
const TARGET_WHEP_P50_MS = 1000;
const TARGET_BUNDLE_GZIP_KB = 250;

function percentile(values: number[], p: number): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)]!;
}

/** The viewer entry as a phone downloads it: viewer.html's scripts, preloads and styles. */
function bundleSize() {
  const dist = join(WORKSPACE, 'ui/dist');
  const html = readFileSync(join(dist, 'viewer.html'), 'utf8');
  const files = [...new Set([...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]!))];
  const sizes = files.map((file) => {
    const bytes = readFileSync(join(dist, file));
    return { file, bytes: bytes.length, gzip_bytes: gzipSync(bytes).length };
  });
  const hls = execFileSync('ls', [join(dist, 'assets')], { encoding: 'utf8' })
    .split('\n')
    .find((f) => /^hls-.*\.js$/.test(f));
  const hlsGzip = hls ? gzipSync(readFileSync(join(dist, 'assets', hls))).length : 0;
  const entryGzip = sizes.reduce((sum, s) => sum + s.gzip_bytes, 0) + gzipSync(html).length;
  return { files: sizes, entry_gzip_kb: entryGzip / 1024, hls_chunk_gzip_kb: hlsGzip / 1024 };
}

it('viewer first frame and bundle size', { timeout: 600_000 }, async () => {
  const relay = await startRelay({ demo: true, streams: ['demo'] });
  const browser = await launchChromium();
  try {
    const liveId = relay.demo!.liveId;
    const publisher = await browser.newPage();
    await publisher.goto(`${relay.url}/`);
    await publishFakeCamera(publisher, 'demo', relay.keys.demo!);
    await waitForIngest(relay.url, 'demo');
    // HLS needs a few segments on disk before a player can start at the live edge.
    await new Promise((r) => setTimeout(r, 6000));

    const results: Record<string, { loads_ms: number[]; p50_ms: number; p95_ms: number; failures: number }> = {};
    for (const mode of ['webrtc', 'hls'] as const) {
      const loads: number[] = [];
      let failures = 0;
      for (let i = 0; i < LOADS; i++) {
        const context = await browser.newContext({ viewport: { width: 390, height: 844 } });
        // Media events do not bubble, but a capturing listener on the document sees them.
        await context.addInitScript(() => {
          document.addEventListener(
            'playing',
            () => {
              const w = window as unknown as { firstFrameMs?: number };
              w.firstFrameMs ??= performance.now();
            },
            true,
          );
        });
        const page = await context.newPage();
        await page.goto(`${relay.url}/live/${liveId}${mode === 'hls' ? '?webrtc=0' : ''}`);
        try {
          const ms = await page.waitForFunction(() => (window as unknown as { firstFrameMs?: number }).firstFrameMs, null, {
            timeout: 20_000,
          });
          loads.push(Number(await ms.jsonValue()));
        } catch {
          failures += 1;
        }
        await context.close();
      }
      results[mode] = { loads_ms: loads, p50_ms: percentile(loads, 50), p95_ms: percentile(loads, 95), failures };
      console.log(`${mode}: p50 ${results[mode].p50_ms.toFixed(0)} ms, p95 ${results[mode].p95_ms.toFixed(0)} ms, ${failures} failed`);
    }
    const bundle = bundleSize();
    console.log(`viewer entry ${bundle.entry_gzip_kb.toFixed(1)} KB gzip; hls.js chunk ${bundle.hls_chunk_gzip_kb.toFixed(1)} KB`);

    const date = new Date().toISOString();
    const record = {
      benchmark: 'viewer',
      command: 'make bench-viewer',
      date,
      machine: {
        cpus: cpus().length,
        cpu_model: cpus()[0]?.model ?? '',
        memory_gib: Math.round((totalmem() / 2 ** 30) * 10) / 10,
        os: process.platform,
      },
      relay: process.env.ANCHORDESK_RELAY_BIN ?? 'target/debug/anchordesk-relay',
      setup:
        'network namespace with a veth pair; relay with the demo shop; publisher Chromium fake camera 640x360@30 over WHIP; ' +
        `${LOADS} cold loads per mode of /live/{id} in a fresh 390x844 browser context (no cache, a new viewer); ` +
        "first frame = the video element's first 'playing' event, ms since navigation start",
      first_frame: results,
      bundle,
      targets: `WHEP first frame p50 <= ${TARGET_WHEP_P50_MS} ms; viewer entry <= ${TARGET_BUNDLE_GZIP_KB} KB gzip`,
      targets_met: results.webrtc!.p50_ms <= TARGET_WHEP_P50_MS && bundle.entry_gzip_kb <= TARGET_BUNDLE_GZIP_KB,
    };
    const file = join(WORKSPACE, 'bench/results', `${date.slice(0, 10)}-viewer.json`);
    writeFileSync(file, `${JSON.stringify(record, null, 2)}\n`);
    console.log(`recorded ${file}`);
  } finally {
    await browser.close();
    await relay.stop();
  }
});
