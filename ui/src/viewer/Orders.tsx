import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Order } from '../bindings/Order';
import { api } from './api';
import { errorText } from './errors';
import { formatFen } from './money';
import { Sheet } from './Sheet';

/** 我的订单: this device's orders, newest first, read when opened. */
export function MyOrders({ token, onClose }: { token: string; onClose: () => void }) {
  const { t } = useTranslation();
  const [orders, setOrders] = useState<Order[]>();
  const [failure, setFailure] = useState<string>();
  useEffect(() => {
    api<Order[]>('/api/orders', { token })
      .then(setOrders)
      .catch((e: unknown) => setFailure(errorText(t, e)));
  }, [token, t]);
  return (
    <Sheet label={t('viewer.orders.title')} onClose={onClose}>
      {failure && <p role="alert">{failure}</p>}
      {orders && orders.length === 0 && <p className="empty">{t('viewer.orders.empty')}</p>}
      <ul className="order-list">
        {orders?.map((order) => (
          <li key={order.id} data-testid="my-order">
            <p>
              {t('viewer.orders.number', { id: order.id })} ·{' '}
              <span className={`status status-${order.status}`}>{t(`viewer.orders.status.${order.status}`)}</span>
            </p>
            <p className="order-items">
              {order.items.map((i) => `${i.title} · ${i.sku_name} × ${i.quantity}`).join('；')}
            </p>
            <p>
              {t('viewer.orders.total')} <strong>{formatFen(order.total_fen)}</strong>
              {order.discount_fen > 0 && ` (${t('viewer.orders.discount', { amount: formatFen(order.discount_fen) })})`}
            </p>
          </li>
        ))}
      </ul>
    </Sheet>
  );
}
