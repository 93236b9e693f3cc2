// The live room's state and how each event of the live's log changes it. Pure functions, so
// the page and its tests share them. Events carry absolute values (the pin, stock left, a
// sale's remaining units, the like total) or ids, so applying one twice changes nothing: the
// room snapshot and the socket may both deliver an event committed while the page opened.
import type { CartItem } from '../bindings/CartItem';
import type { Clip } from '../bindings/Clip';
import type { Comment } from '../bindings/Comment';
import type { Coupon } from '../bindings/Coupon';
import type { Event } from '../bindings/Event';
import type { FlashSale } from '../bindings/FlashSale';
import type { Live } from '../bindings/Live';
import type { LiveEvent } from '../bindings/LiveEvent';
import type { Lottery } from '../bindings/Lottery';
import type { Product } from '../bindings/Product';
import type { Room } from '../bindings/Room';
import { liveEvent } from '../shared/liveEvent';

/** Comments kept in memory for the list under the video. */
export const KEPT_COMMENTS = 200;

export interface RoomState {
  live: Live;
  lastEventId: number;
  /** Add to `Date.now()` for the relay's clock. */
  clockOffsetMs: number;
  /** The relay's clock is at least this: the newest event's time (a sale that just opened). */
  seenServerMs: number;
  viewers: number;
  likes: number;
  flashSales: FlashSale[];
  coupons: Coupon[];
  /** Newest first. */
  lotteries: Lottery[];
  comments: Comment[];
  /** Comments that arrived over the socket, for the danmaku layer (not the snapshot's). */
  fresh: Comment[];
  /** 看讲解 replay clips, newest first. */
  clips: Clip[];
  /** The cart changed to products this page has not loaded: read the live again. */
  stale: boolean;
}

export function fromRoom(room: Room, nowMs: number): RoomState {
  return {
    live: room.live,
    lastEventId: room.last_event_id,
    clockOffsetMs: room.server_now_ms - nowMs,
    seenServerMs: room.server_now_ms,
    viewers: room.viewers_now,
    likes: room.likes,
    flashSales: room.flash_sales,
    coupons: room.coupons,
    lotteries: room.lotteries,
    comments: room.comments,
    fresh: [],
    clips: room.clips,
    stale: false,
  };
}

/** A product's latest replay clip, if it has one. */
export function latestClip(clips: Clip[], productId: number): Clip | undefined {
  return clips.find((c) => c.product_id === productId);
}

function upsert<T extends { id: number }>(list: T[], item: T, newestFirst = false): T[] {
  const i = list.findIndex((x) => x.id === item.id);
  if (i >= 0) return list.map((x, j) => (j === i ? item : x));
  return newestFirst ? [item, ...list] : [...list, item];
}

function mapProducts(live: Live, f: (p: Product) => Product): Live {
  return { ...live, cart: live.cart.map((item) => ({ ...item, product: f(item.product) })) };
}

export function applyEvent(state: RoomState, event: Event): RoomState {
  // Already applied: the snapshot or an earlier socket delivered it.
  if (event.id <= state.lastEventId) return state;
  return reduce(
    { ...state, lastEventId: event.id, seenServerMs: Math.max(state.seenServerMs, event.created_at_ms) },
    liveEvent(event),
  );
}

