// The viewer page as a phone user meets it: a real relay with the demo shop, a real publisher
// (Chromium's fake camera over WHIP), and viewer pages in Debian's Chromium. Runs in the
// network namespace `make e2e` sets up (Chromium offers no loopback ICE candidates).
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { launchChromium } from './browser';
import { publishFakeCamera, waitForIngest } from './publisher';
import { ARTIFACTS, startRelay, type Relay } from './relay';

let relay: Relay;
let browser: Browser;
let staff: string;
let liveId: number;
let publisher: Page;
const PHONE = { viewport: { width: 390, height: 844 }, deviceScaleFactor: 1, isMobile: true, hasTouch: true };

interface Product {
  id: number;
  title: string;
  price_fen: number;
  skus: { id: number; name: string; stock: number }[];
}
interface Live {
  cart: { position: number; product: Product }[];
}
interface Order {
  id: number;
  items: { sku_id: number; quantity: number }[];
}

async function call<T>(method: string, path: string, body?: unknown): Promise<T> {
  const response = await fetch(`${relay.url}${path}`, {
    method,
    headers: { authorization: `Bearer ${staff}`, 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  if (!response.ok) throw new Error(`${method} ${path}: ${response.status} ${text}`);
  return (text ? JSON.parse(text) : undefined) as T;
}

const cart = async () => (await call<Live>('GET', `/api/lives/${liveId}`)).cart;
const orders = () => call<Order[]>('GET', `/api/orders?live_id=${liveId}`);

beforeAll(async () => {
  // The signed payment provider with its test gateway, so a buyer can go through a pay step.
  relay = await startRelay({
    demo: true,
    streams: ['demo'],
    args: ['--payment-sandbox'],
    env: { ANCHORDESK_PAYMENT_SECRET: 'e2e-gateway-secret-0123456789' },
  });
  liveId = relay.demo!.liveId;
  const login = await fetch(`${relay.url}/api/auth/login`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ username: 'owner', password: relay.demo!.password }),
  }).then((r) => r.json() as Promise<{ token: string }>);
  staff = login.token;
  await call('POST', `/api/lives/${liveId}/status`, { status: 'live' });
  browser = await launchChromium();
  publisher = await browser.newPage();
  await publisher.goto(`${relay.url}/`);
  await publishFakeCamera(publisher, 'demo', relay.keys.demo!);
  await waitForIngest(relay.url, 'demo');
});

afterAll(async () => {
  await browser?.close();
  await relay?.stop();
});

/** A phone of its own (own storage, so its own viewer account) on the live's page. */
/** The binary (compressed) messages the page's event socket received, by size. */
const eventFrames = new WeakMap<Page, { url: string; binary: number[] }>();

async function viewerPage(query = ''): Promise<{ context: BrowserContext; page: Page }> {
  const context = await browser.newContext(PHONE);
  const page = await context.newPage();
  page.on('websocket', (socket) => {
    if (!socket.url().includes('/events?')) return;
    const seen = { url: socket.url(), binary: [] as number[] };
    eventFrames.set(page, seen);
    socket.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string') seen.binary.push(payload.length);
    });
  });
  await page.goto(`${relay.url}/live/${liveId}${query}`);
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

/** Each one-second sample is higher than the one before, for `seconds`. */
async function keepsIncreasing(read: () => Promise<number>, seconds: number): Promise<void> {
  let last = await read();
  for (let second = 1; second <= seconds; second++) {
    await new Promise((r) => setTimeout(r, 1000));
    const now = await read();
    expect(now, `second ${second}`).toBeGreaterThan(last);
    last = now;
  }
}

async function fillShipping(page: Page, phone: string): Promise<void> {
  await page.getByLabel('收货人').fill('张三');
  await page.getByLabel('手机号').fill(phone);
  await page.getByLabel('收货地址').fill('上海市浦东新区世纪大道 100 号');
}

