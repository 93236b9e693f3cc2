import { describe, expect, it } from 'vitest';
import { cart, clip, event, product, room, sale } from './fixtures';
import { applyEvent, fromRoom, headlineSale, isLowStock, KEPT_COMMENTS, latestClip, pinnedItem, runningSale, salesFor, unitsLeft } from './room';

const start = () => fromRoom(room(), 999_000);

describe('room state', () => {
  it('adds a ready replay clip once, newest first, and finds each product\'s latest', () => {
    const older = clip({ id: 1, product_id: 2 });
    let state = fromRoom(room({ clips: [older] }), 1_000_000);
    expect(latestClip(state.clips, 2)).toEqual(older);
    expect(latestClip(state.clips, 1)).toBeUndefined();
    const newer = clip({ id: 2, product_id: 2, url: '/api/clips/2/video' });
    const ready = event('clip.ready', { clip: newer });
    state = applyEvent(state, ready);
    state = applyEvent(state, ready);
    expect(state.clips.map((c) => c.id)).toEqual([2, 1]);
    expect(latestClip(state.clips, 2)?.url).toBe('/api/clips/2/video');
  });

  it('takes the relay clock and the resume point from the snapshot', () => {
    const state = start();
    expect(state.clockOffsetMs).toBe(1000);
    expect(state.lastEventId).toBe(10);
    expect(state.viewers).toBe(3);
  });

  it('ignores an event it already has, so the snapshot and the socket can both deliver it', () => {
    const state = start();
    expect(applyEvent(state, event('likes', { total: 99 }, 10))).toBe(state);
    const once = applyEvent(state, event('likes', { total: 99 }, 11));
    expect(once.likes).toBe(99);
    expect(applyEvent(once, event('likes', { total: 99 }, 11))).toBe(once);
  });

  it('pins and unpins, taking the fresher product from the event', () => {
    const fresh = { ...product(2), title: '改名后的商品' };
    const pinned = applyEvent(start(), event('pin.changed', { pin: { id: 1, product_id: 2, selling_point: '专享', started_at_ms: 1 }, position: 2, product: fresh }));
    expect(pinnedItem(pinned)?.product.title).toBe('改名后的商品');
    expect(pinned.live.pin?.selling_point).toBe('专享');
    const unpinned = applyEvent(pinned, event('pin.changed', { pin: null }));
    expect(pinnedItem(unpinned)).toBeUndefined();
  });

  it('reorders the cart, and asks for the room again when the cart names a product it has not seen', () => {
    const reordered = applyEvent(start(), event('cart.changed', { items: [{ position: 1, product_id: 2 }, { position: 2, product_id: 1 }] }));
    expect(reordered.live.cart.map((i) => i.product.id)).toEqual([2, 1]);
    const stale = applyEvent(reordered, event('cart.changed', { items: [{ position: 1, product_id: 3 }] }));
    expect(stale.stale).toBe(true);
    expect(stale.live.cart.map((i) => i.product.id)).toEqual([2, 1]);
    expect(fromRoom(room({}, cart(product(3))), 0).stale).toBe(false);
  });

  it('follows stock and flash-sale units from orders and the end of a sale', () => {
    let state = applyEvent(start(), event('stock.changed', { skus: [{ sku_id: 10, product_id: 1, stock: 4 }] }));
    expect(unitsLeft(state.live.cart[0]!.product, [], 0)).toBe(4);
    state = applyEvent(state, event('flashsale.created', { sale: sale(), server_now_ms: 1_000_000 }));
    const first = () => state.live.cart[0]!.product;
    expect(salesFor(state, first(), 1_000_500).map((s) => s.remaining)).toEqual([5]);
    expect(salesFor(state, state.live.cart[1]!.product, 1_000_500)).toEqual([]);
    state = applyEvent(state, event('flashsale.changed', { sales: [{ id: 1, remaining: 2 }] }));
    expect(state.flashSales[0]!.remaining).toBe(2);
    // A SKU under a running sale offers the sale's units only.
    expect(unitsLeft(first(), salesFor(state, first(), 1_000_500), 1_000_500)).toBe(2);
    // Past its end a sale no longer applies, even before the relay says it ended.
    expect(salesFor(state, first(), 1_060_000)).toEqual([]);
    state = applyEvent(state, event('flashsale.ended', { id: 1, sold: 3, returned: 2, sku_id: 10, stock: 6 }));
    expect(state.flashSales[0]!.open).toBe(false);
    expect(salesFor(state, first(), 1_000_500)).toEqual([]);
    expect(unitsLeft(first(), [], 0)).toBe(6);
  });

  it('prices each SKU by its own running sale, and shows the sale with units left on the card', () => {
    const coat = product(1, [
      [10, 'S', 5],
      [11, 'M', 0],
      [12, 'L', 7],
    ]);
    const soonOnS = sale({ id: 1, sku_id: 10, starts_at_ms: 2_000_000, ends_at_ms: 2_060_000 });
    const runningOnM = sale({ id: 2, sku_id: 11, remaining: 3 });
    const soldOutOnL = sale({ id: 3, sku_id: 12, remaining: 0 });
    const sales = [soonOnS, runningOnM, soldOutOnL];
    const now = 1_000_500;
    expect(runningSale(sales, 10, now)).toBeUndefined();
    expect(runningSale(sales, 11, now)?.id).toBe(2);
    expect(headlineSale(sales, now)?.id).toBe(2);
    expect(headlineSale([soldOutOnL, soonOnS], now)?.id).toBe(3);
    expect(headlineSale([soonOnS], now)?.id).toBe(1);
    // S: its stock (its sale has not started); M: the sale's 3; L: its sold-out sale's 0.
    expect(unitsLeft(coat, sales, now)).toBe(5 + 3 + 0);
  });

  it('adds comments once, keeps the latest, and drops hidden ones', () => {
    const comment = (id: number) => ({ id, live_id: 7, viewer_id: 1, nickname: '观众', body: `第${id}条`, created_at_ms: 0 });
    let state = applyEvent(start(), event('comments', { comments: [comment(1), comment(2)] }));
    state = applyEvent(state, event('comments', { comments: [comment(2), comment(3)] }));
    expect(state.comments.map((c) => c.id)).toEqual([1, 2, 3]);
    expect(state.fresh.map((c) => c.id)).toEqual([1, 2, 3]);
    state = applyEvent(state, event('comment.hidden', { comment_id: 2 }));
    expect(state.comments.map((c) => c.id)).toEqual([1, 3]);
    const many = Array.from({ length: KEPT_COMMENTS + 5 }, (_, i) => comment(100 + i));
    state = applyEvent(state, event('comments', { comments: many }));
    expect(state.comments).toHaveLength(KEPT_COMMENTS);
    expect(state.comments.at(-1)!.id).toBe(100 + KEPT_COMMENTS + 4);
  });

  it('counts viewers and likes, and records lotteries, coupons and the live status', () => {
    let state = applyEvent(start(), event('viewers', { now: 42, peak: 50 }));
    state = applyEvent(state, event('likes', { total: 120, delta: 3 }));
    const lottery = { id: 1, live_id: 7, prize: '保温杯', winners: 1, ends_at_ms: 2, seed_sha256: 'x', drawn: false, entrants: 0, winner_ids: [] };
    state = applyEvent(state, event('lottery.created', { lottery, server_now_ms: 1 }));
    state = applyEvent(state, event('lottery.drawn', { lottery: { ...lottery, drawn: true, winner_ids: [5] } }));
    const coupon = { id: 3, live_id: 7, title: '满50减10', amount_off_fen: 1000, threshold_fen: 5000, quantity: 10, claimed: 0, per_user_limit: 1, valid_from_ms: 0, valid_until_ms: 9e12 };
    state = applyEvent(state, event('coupon.created', { coupon }));
    state = applyEvent(state, event('live.status', { status: 'ended' }));
    expect(state.viewers).toBe(42);
    expect(state.likes).toBe(120);
    expect(state.lotteries).toHaveLength(1);
    expect(state.lotteries[0]!.winner_ids).toEqual([5]);
    expect(state.coupons[0]!.title).toBe('满50减10');
    expect(state.live.status).toBe('ended');
    expect(state.seenServerMs).toBeGreaterThan(1_000_000);
  });

  it('takes the low-stock threshold the studio sets, and says 仅剩 only at or under it', () => {
    let state = start();
    expect(isLowStock(9, state.live)).toBe(true);
    expect(isLowStock(10, state.live)).toBe(false);
    state = applyEvent(state, event('live.updated', { title: '冬季上新专场', low_stock_threshold: 30 }));
    expect(state.live.low_stock_threshold).toBe(30);
    expect(isLowStock(30, state.live)).toBe(true);
    expect(isLowStock(31, state.live)).toBe(false);
    expect(isLowStock(0, state.live)).toBe(false);
    state = applyEvent(state, event('live.updated', { title: '新标题', low_stock_threshold: 0 }));
    expect(state.live.title).toBe('新标题');
    expect(isLowStock(1, state.live)).toBe(false);
  });
});
