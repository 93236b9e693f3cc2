// Three relays on one PostgreSQL behind nginx from Debian, as a merchant runs them: relay 1
// takes the publisher (the origin; a backup for viewers), relays 2 and 3 take viewers in turn
// and pull the stream from relay 1; a second nginx site is the CDN for HLS and the page's
// bundles (`hls_base_url`). Checks the playlist's caching (a hit, and a stale copy that names
// no deleted segment), HLS viewers counted behind the cache, and a viewer page that survives
// `kill -9` of the relay its event socket is on: it reconnects through nginx, resumes its
// events by id (a pin made meanwhile shows) and plays again, without a reload.
// Runs in the network namespace `make e2e` sets up, with a PostgreSQL of its own there.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser';
import { freePort, startNginx, type Nginx } from './nginx';
import { publishFakeCamera, waitForIngest } from './publisher';
import { WORKSPACE } from './relay';

const RELAY_BIN = process.env.ANCHORDESK_RELAY_BIN ?? join(WORKSPACE, 'target/debug/anchordesk-relay');
const PG_ENV = { ANCHORDESK_TEST_PG_PORT: '25433', ANCHORDESK_TEST_PG_DIR: '/tmp/anchordesk-e2e-pg' };
const PASSWORD = 'e2e-owner-password';

interface ClusterRelay {
  url: string;
  /** `127.0.0.1:port`, for nginx. */
  address: string;
  child: ChildProcess;
  /** What it logged (tower_http at debug: one line per request). */
  log: string[];
}

let dir: string;
let databaseUrl: string;
const relays: ClusterRelay[] = [];
let nginx: Nginx | undefined;
let front: string;
let cdn: string;
let browser: Browser;
let publisher: Page;
let liveId: number;
let staff: string;

function pg(command: 'start' | 'stop'): string {
  return execFileSync(join(WORKSPACE, 'scripts/test-postgres.sh'), [command], {
    encoding: 'utf8',
    env: { ...process.env, ...PG_ENV },
  }).trim();
}

function relayCli(args: string[]): string {
  return execFileSync(RELAY_BIN, [...args, '--database-url', databaseUrl, '--data-dir', join(dir, 'cli')], {
    encoding: 'utf8',
    env: { ...process.env, ANCHORDESK_PASSWORD: PASSWORD },
  });
}

async function startClusterRelay(n: number, hlsBase: string): Promise<ClusterRelay> {
  const child = spawn(
    RELAY_BIN,
    ['serve', '--listen', '127.0.0.1:0', '--data-dir', join(dir, `relay${n}`), '--database-url', databaseUrl, '--hls-base-url', hlsBase],
    {
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, ANCHORDESK_LISTEN: undefined, ANCHORDESK_CONFIG: undefined, RUST_LOG: 'warn,tower_http=debug' },
    },
  );
  const log: string[] = [];
  createInterface({ input: child.stderr! }).on('line', (line) => log.push(line));
  const url = await new Promise<string>((ok, fail) => {
    child.once('error', fail);
    child.once('exit', (code) => fail(new Error(`relay ${n} exited with ${code}: ${log.slice(-5).join('\n')}`)));
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => {
      const prefix = 'anchordesk-relay listening on ';
      if (line.startsWith(prefix)) ok(line.slice(prefix.length));
      else fail(new Error(`unexpected relay output: ${line}`));
    });
    // Keep draining stdout (the RTMP line) so the relay never blocks on a full pipe.
    lines.on('line', () => undefined);
  });
  return { url, address: new URL(url).host, child, log };
}

