// The order feed's state: newest first, one entry per order id, updated in place by the
// relay's `order.*` events (which always carry the whole order).
import type { Event } from '../bindings/Event';
import type { Order } from '../bindings/Order';
import { liveEvent } from '../shared/liveEvent';

export const FEED_LIMIT = 200;

export function upsertOrder(orders: Order[], order: Order): Order[] {
  const rest = orders.filter((o) => o.id !== order.id);
  const next = [...rest, order].sort((a, b) => b.created_at_ms - a.created_at_ms || b.id - a.id);
  return next.slice(0, FEED_LIMIT);
}

/** The order an `order.*` event of this live carries, if any. */
export function orderOf(event: Event, liveId: number): Order | null {
  if (event.live_id !== liveId) return null;
  const e = liveEvent(event);
  // Closing events (order.cancelled / order.refunded) name the order only; a re-read follows.
  return e.kind === 'order.created' || e.kind === 'order.paid' ? e.payload.order : null;
}

/** GMV counts orders that were paid and not refunded or cancelled. */
export function gmvFen(orders: Order[]): number {
  return orders
    .filter((o) => o.status === 'paid' || o.status === 'shipped' || o.status === 'completed')
    .reduce((sum, o) => sum + o.total_fen, 0);
}
