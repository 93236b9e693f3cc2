import { describe, expect, it } from 'vitest';
import type { Order } from '../bindings/Order';
import { event } from '../viewer/fixtures';
import { gmvFen, orderOf, upsertOrder } from './orders';

function order(id: number, overrides: Partial<Order> = {}): Order {
  return {
    id,
    viewer_id: 1,
    live_id: 7,
    status: 'created',
    total_fen: 1000 * id,
    discount_fen: 0,
    shipping: { name: '张三', phone: '13800138000', address: '上海市' },
    items: [],
    created_at_ms: id * 1000,
    expires_at_ms: id * 1000 + 900_000,
    ...overrides,
  };
}

describe('order feed', () => {
  it('keeps newest first and replaces an order when its status changes', () => {
    let feed = upsertOrder([], order(1));
    feed = upsertOrder(feed, order(2));
    expect(feed.map((o) => o.id)).toEqual([2, 1]);
    feed = upsertOrder(feed, order(1, { status: 'paid' }));
    expect(feed.map((o) => [o.id, o.status])).toEqual([
      [2, 'created'],
      [1, 'paid'],
    ]);
  });

  it('takes orders only from order events of this live', () => {
    expect(orderOf(event('order.created', { order: order(3) }), 7)?.id).toBe(3);
    expect(orderOf({ ...event('order.created', { order: order(3) }), live_id: 8 }, 7)).toBeNull();
    expect(orderOf(event('pin.changed', { pin: null }), 7)).toBeNull();
  });

  it('counts paid orders only in GMV, in fen', () => {
    const feed = [order(1, { status: 'paid' }), order(2), order(3, { status: 'refunded' }), order(4, { status: 'shipped' })];
    expect(gmvFen(feed)).toBe(1000 + 4000);
  });
});