async function call<T>(base: string, method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${base}${path}`, {
    method,
    headers: { authorization: `Bearer ${staff}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'anchordesk-e2e-cluster-'));
  // A server left by an earlier run (in another namespace) cannot be reached from this one.
  pg('stop');
  databaseUrl = pg('start');
  const seeded = relayCli(['demo', 'seed']);
  liveId = Number(/ live (\d+) /.exec(seeded)?.[1]);
  if (!liveId) throw new Error(`no live in: ${seeded}`);
  const key = /^key:\s+(\S+)/m.exec(relayCli(['stream', 'create', 'demo']))?.[1];
  if (!key) throw new Error('no stream key');

  const [frontPort, cdnPort] = [await freePort(), await freePort()];
  front = `127.0.0.1:${frontPort}`;
  cdn = `127.0.0.1:${cdnPort}`;
  for (const n of [1, 2, 3]) relays.push(await startClusterRelay(n, `http://${cdn}`));
  nginx = await startNginx({
    dir: join(dir, 'nginx'),
    front,
    cdn,
    relays: [relays[1]!.address, relays[2]!.address],
    backups: [relays[0]!.address],
  });

  const login = await fetch(`${relays[0]!.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'owner', password: PASSWORD }),
  }).then((r) => r.json() as Promise<{ token: string }>);
  staff = login.token;
  await call(relays[0]!.url, 'POST', `/api/lives/${liveId}/status`, { status: 'live' });

  // The studio publishes to relay 1 directly: it is the stream's origin.
  browser = await launchChromium();
  publisher = await browser.newPage();
  await publisher.goto(`${relays[0]!.url}/`);
  await publishFakeCamera(publisher, 'demo', key);
  await waitForIngest(relays[0]!.url, 'demo');
}, 120_000);

afterAll(async () => {
  await browser?.close();
  await nginx?.stop();
  await Promise.all(
    relays.map(async (relay) => {
      if (relay.child.exitCode !== null || relay.child.signalCode !== null) return;
      const exited = new Promise((ok) => relay.child.once('exit', ok));
      relay.child.kill('SIGTERM');
      await exited;
    }),
  );
  pg('stop');
  if (dir) rmSync(dir, { recursive: true, force: true });
}, 60_000);

const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };

async function viewerPage(query = ''): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  await page.goto(`http://${front}/live/${liveId}${query}`);
  await page.getByRole('button', { name: /小黄车/ }).waitFor();
  return { context, page };
}

function framesDecoded(page: Page): Promise<number> {
  return page.evaluate(async () => {
    const pc = window.anchordeskPlayer?.pc;
    if (!pc) return 0;
    let frames = 0;
    (await pc.getStats()).forEach((report) => {
      if (report.type === 'inbound-rtp' && report.kind === 'video') frames = report.framesDecoded ?? 0;
    });
    return frames;
  });
}

const videoFrames = (page: Page) =>
  page.evaluate(() => document.querySelector('video')?.getVideoPlaybackQuality().totalVideoFrames ?? 0);

/** Frames shown by `read` over the next second. */
async function framesPerSecond(read: () => Promise<number>): Promise<number> {
  const before = await read();
  await sleep(1000);
  return (await read()) - before;
}

/** The playlist through the CDN, with a player token. */
async function playlist(token: string): Promise<{ status: number; cache: string; body: string }> {
  const response = await fetch(`http://${cdn}/hls/demo/index.m3u8?v=${token}`);
  return { status: response.status, cache: response.headers.get('x-cache-status') ?? '', body: await response.text() };
}

const segments = (body: string) => body.split('\n').filter((line) => line.trim().endsWith('.ts'));

/** Every segment `body` names is on the relay (fetched past the cache). */
async function expectSegmentsOnRelay(body: string, cache: string): Promise<void> {
  for (const segment of segments(body)) {
    const response = await fetch(`http://${cdn}/hls/demo/${segment.trim()}`, { headers: { 'x-bypass-cache': '1' } });
    await response.arrayBuffer();
    expect(response.status, `${segment} named by a playlist ${cache}`).toBe(200);
  }
}