describe('viewer page', () => {
  it('plays through WHEP, and through HLS when WebRTC is switched off', async () => {
    const { context, page } = await viewerPage();
    await expect.poll(() => framesDecoded(page), { timeout: 15_000 }).toBeGreaterThan(0);
    expect(await page.evaluate(() => window.anchordeskPlayer?.mode)).toBe('webrtc');
    await keepsIncreasing(() => framesDecoded(page), 5);
    // Muted autoplay, with a tap to unmute.
    await page.getByRole('button', { name: '点击开启声音' }).click();
    expect(await page.evaluate(() => document.querySelector('video')!.muted)).toBe(false);
    await context.close();

    const hls = await viewerPage('?webrtc=0');
    await expect.poll(() => videoFrames(hls.page), { timeout: 30_000 }).toBeGreaterThan(30);
    expect(await hls.page.evaluate(() => window.anchordeskPlayer?.mode)).toBe('hls');
    await keepsIncreasing(() => videoFrames(hls.page), 3);
    await hls.context.close();
  });

  it('shows a pin made through the API within a second and removes it on unpin', async () => {
    const { context, page } = await viewerPage();
    const [first] = await cart();
    await call('POST', `/api/lives/${liveId}/pin`, { product_id: first!.product.id, selling_point: '直播间专享' });
    const card = page.getByTestId('pinned-card');
    await card.waitFor({ timeout: 1000 });
    expect(await card.textContent()).toContain(first!.product.title);
    expect(await card.textContent()).toContain('直播间专享');
    // Chromium inflates: the page asked for compressed batches and the pin came as one.
    expect(eventFrames.get(page)?.url).toContain('deflate=true');
    expect(eventFrames.get(page)?.binary.length).toBeGreaterThan(0);
    await expect.poll(() => framesDecoded(page), { timeout: 15_000 }).toBeGreaterThan(0);
    mkdirSync(ARTIFACTS, { recursive: true });
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-playing-pinned.png') });

    await call('DELETE', `/api/lives/${liveId}/pin`);
    await card.waitFor({ state: 'detached', timeout: 1000 });
    await context.close();
  });

  it('buys a product with a chosen SKU once, however often the button is pressed, and refuses a bad phone', async () => {
    const items = await cart();
    const product = items.find((i) => i.product.skus.length > 1)!.product;
    await call('POST', `/api/lives/${liveId}/pin`, { product_id: product.id });
    const { context, page } = await viewerPage();
    const eventsBefore = await call<{ id: number }[]>('GET', `/api/lives/${liveId}/events`);
    const ordersBefore = (await orders()).length;

    await page.getByTestId('pinned-card').getByRole('button', { name: '去购买' }).click();
    const sku = product.skus[1]!;
    await page.getByRole('radio', { name: sku.name }).check();
    await page.getByRole('button', { name: '立即购买' }).click();

    // A phone number that is not one: the field says so and nothing is ordered.
    await fillShipping(page, '12345');
    await page.getByRole('button', { name: '提交订单' }).click();
    expect(await page.getByRole('alert').first().textContent()).toBe('请输入正确的 11 位手机号');
    expect(await page.getByLabel('手机号').getAttribute('aria-invalid')).toBe('true');
    expect((await orders()).length).toBe(ordersBefore);
    await page.screenshot({ path: join(ARTIFACTS, 'viewer-checkout.png') });

    await page.getByLabel('手机号').fill('13800138000');
    await page.getByRole('button', { name: '提交订单' }).dblclick();
    await page.getByTestId('order-placed').waitFor();
    // The shop's payment methods: offline instructions and the gateway's pay step.
    await page.getByTestId('order-placed').getByText(/货到付款/).waitFor();
    expect(await page.getByTestId('order-status').textContent()).toBe('待支付');

    const after = await orders();
    expect(after.length, 'a double click makes one order').toBe(ordersBefore + 1);
    expect(after[0]!.items[0]!.sku_id).toBe(sku.id);
    const events = await call<{ id: number; kind: string; payload: { order?: { id: number } } }[]>(
      'GET',
      `/api/lives/${liveId}/events?after=${eventsBefore.at(-1)?.id ?? 0}`,
    );
    expect(events.filter((e) => e.kind === 'order.created').map((e) => e.payload.order?.id)).toEqual([after[0]!.id]);

    // The signed provider's test gateway: a pay step, then the order is paid for the shop too.
    await page.getByRole('button', { name: /^支付 ¥[\d.]+（测试网关）$/ }).click();
    await expect.poll(() => page.getByTestId('order-status').textContent()).toBe('已支付');
    expect((await call<{ status: string }>('GET', `/api/orders/${after[0]!.id}`)).status).toBe('paid');

    // The order is in this phone's list.
    await page.getByRole('button', { name: '完成' }).click();
    await page.getByRole('button', { name: '我的订单' }).click();
    await expect.poll(() => page.getByTestId('my-order').count()).toBe(1);
    expect(await page.getByTestId('my-order').textContent()).toContain('已支付');
    await context.close();
  });

  it('lets one of two phones racing for the last flash-sale unit have it and tells the other it is sold out', async () => {
    const items = await cart();
    const product = items.find((i) => i.product.skus.length === 1)!.product;
    await call('POST', `/api/lives/${liveId}/pin`, { product_id: product.id });
    const a = await viewerPage();
    const b = await viewerPage();
    await call('POST', `/api/lives/${liveId}/flash-sales`, {
      sku_id: product.skus[0]!.id,
      sale_price_fen: 990,
      quantity: 1,
      duration_secs: 120,
    });
    // Two buyers with phones of their own (the 秒杀 limit also counts per phone number).
    for (const [i, { page }] of [a, b].entries()) {
      const countdown = page.getByTestId('sale-countdown');
      await countdown.waitFor({ timeout: 2000 });
      expect(await countdown.textContent()).toMatch(/^距结束 0[12]:\d\d$/);
      await page.getByTestId('pinned-card').getByRole('button', { name: '马上抢' }).click();
      await page.getByRole('button', { name: '立即购买' }).click();
      await fillShipping(page, `1390013900${i}`);
    }
    await Promise.all([a, b].map(({ page }) => page.getByRole('button', { name: '提交订单' }).click()));
    const outcome = async (page: Page) => {
      await page.locator('[data-testid="order-placed"], .form-error').first().waitFor();
      return (await page.getByTestId('order-placed').count()) ? 'bought' : await page.locator('.form-error').textContent();
    };
    const results = (await Promise.all([outcome(a.page), outcome(b.page)])).sort();
    expect(results).toEqual(['bought', '手慢了，已被抢光']);
    await Promise.all([a.context.close(), b.context.close()]);
  });

  it('shows page A’s comments on page B and the relay’s message when A sends too fast', async () => {
    const a = await viewerPage();
    const b = await viewerPage();
    const input = a.page.getByRole('textbox', { name: '说点什么…' });
    await input.fill('主播好！3号链接还有吗');
    await input.press('Enter');
    await b.page.getByTestId('comment-list').getByText('主播好！3号链接还有吗').waitFor({ timeout: 2000 });

    // A burst: the relay's rate limit answers 429 and the page says when to try again.
    for (let i = 0; i < 12; i++) {
      await input.fill(`刷屏 ${i}`);
      await input.press('Enter');
      await expect.poll(() => input.inputValue().then((v) => v === '' || a.page.locator('.chat-feedback').count().then((n) => n > 0))).toBe(true);
      if (await a.page.locator('.chat-feedback').count()) break;
    }
    expect(await a.page.locator('.chat-feedback').textContent()).toMatch(/^发送太快了，请 \d+ 秒后再试$/);
    await Promise.all([a.context.close(), b.context.close()]);
  });

  it('claims a coupon handed out in the live and uses it at checkout', async () => {
    const { context, page } = await viewerPage();
    await call('POST', '/api/coupons', {
      live_id: liveId,
      title: '直播间满50减10',
      amount_off_fen: 1000,
      threshold_fen: 5000,
      quantity: 100,
      valid_until_ms: Date.now() + 3_600_000,
    });
    const coupons = page.getByRole('region', { name: '优惠券' });
    await coupons.getByRole('button', { name: '领取' }).click({ timeout: 2000 });
    await coupons.getByRole('button', { name: '已领取' }).waitFor();

    // A product no 秒杀 has run on (a sold-out sale holds its SKU until the sale ends).
    const sales = await call<{ sku_id: number }[]>('GET', `/api/lives/${liveId}/flash-sales`);
    const onSale = new Set(sales.map((sale) => sale.sku_id));
    const product = (await cart()).find(
      (i) => i.product.skus.length === 1 && !onSale.has(i.product.skus[0]!.id) && i.product.price_fen >= 5000,
    )!.product;
    await page.getByRole('button', { name: /小黄车/ }).click();
    await page.getByRole('dialog', { name: '小黄车' }).getByRole('button', { name: new RegExp(product.title) }).click();
    await page.getByRole('button', { name: '立即购买' }).click();
    // The coupons this phone holds load with the form; the best one that applies is chosen.
    await expect
      .poll(() => page.getByLabel('优惠券').locator('option:checked').textContent())
      .toBe('直播间满50减10 (-¥10.00)');
    expect(await page.getByTestId('checkout-total').textContent()).toBe(`¥${((product.price_fen - 1000) / 100).toFixed(2)}`);
    await context.close();
  });

  it('joins a keyword lottery after commenting the keyword and shows the result at the draw', async () => {
    const { context, page } = await viewerPage();
    await call('POST', `/api/lives/${liveId}/lotteries`, { prize: '保温杯一只', winners: 1, keyword: '想要', duration_secs: 10 });
    const lottery = page.getByTestId('lottery');
    await lottery.waitFor({ timeout: 2000 });
    expect(await lottery.textContent()).toContain('发送口令「想要」参与');
    await lottery.getByRole('button', { name: '参与抽奖' }).click();
    await lottery.getByText('先在评论区发送口令「想要」再参与').waitFor();

    const input = page.getByRole('textbox', { name: '说点什么…' });
    await input.fill('我想要保温杯');
    await input.press('Enter');
    await expect.poll(() => input.inputValue()).toBe('');
    await lottery.getByRole('button', { name: '参与抽奖' }).click();
    await lottery.getByRole('button', { name: '已参与' }).waitFor();
    // The relay draws when the time is up; the only entrant wins.
    await lottery.getByText('恭喜你抽中 保温杯一只！').waitFor({ timeout: 20_000 });
    await context.close();
  });

  it('stays usable with text at 200 %', async () => {
    const { context, page } = await viewerPage();
    await page.evaluate(() => (document.documentElement.style.fontSize = '200%'));
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    expect(overflow, 'no sideways scrolling').toBeLessThanOrEqual(0);
    await page.getByRole('button', { name: /小黄车/ }).click();
    const first = page.getByRole('dialog', { name: '小黄车' }).getByRole('listitem').first();
    expect(await first.isVisible()).toBe(true);
    await context.close();
  });

  it('shows the stream as away when the publisher drops and plays again when it comes back', async () => {
    const { context, page } = await viewerPage();
    await expect.poll(() => framesDecoded(page), { timeout: 15_000 }).toBeGreaterThan(0);
    await publisher.close();
    // The relay ends a WebRTC publisher that vanished (no goodbye) once ICE times out; until
    // then the page keeps reconnecting, then shows the away state.
    await page.getByText('主播暂时离开，马上回来').waitFor({ timeout: 40_000 });

    publisher = await browser.newPage();
    await publisher.goto(`${relay.url}/`);
    await publishFakeCamera(publisher, 'demo', relay.keys.demo!);
    await expect.poll(() => page.evaluate(() => window.anchordeskPlayer?.state), { timeout: 20_000 }).toBe('playing');
    await keepsIncreasing(() => framesDecoded(page), 3);
    await context.close();
  });
});
