import { useCallback, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Event } from '../bindings/Event';
import { liveEvent } from '../shared/liveEvent';
import type { LiveStats } from '../bindings/LiveStats';
import { formatFen } from '../viewer/money';
import { addSample, conversionPercent, curvePoints, type Sample } from './dashboard';
import { RELAY_EVENT, relayCall, useBackendEvent, useRelayRead } from './ipc';

/** Events after which the relay's figures are read again. */
const STATS_EVENTS = /^(order\.|comments|likes)/;
/** At most one re-read a second, however busy the live. */
const REREAD_MS = 1000;
const CURVE = { width: 240, height: 60 };

/** GMV, orders, viewers (now, peak and a curve) and conversion per product for this live. */
export function Dashboard({ liveId }: { liveId: number }) {
  const { t } = useTranslation();
  const [stats, setStats] = useState<LiveStats | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [samples, setSamples] = useState<Sample[]>([]);
  const [lastRead, setLastRead] = useState(0);

  useRelayRead<LiveStats>(`/api/lives/${liveId}/stats`, setStats, setError);

  const reread = useCallback(() => {
    const now = Date.now();
    if (now - lastRead < REREAD_MS) return;
    setLastRead(now);
    relayCall<LiveStats>('GET', `/api/lives/${liveId}/stats`)
      .then(setStats)
      .catch(() => undefined);
  }, [lastRead, liveId]);

  useBackendEvent<Event>(RELAY_EVENT, (event) => {
    if (event.live_id !== liveId) return;
    const e = liveEvent(event);
    if (e.kind === 'viewers') {
      setSamples((current) => addSample(current, { atMs: event.created_at_ms, viewers: e.payload.now }));
    }
    if (STATS_EVENTS.test(event.kind)) reread();
  });

  return (
    <section className="panel dashboard" aria-labelledby="dashboard-heading">
      <h2 id="dashboard-heading">{t('studio.dashboard.heading')}</h2>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {stats && (
        <>
          <dl className="figures" data-testid="dashboard">
            <dt>{t('studio.dashboard.gmv')}</dt>
            <dd className="price">{formatFen(stats.paid_gmv_fen)}</dd>
            <dt>{t('studio.dashboard.orders')}</dt>
            <dd>{t('studio.dashboard.ordersValue', { orders: stats.orders, paid: stats.paid_orders })}</dd>
            <dt>{t('studio.dashboard.viewers')}</dt>
            <dd>{t('studio.dashboard.viewersValue', { now: stats.viewers_now, peak: stats.viewers_peak })}</dd>
            <dt>{t('studio.dashboard.interaction')}</dt>
            <dd>{t('studio.dashboard.interactionValue', { comments: stats.comments, likes: stats.likes })}</dd>
          </dl>
          <svg
            className="curve"
            viewBox={`0 0 ${CURVE.width} ${CURVE.height}`}
            role="img"
            aria-label={t('studio.dashboard.curve', { count: samples.length })}
          >
            <polyline points={curvePoints(samples, CURVE.width, CURVE.height)} fill="none" stroke="#fe2c55" strokeWidth="2" />
          </svg>
          <table className="conversion">
            <caption>{t('studio.dashboard.conversion')}</caption>
            <thead>
              <tr>
                <th scope="col">{t('studio.dashboard.product')}</th>
                <th scope="col">{t('studio.dashboard.clicks')}</th>
                <th scope="col">{t('studio.dashboard.productOrders')}</th>
                <th scope="col">{t('studio.dashboard.rate')}</th>
                <th scope="col">{t('studio.dashboard.gmv')}</th>
              </tr>
            </thead>
            <tbody>
              {stats.products.map((p) => {
                const rate = conversionPercent(p);
                return (
                  <tr key={p.product_id}>
                    <th scope="row">{p.title}</th>
                    <td>{p.clicks}</td>
                    <td>{p.orders}</td>
                    <td>{rate == null ? '—' : `${rate}%`}</td>
                    <td>{formatFen(p.paid_gmv_fen)}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </section>
  );
}