describe('three relays behind nginx', () => {
  it('serves HLS through the CDN cache without stale playlists naming deleted segments', async () => {
    // An edge prepares the stream's HLS from its pull: 503 until the first segments exist.
    await expect
      .poll(async () => (await playlist('warmup000')).status, { timeout: 30_000, interval: 500 })
      .toBe(200);
    await expect.poll(async () => segments((await playlist('warmup000')).body).length, { timeout: 20_000 }).toBeGreaterThan(2);

    // A second fetch inside the playlist's max-age (1 s) is a hit; two fetches in a row cross
    // an expiry now and then, so a few pairs are allowed.
    let hit = false;
    for (let pair = 0; pair < 5 && !hit; pair++) {
      await playlist('clienta00');
      hit = (await playlist('clientb00')).cache === 'HIT';
    }
    expect(hit, 'a second playlist fetch is a cache hit').toBe(true);

    // Three players polling the playlist every 500 ms for 6 s: how many fetches the cache
    // answered, and every answer's segments exist.
    const statuses: Record<string, number> = {};
    const deadline = Date.now() + 6_000;
    while (Date.now() < deadline) {
      for (const token of ['player001', 'player002', 'player003']) {
        const { status, cache, body } = await playlist(token);
        expect(status).toBe(200);
        statuses[cache] = (statuses[cache] ?? 0) + 1;
        if (cache === 'STALE' || cache === 'UPDATING') await expectSegmentsOnRelay(body, cache);
      }
      await sleep(500);
    }
    const total = Object.values(statuses).reduce((a, b) => a + b, 0);
    console.log(`cluster: playlist cache statuses over 6 s ${JSON.stringify(statuses)}, hit ratio ${((statuses.HIT ?? 0) / total).toFixed(2)}`);

    // The viewers behind the cache count apart: the CDN tells the relay every fetch's token.
    const hlsViewers = async () => {
      let sum = 0;
      for (const relay of relays) {
        const stats = (await fetch(`${relay.url}/api/streams/demo/stats`).then((r) => r.json())) as { hls_viewers?: number };
        sum += stats.hls_viewers ?? 0;
      }
      return sum;
    };
    expect(await hlsViewers(), 'HLS viewers counted behind the CDN').toBeGreaterThanOrEqual(3);

    // Nobody fetches for 8 s (under the cache's inactive=10s): the next fetch gets the copy
    // from 8 s ago, stale, while nginx refreshes it in the background. Each segment it names
    // must still be on the relay (fetched past the cache).
    await sleep(8_000);
    const stale = await playlist('late00001');
    expect(stale.status).toBe(200);
    expect(['STALE', 'UPDATING']).toContain(stale.cache);
    const named = segments(stale.body);
    expect(named.length).toBeGreaterThan(2);
    await expectSegmentsOnRelay(stale.body, stale.cache);
    console.log(`cluster: a playlist served ${stale.cache} after 8 s idle named ${named.length} segments, all on the relay`);
  }, 90_000);

  it('plays HLS from the CDN on the viewer page, its bundles from there too', async () => {
    const { context, page } = await viewerPage('?webrtc=0');
    const scripts = await page.evaluate(() => Array.from(document.scripts, (s) => s.src));
    expect(scripts.some((src) => src.startsWith(`http://${cdn}/assets/`)), scripts.join(' ')).toBe(true);
    await expect.poll(() => videoFrames(page), { timeout: 30_000 }).toBeGreaterThan(30);
    expect(await page.evaluate(() => window.anchordeskPlayer?.mode)).toBe('hls');
    await context.close();
  }, 60_000);

  it('keeps a viewer page going when the relay its socket is on is killed', async () => {
    const { context, page } = await viewerPage();
    await expect.poll(() => framesDecoded(page), { timeout: 20_000 }).toBeGreaterThan(0);
    await expect.poll(() => framesPerSecond(() => framesDecoded(page)), { timeout: 15_000 }).toBeGreaterThan(5);

    // The relay that took the page's event socket (relay 2 or 3: relay 1 is a backup).
    const socketPath = `/api/lives/${liveId}/events`;
    await expect
      .poll(() => relays.slice(1).filter((r) => r.log.some((line) => line.includes(socketPath))).length, { timeout: 10_000 })
      .toBe(1);
    const victim = relays.slice(1).find((r) => r.log.some((line) => line.includes(socketPath)))!;
    const survivor = relays.slice(1).find((r) => r !== victim)!;
    // Gone after a reload: proves the page recovered in place.
    await page.evaluate(() => ((window as unknown as { sameDocument: boolean }).sameDocument = true));

    const killedAt = Date.now();
    victim.child.kill('SIGKILL');
    // A pin while the page is between sockets: the new socket resumes after the last event
    // id the page saw, so this one arrives too. Made through another relay.
    const [first] = (await call<{ cart: { product: { id: number; title: string } }[] }>(survivor.url, 'GET', `/api/lives/${liveId}`)).cart;
    await call(relays[0]!.url, 'POST', `/api/lives/${liveId}/pin`, { product_id: first!.product.id, selling_point: '换了一台中继' });
    const card = page.getByTestId('pinned-card');
    await card.waitFor({ timeout: 20_000 });
    const eventsBackMs = Date.now() - killedAt;
    expect(await card.textContent()).toContain(first!.product.title);
    expect(await card.textContent()).toContain('换了一台中继');
    expect(survivor.log.some((line) => line.includes(socketPath)), 'the page reconnected to the other relay').toBe(true);

    // The picture moves again (a new WHEP session through nginx if the old one was on the
    // killed relay), without a reload.
    await expect.poll(() => framesPerSecond(() => framesDecoded(page)), { timeout: 40_000, interval: 0 }).toBeGreaterThan(5);
    const videoBackMs = Date.now() - killedAt;
    expect(await page.evaluate(() => window.anchordeskPlayer?.state)).toBe('playing');
    expect(await page.evaluate(() => (window as unknown as { sameDocument?: boolean }).sameDocument)).toBe(true);
    console.log(`cluster: kill -9 of the socket's relay → pin shown after ${eventsBackMs} ms, video moving after ${videoBackMs} ms`);
    await context.close();
  }, 120_000);
});
