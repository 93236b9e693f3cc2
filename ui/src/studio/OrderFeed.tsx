import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Event } from '../bindings/Event';
import type { Order } from '../bindings/Order';
import { formatFen } from '../viewer/money';
import { RELAY_EVENT, useBackendEvent, useRelayRead } from './ipc';
import { gmvFen, orderOf, upsertOrder } from './orders';

/** How long a new order stays highlighted. */
const HIGHLIGHT_MS = 8000;

/** This live's orders as they come in, newest first, with the paid total (GMV). */
export function OrderFeed({ liveId }: { liveId: number }) {
  const { t } = useTranslation();
  const [orders, setOrders] = useState<Order[]>([]);
  const [fresh, setFresh] = useState<Set<number>>(new Set());
  const [error, setError] = useState<string | null>(null);

  useRelayRead<Order[]>(
    `/api/orders?live_id=${liveId}`,
    // Events that arrived during the read are newer than the list's copies.
    (list) => setOrders((current) => current.reduce(upsertOrder, list.reduce(upsertOrder, [] as Order[]))),
    setError,
  );

  useBackendEvent<Event>(RELAY_EVENT, (event) => {
    const order = orderOf(event, liveId);
    if (!order) return;
    setOrders((current) => upsertOrder(current, order));
    if (event.kind === 'order.created') {
      setFresh((current) => new Set(current).add(order.id));
      setTimeout(() => {
        setFresh((current) => {
          const next = new Set(current);
          next.delete(order.id);
          return next;
        });
      }, HIGHLIGHT_MS);
    }
  });

  return (
    <section className="panel feed" aria-labelledby="orders-heading">
      <h2 id="orders-heading">{t('studio.orders.heading')}</h2>
      <p className="gmv">
        {t('studio.orders.gmv')} <strong data-testid="gmv">{formatFen(gmvFen(orders))}</strong> ·{' '}
        {t('studio.orders.count', { count: orders.length })}
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {orders.length === 0 && <p className="muted">{t('studio.orders.empty')}</p>}
      <ul className="orders" data-testid="orders" aria-live="polite">
        {orders.map((o) => (
          <li key={o.id} data-order-id={o.id} className={fresh.has(o.id) ? 'new' : undefined}>
            <span className="who">{o.shipping.name}</span>
            <span className="what">
              {o.items.map((i) => `${i.title}${i.sku_name ? `（${i.sku_name}）` : ''} ×${i.quantity}`).join('，')}
            </span>
            <span className="amount">{formatFen(o.total_fen)}</span>
            <span className={`status status-${o.status}`}>{t(`studio.orders.status.${o.status}`)}</span>
          </li>
        ))}
      </ul>
    </section>
  );
}
