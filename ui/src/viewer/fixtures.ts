// Wire objects for the viewer's unit tests, shaped like the relay's answers.
import type { CartItem } from '../bindings/CartItem';
import type { Event } from '../bindings/Event';
import type { Clip } from '../bindings/Clip';
import type { FlashSale } from '../bindings/FlashSale';
import type { Product } from '../bindings/Product';
import type { Room } from '../bindings/Room';

export function product(id: number, skus: [number, string, number][] = [[id * 10, '默认', 100]]): Product {
  return {
    id,
    title: `商品${id}`,
    description: `商品${id}的介绍`,
    price_fen: 3990,
    status: 'active',
    skus: skus.map(([skuId, name, stock]) => ({ id: skuId, name, price_fen: 3990, stock })),
    images: [],
    created_at_ms: 0,
    updated_at_ms: 0,
  };
}

export function cart(...products: Product[]): CartItem[] {
  return products.map((p, i) => ({ position: i + 1, product: p }));
}

export function room(overrides: Partial<Room> = {}, items: CartItem[] = cart(product(1), product(2))): Room {
  return {
    live: {
      id: 7,
      title: '冬季上新专场',
      stream_name: 'demo',
      status: 'live',
      created_at_ms: 0,
      low_stock_threshold: 9,
      next_when_sold_out: false,
      pin_when_asked: false,
      cart: items,
    },
    last_event_id: 10,
    server_now_ms: 1_000_000,
    on_air: true,
    viewers_now: 3,
    likes: 5,
    flash_sales: [],
    coupons: [],
    lotteries: [],
    comments: [],
    clips: [],
    ...overrides,
  };
}

export function sale(overrides: Partial<FlashSale> = {}): FlashSale {
  return {
    id: 1,
    live_id: 7,
    sku_id: 10,
    sale_price_fen: 990,
    quantity: 5,
    remaining: 5,
    per_user_limit: 1,
    starts_at_ms: 1_000_000,
    ends_at_ms: 1_060_000,
    open: true,
    ...overrides,
  };
}

let nextId = 11;
export function event(kind: string, payload: unknown, id = nextId++): Event {
  return { id, live_id: 7, kind, audience: 'public', payload, created_at_ms: 1_000_000 + id };
}

export function clip(overrides: Partial<Clip> = {}): Clip {
  return {
    id: 1,
    live_id: 1,
    product_id: 1,
    pin_id: 1,
    starts_at_ms: 900_000,
    duration_ms: 10_000,
    size_bytes: 1_500_000,
    url: '/api/clips/1/video',
    created_at_ms: 950_000,
    ...overrides,
  };
}
