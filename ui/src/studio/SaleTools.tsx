import { useCallback, useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Event } from '../bindings/Event';
import type { Room } from '../bindings/Room';
import { ApiError } from '../viewer/api';
import { formatCountdown, formatFen, secondsLeft } from '../viewer/money';
import { applyEvent, fromRoom, type RoomState } from '../viewer/room';
import { Field } from './Field';
import { RELAY_EVENT, relayCall, useBackendEvent, useRelayRead } from './ipc';
import {
  checkCoupon,
  checkFlashSale,
  checkLottery,
  type Checked,
  type CouponForm,
  type FieldErrors,
  type FlashSaleForm,
  type LotteryForm,
} from './saleForms';

type Form = 'flash' | 'coupon' | 'lottery';


/** 秒杀, coupons and 福袋 for this live: start them, watch them, stop or draw them. */
export function SaleTools({ liveId }: { liveId: number }) {
  const { t } = useTranslation();
  const [room, setRoom] = useState<RoomState | null>(null);
  const [now, setNow] = useState(() => Date.now());
  const [error, setError] = useState<string | null>(null);
  // Field errors of the form last submitted (the three forms share field names).
  const [errors, setErrors] = useState<{ form: Form; fields: FieldErrors } | null>(null);
  const [sale, setSale] = useState<FlashSaleForm>({ skuId: null, price: '', quantity: '', perUser: '', minutes: '5' });
  const [coupon, setCoupon] = useState<CouponForm>({ title: '', amountOff: '', threshold: '', quantity: '100', minutes: '60' });
  const [lottery, setLottery] = useState<LotteryForm>({ prize: '', winners: '1', keyword: '', minutes: '3' });

  // The newest state for event handlers: two events in one tick must both apply.
  const roomRef = useRef<RoomState | null>(null);
  const show = useCallback((next: RoomState) => {
    roomRef.current = next;
    setRoom(next);
  }, []);
  const reload = useCallback(async () => {
    show(fromRoom(await relayCall<Room>('GET', `/api/lives/${liveId}/room`), Date.now()));
  }, [liveId, show]);

  useRelayRead<Room>(`/api/lives/${liveId}/room`, (r) => show(fromRoom(r, Date.now())), setError);
  useEffect(() => {
    const tick = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(tick);
  }, []);

  useBackendEvent<Event>(RELAY_EVENT, (event) => {
    // Events carry what changed (a rush sends one per order): apply them rather than read
    // the room again per event; only a cart naming products not loaded here needs a read.
    const current = roomRef.current;
    if (event.live_id !== liveId || !current) return;
    const next = applyEvent(current, event);
    show(next);
    if (next.stale) void reload().catch(() => undefined);
  });

  const submit = async <T,>(form: Form, checked: Checked<T>, path: string): Promise<boolean> => {
    setError(null);
    if (!checked.ok) {
      setErrors({ form, fields: checked.errors });
      return false;
    }
    setErrors(null);
    try {
      await relayCall('POST', path, checked.value);
      await reload();
      return true;
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
      return false;
    }
  };

  const act = async (path: string) => {
    setError(null);
    try {
      await relayCall('POST', path);
      await reload();
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };

  const cart = room?.live.cart ?? [];
  const skus = cart.flatMap((item) =>
    item.product.skus.map((sku) => ({ item, sku, label: `${item.position}号 ${item.product.title} · ${sku.name}` })),
  );
  const chosen = skus.find((s) => s.sku.id === sale.skuId)?.sku;
  const message = (form: Form, field: string) => {
    const key = errors?.form === form ? errors.fields[field] : undefined;
    return key ? t(`studio.sales.errors.${key}`) : undefined;
  };
  const skuLabel = (skuId: number) => skus.find((s) => s.sku.id === skuId)?.label ?? `SKU ${skuId}`;

  return (
    <section className="panel sales" aria-labelledby="sales-heading">
      <h2 id="sales-heading">{t('studio.sales.heading')}</h2>
      {error && (
        <p role="alert" className="error" data-testid="sales-error">
          {error}
        </p>
      )}

      <details open>
        <summary>{t('studio.sales.flash.heading')}</summary>
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void submit('flash', checkFlashSale(sale, chosen && { priceFen: chosen.price_fen, stock: chosen.stock }), `/api/lives/${liveId}/flash-sales`).then(
              (done) => done && setSale({ ...sale, price: '', quantity: '' }),
            );
          }}
        >
          <Field id="sale-sku" label={t('studio.sales.flash.sku')} error={message('flash', 'sku')}>
            {(a) => (
              <select {...a} value={sale.skuId ?? ''} onChange={(e) => setSale({ ...sale, skuId: e.target.value ? Number(e.target.value) : null })}>
                <option value="">{t('studio.sales.flash.choose')}</option>
                {skus.map(({ sku, label }) => (
                  <option key={sku.id} value={sku.id}>
                    {label}（{formatFen(sku.price_fen)}，{t('studio.products.stock', { count: sku.stock })}）
                  </option>
                ))}
              </select>
            )}
          </Field>
          <div className="row">
            <Field id="sale-price" label={t('studio.sales.flash.price')} error={message('flash', 'price')}>
              {(a) => <input {...a} inputMode="decimal" value={sale.price} onChange={(e) => setSale({ ...sale, price: e.target.value })} />}
            </Field>
            <Field id="sale-quantity" label={t('studio.sales.flash.quantity')} error={message('flash', 'quantity')}>
              {(a) => <input {...a} inputMode="numeric" value={sale.quantity} onChange={(e) => setSale({ ...sale, quantity: e.target.value })} />}
            </Field>
          </div>
          <div className="row">
            <Field id="sale-per-user" label={t('studio.sales.flash.perUser')} error={message('flash', 'perUser')}>
              {(a) => <input {...a} inputMode="numeric" placeholder="1" value={sale.perUser} onChange={(e) => setSale({ ...sale, perUser: e.target.value })} />}
            </Field>
            <Field id="sale-minutes" label={t('studio.sales.minutes')} error={message('flash', 'minutes')}>
              {(a) => <input {...a} inputMode="numeric" value={sale.minutes} onChange={(e) => setSale({ ...sale, minutes: e.target.value })} />}
            </Field>
          </div>
          <button type="submit" className="primary">
            {t('studio.sales.flash.start')}
          </button>
        </form>
        <ul className="running" data-testid="flash-sales">
          {(room?.flashSales ?? []).filter((s) => s.open).map((s) => (
            <li key={s.id}>
              <span>{skuLabel(s.sku_id)}</span>
              <span className="price">{formatFen(s.sale_price_fen)}</span>
              <span>
                {t('studio.sales.flash.left', { remaining: s.remaining, quantity: s.quantity })} ·{' '}
                {now < s.starts_at_ms
                  ? t('studio.sales.startsIn', { time: formatCountdown(secondsLeft(s.starts_at_ms, now)) })
                  : t('studio.sales.endsIn', { time: formatCountdown(secondsLeft(s.ends_at_ms, now)) })}
              </span>
              <button type="button" onClick={() => void act(`/api/flash-sales/${s.id}/stop`)}>
                {t('studio.sales.flash.stop')}
              </button>
            </li>
          ))}
        </ul>
      </details>

      <details>
        <summary>{t('studio.sales.coupon.heading')}</summary>
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void submit('coupon', checkCoupon(coupon, liveId, Date.now()), '/api/coupons').then(
              (done) => done && setCoupon({ ...coupon, title: '', amountOff: '', threshold: '' }),
            );
          }}
        >
          <Field id="coupon-title" label={t('studio.sales.coupon.title')} error={message('coupon', 'title')}>
            {(a) => <input {...a} value={coupon.title} onChange={(e) => setCoupon({ ...coupon, title: e.target.value })} />}
          </Field>
          <div className="row">
            <Field id="coupon-amount" label={t('studio.sales.coupon.amountOff')} error={message('coupon', 'amountOff')}>
              {(a) => <input {...a} inputMode="decimal" value={coupon.amountOff} onChange={(e) => setCoupon({ ...coupon, amountOff: e.target.value })} />}
            </Field>
            <Field id="coupon-threshold" label={t('studio.sales.coupon.threshold')} error={message('coupon', 'threshold')}>
              {(a) => <input {...a} inputMode="decimal" placeholder="0" value={coupon.threshold} onChange={(e) => setCoupon({ ...coupon, threshold: e.target.value })} />}
            </Field>
          </div>
          <div className="row">
            <Field id="coupon-quantity" label={t('studio.sales.coupon.quantity')} error={message('coupon', 'quantity')}>
              {(a) => <input {...a} inputMode="numeric" value={coupon.quantity} onChange={(e) => setCoupon({ ...coupon, quantity: e.target.value })} />}
            </Field>
            <Field id="coupon-minutes" label={t('studio.sales.coupon.validMinutes')} error={message('coupon', 'minutes')}>
              {(a) => <input {...a} inputMode="numeric" value={coupon.minutes} onChange={(e) => setCoupon({ ...coupon, minutes: e.target.value })} />}
            </Field>
          </div>
          <button type="submit" className="primary">
            {t('studio.sales.coupon.create')}
          </button>
        </form>
        <ul className="running" data-testid="coupons">
          {(room?.coupons ?? []).map((c) => (
            <li key={c.id}>
              <span>{c.title}</span>
              <span className="price">-{formatFen(c.amount_off_fen)}</span>
              <span>{t('studio.sales.coupon.claimed', { claimed: c.claimed, quantity: c.quantity })}</span>
            </li>
          ))}
        </ul>
      </details>

      <details>
        <summary>{t('studio.sales.lottery.heading')}</summary>
        <form
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            void submit('lottery', checkLottery(lottery), `/api/lives/${liveId}/lotteries`).then(
              (done) => done && setLottery({ ...lottery, prize: '', keyword: '' }),
            );
          }}
        >
          <Field id="lottery-prize" label={t('studio.sales.lottery.prize')} error={message('lottery', 'prize')}>
            {(a) => <input {...a} value={lottery.prize} onChange={(e) => setLottery({ ...lottery, prize: e.target.value })} />}
          </Field>
          <div className="row">
            <Field id="lottery-winners" label={t('studio.sales.lottery.winners')} error={message('lottery', 'winners')}>
              {(a) => <input {...a} inputMode="numeric" value={lottery.winners} onChange={(e) => setLottery({ ...lottery, winners: e.target.value })} />}
            </Field>
            <Field id="lottery-minutes" label={t('studio.sales.minutes')} error={message('lottery', 'minutes')}>
              {(a) => <input {...a} inputMode="numeric" value={lottery.minutes} onChange={(e) => setLottery({ ...lottery, minutes: e.target.value })} />}
            </Field>
          </div>
          <Field id="lottery-keyword" label={t('studio.sales.lottery.keyword')} error={message('lottery', 'keyword')}>
            {(a) => <input {...a} value={lottery.keyword} onChange={(e) => setLottery({ ...lottery, keyword: e.target.value })} />}
          </Field>
          <button type="submit" className="primary">
            {t('studio.sales.lottery.start')}
          </button>
        </form>
        <ul className="running" data-testid="lotteries">
          {(room?.lotteries ?? []).map((l) => (
            <li key={l.id}>
              <span>{l.prize}</span>
              <span>{t('studio.sales.lottery.entrants', { count: l.entrants })}</span>
              {l.drawn ? (
                <span>{t('studio.sales.lottery.drawn', { count: l.winner_ids.length })}</span>
              ) : now < l.ends_at_ms ? (
                <span>{t('studio.sales.endsIn', { time: formatCountdown(secondsLeft(l.ends_at_ms, now)) })}</span>
              ) : (
                // The relay draws by itself at the end; this is for not waiting for its sweep.
                <button type="button" onClick={() => void act(`/api/lotteries/${l.id}/draw`)}>
                  {t('studio.sales.lottery.draw')}
                </button>
              )}
            </li>
          ))}
        </ul>
      </details>
    </section>
  );
}