function reduce(state: RoomState, event: LiveEvent): RoomState {
  switch (event.kind) {
    case 'live.status':
      return { ...state, live: { ...state.live, status: event.payload.status } };
    case 'live.updated':
      return {
        ...state,
        live: {
          ...state.live,
          title: event.payload.title,
          low_stock_threshold: event.payload.low_stock_threshold,
        },
      };
    case 'pin.changed': {
      const { pin, product } = event.payload;
      let live: Live = { ...state.live, pin: pin ?? undefined };
      if (product) live = mapProducts(live, (old) => (old.id === product.id ? product : old));
      return { ...state, live };
    }
    case 'cart.changed': {
      const known = new Map(state.live.cart.map((item) => [item.product.id, item.product]));
      const cart: CartItem[] = [];
      for (const { position, product_id } of event.payload.items) {
        const product = known.get(product_id);
        if (!product) return { ...state, stale: true };
        cart.push({ position, product });
      }
      return { ...state, live: { ...state.live, cart } };
    }
    case 'stock.changed':
      return { ...state, live: withStock(state.live, event.payload.skus) };
    case 'flashsale.created':
      return { ...state, flashSales: upsert(state.flashSales, event.payload.sale) };
    case 'flashsale.changed': {
      const left = new Map(event.payload.sales.map((s) => [s.id, s.remaining]));
      return {
        ...state,
        flashSales: state.flashSales.map((s) => (left.has(s.id) ? { ...s, remaining: left.get(s.id)! } : s)),
      };
    }
    case 'flashsale.ended': {
      const { id, sku_id, stock } = event.payload;
      return {
        ...state,
        flashSales: state.flashSales.map((s) => (s.id === id ? { ...s, open: false } : s)),
        live: withStock(state.live, [{ sku_id, stock }]),
      };
    }
    case 'coupon.created':
      return { ...state, coupons: upsert(state.coupons, event.payload.coupon, true) };
    case 'lottery.created':
    case 'lottery.drawn':
      return { ...state, lotteries: upsert(state.lotteries, event.payload.lottery, true) };
    case 'comments': {
      const seen = new Set(state.comments.map((c) => c.id));
      const added = event.payload.comments.filter((c) => !seen.has(c.id));
      if (added.length === 0) return state;
      return {
        ...state,
        comments: [...state.comments, ...added].slice(-KEPT_COMMENTS),
        fresh: [...state.fresh, ...added].slice(-KEPT_COMMENTS),
      };
    }
    case 'comment.hidden': {
      const id = event.payload.comment_id;
      return {
        ...state,
        comments: state.comments.filter((c) => c.id !== id),
        fresh: state.fresh.filter((c) => c.id !== id),
      };
    }
    case 'clip.ready':
      return { ...state, clips: upsert(state.clips, event.payload.clip, true) };
    case 'likes':
      return { ...state, likes: Math.max(state.likes, event.payload.total) };
    case 'viewers':
      return { ...state, viewers: event.payload.now };
    default:
      // Staff-only kinds and kinds newer than this page.
      return state;
  }
}

function withStock(live: Live, skus: { sku_id: number; stock: number }[]): Live {
  const left = new Map(skus.map((s) => [s.sku_id, s.stock]));
  return mapProducts(live, (product) =>
    product.skus.some((sku) => left.has(sku.id))
      ? { ...product, skus: product.skus.map((sku) => (left.has(sku.id) ? { ...sku, stock: left.get(sku.id)! } : sku)) }
      : product,
  );
}

/** Open sales on `product`'s SKUs that have not ended at `nowMs` (relay clock). */
export function salesFor(state: RoomState, product: Product, nowMs: number): FlashSale[] {
  const skus = new Set(product.skus.map((s) => s.id));
  return state.flashSales.filter((s) => s.open && skus.has(s.sku_id) && nowMs < s.ends_at_ms);
}

/** The sale a buyer of `skuId` pays under at `nowMs`: one that has started. */
export function runningSale(sales: FlashSale[], skuId: number, nowMs: number): FlashSale | undefined {
  return sales.find((s) => s.sku_id === skuId && s.starts_at_ms <= nowMs);
}

/**
 * The sale a product's card shows: a running one with units left, else any running one,
 * else the next to start (for its countdown).
 */
export function headlineSale(sales: FlashSale[], nowMs: number): FlashSale | undefined {
  const running = sales.filter((s) => s.starts_at_ms <= nowMs);
  return (
    running.find((s) => s.remaining > 0) ??
    running[0] ??
    [...sales].sort((a, b) => a.starts_at_ms - b.starts_at_ms)[0]
  );
}

/**
 * Units a buyer can still get: a SKU under a running sale offers only the sale's units (the
 * relay refuses its normal stock until the sale ends), the others their stock.
 */
export function unitsLeft(product: Product, sales: FlashSale[], nowMs: number): number {
  return product.skus.reduce((sum, sku) => {
    const sale = runningSale(sales, sku.id, nowMs);
    return sum + (sale ? sale.remaining : sku.stock);
  }, 0);
}

export function pinnedItem(state: RoomState): CartItem | undefined {
  const pin = state.live.pin;
  return pin ? state.live.cart.find((item) => item.product.id === pin.product_id) : undefined;
}

/** At or under the live's threshold (the studio sets it), cards say how many units remain. */
export function isLowStock(left: number, live: Pick<Live, 'low_stock_threshold'>): boolean {
  return left > 0 && left <= live.low_stock_threshold;
}
