import { useEffect, useId, useRef, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { CouponClaim } from '../bindings/CouponClaim';
import type { NewOrder } from '../bindings/NewOrder';
import type { Order } from '../bindings/Order';
import type { PaymentMethod } from '../bindings/PaymentMethod';
import type { Shipping } from '../bindings/Shipping';
import { api, ApiError } from './api';
import { errorText } from './errors';
import { formatFen } from './money';
import { shippingField, validateShipping, type ShippingErrors, type ShippingField } from './shipping';

const SHIPPING_KEY = 'anchordesk.shipping';

/** One key per checkout: every retry or double tap of the same order sends it, so the relay makes one order. */
export function newIdempotencyKey(): string {
  // crypto.randomUUID needs a secure context; a merchant's relay is often plain http on a LAN.
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('');
}

function savedShipping(): Shipping {
  try {
    const saved = JSON.parse(localStorage.getItem(SHIPPING_KEY) ?? 'null') as Shipping | null;
    if (saved) return { name: saved.name ?? '', phone: saved.phone ?? '', address: saved.address ?? '' };
  } catch {
    // Nothing saved.
  }
  return { name: '', phone: '', address: '' };
}

/** Claimed, unused coupons that apply to this live and this amount, best first. */
export function usableCoupons(claims: CouponClaim[], liveId: number, subtotalFen: number, nowMs: number) {
  return claims
    .filter(
      // `== null`: the relay sends absent options as null, though the bindings say optional.
      ({ coupon, used_order_id }) =>
        used_order_id == null &&
        (coupon.live_id == null || coupon.live_id === liveId) &&
        coupon.threshold_fen <= subtotalFen &&
        coupon.valid_from_ms <= nowMs &&
        nowMs < coupon.valid_until_ms,
    )
    .sort((a, b) => b.coupon.amount_off_fen - a.coupon.amount_off_fen);
}

export interface CheckoutLine {
  skuId: number;
  title: string;
  skuName: string;
  unitPriceFen: number;
  quantity: number;
}

export function Checkout({
  liveId,
  token,
  orderKey,
  line,
  now,
  onPlaced,
  onBack,
}: {
  liveId: number;
  token: string;
  /** Sent with the order; the same key for every attempt at the same order. */
  orderKey: string;
  line: CheckoutLine;
  now: number;
  onPlaced: (order: Order) => void;
  onBack: () => void;
}) {
  const { t } = useTranslation();
  const formId = useId();
  const [shipping, setShipping] = useState<Shipping>(savedShipping);
  const [errors, setErrors] = useState<ShippingErrors>({});
  const [serverErrors, setServerErrors] = useState<Partial<Record<ShippingField, string>>>({});
  const [failure, setFailure] = useState<string>();
  const [claims, setClaims] = useState<CouponClaim[]>([]);
  const [claimId, setClaimId] = useState<number | 'none'>();
  const busy = useRef(false);
  const [sending, setSending] = useState(false);
  const subtotal = line.unitPriceFen * line.quantity;
  const usable = usableCoupons(claims, liveId, subtotal, now);
  const chosen = claimId === 'none' ? undefined : (usable.find((c) => c.id === claimId) ?? usable[0]);
  const total = Math.max(0, subtotal - (chosen?.coupon.amount_off_fen ?? 0));

  // The address is kept on this phone as it is typed: going back to the product, or the
  // next order, finds it filled in.
  useEffect(() => {
    try {
      localStorage.setItem(SHIPPING_KEY, JSON.stringify(shipping));
    } catch {
      // Not remembered (private mode).
    }
  }, [shipping]);

  useEffect(() => {
    api<CouponClaim[]>('/api/me/coupons', { token })
      .then(setClaims)
      .catch(() => setClaims([]));
  }, [token]);

  const change = (field: ShippingField, value: string) => {
    setShipping((s) => ({ ...s, [field]: value }));
    setErrors((e) => ({ ...e, [field]: undefined }));
    setServerErrors((e) => ({ ...e, [field]: undefined }));
  };

  const submit = async (event: FormEvent) => {
    event.preventDefault();
    // A second tap while the first is on its way does nothing; the key covers retries.
    if (busy.current) return;
    const found = validateShipping(shipping);
    setErrors(found);
    if (Object.keys(found).length > 0) {
      document.getElementById(`${formId}-${Object.keys(found)[0]}`)?.focus();
      return;
    }
    busy.current = true;
    setSending(true);
    setFailure(undefined);
    const body: NewOrder = {
      live_id: liveId,
      items: [{ sku_id: line.skuId, quantity: line.quantity }],
      shipping: { name: shipping.name.trim(), phone: shipping.phone.trim(), address: shipping.address.trim() },
      coupon_claim_id: chosen?.id,
    };
    try {
      onPlaced(await api<Order>('/api/orders', { token, body, headers: { 'idempotency-key': orderKey } }));
    } catch (e) {
      const field = e instanceof ApiError ? shippingField(e.field) : undefined;
      if (field && e instanceof ApiError) setServerErrors({ [field]: e.message });
      else setFailure(errorText(t, e));
    } finally {
      busy.current = false;
      setSending(false);
    }
  };

  const input = (field: ShippingField, type: string, autoComplete: string) => {
    const message = errors[field] ? t(errors[field]) : serverErrors[field];
    const id = `${formId}-${field}`;
    return (
      <div className="field">
        <label htmlFor={id}>{t(`viewer.checkout.${field}`)}</label>
        {field === 'address' ? (
          <textarea
            id={id}
            value={shipping.address}
            autoComplete={autoComplete}
            aria-invalid={Boolean(message)}
            aria-describedby={message ? `${id}-error` : undefined}
            onChange={(e) => change(field, e.target.value)}
          />
        ) : (
          <input
            id={id}
            type={type}
            value={shipping[field]}
            autoComplete={autoComplete}
            inputMode={field === 'phone' ? 'tel' : undefined}
            aria-invalid={Boolean(message)}
            aria-describedby={message ? `${id}-error` : undefined}
            onChange={(e) => change(field, e.target.value)}
          />
        )}
        {message && (
          <p className="field-error" id={`${id}-error`} role="alert">
            {message}
          </p>
        )}
      </div>
    );
  };

  return (
    <form className="checkout" onSubmit={(e) => void submit(e)} noValidate aria-label={t('viewer.checkout.title')}>
      <h3>{t('viewer.checkout.title')}</h3>
      <p className="line">
        {line.title} · {line.skuName} × {line.quantity}
        <span>{formatFen(subtotal)}</span>
      </p>
      <div className="field">
        <label htmlFor={`${formId}-coupon`}>{t('viewer.checkout.coupon')}</label>
        <select
          id={`${formId}-coupon`}
          value={chosen?.id ?? 'none'}
          onChange={(e) => setClaimId(e.target.value === 'none' ? 'none' : Number(e.target.value))}
        >
          <option value="none">{usable.length ? t('viewer.checkout.noCoupon') : t('viewer.checkout.noUsableCoupon')}</option>
          {usable.map((c) => (
            <option key={c.id} value={c.id}>
              {c.coupon.title} (-{formatFen(c.coupon.amount_off_fen)})
            </option>
          ))}
        </select>
      </div>
      {input('name', 'text', 'name')}
      {input('phone', 'tel', 'tel')}
      {input('address', 'text', 'street-address')}
      <p className="total">
        {t('viewer.checkout.total')} <strong data-testid="checkout-total">{formatFen(total)}</strong>
      </p>
      {failure && (
        <p className="form-error" role="alert">
          {failure}
        </p>
      )}
      <div className="form-actions">
        <button type="button" onClick={onBack}>
          {t('viewer.back')}
        </button>
        <button type="submit" className="primary" disabled={sending}>
          {sending ? t('viewer.checkout.placing') : t('viewer.checkout.place')}
        </button>
      </div>
    </form>
  );
}

/** After ordering: the order, what it costs and how to pay (a pay step where a gateway takes it). */
export function Placed({ order: placed, token, onClose }: { order: Order; token: string; onClose: () => void }) {
  const { t } = useTranslation();
  const [order, setOrder] = useState(placed);
  const [methods, setMethods] = useState<PaymentMethod[]>([]);
  const [paying, setPaying] = useState(false);
  const [failure, setFailure] = useState<string>();
  useEffect(() => {
    api<PaymentMethod[]>('/api/payments/methods')
      .then(setMethods)
      .catch(() => setMethods([]));
  }, []);
  const pay = async (method: PaymentMethod) => {
    setPaying(true);
    setFailure(undefined);
    try {
      setOrder(await api<Order>(`/api/payments/${method.provider}/sandbox/${order.id}`, { method: 'POST', token }));
    } catch (e) {
      setFailure(errorText(t, e));
    } finally {
      setPaying(false);
    }
  };
  return (
    <section className="placed" aria-live="polite" data-testid="order-placed">
      <h3>{t('viewer.checkout.placed', { id: order.id })}</h3>
      <p>
        {t('viewer.orders.total')} <strong>{formatFen(order.total_fen)}</strong> ·{' '}
        <span data-testid="order-status">{t(`viewer.orders.status.${order.status}`)}</span>
      </p>
      {order.status === 'created' && (
        <>
          <h4>{t('viewer.checkout.howToPay')}</h4>
          <ul className="pay-methods">
            {methods.map((m) => (
              <li key={m.provider}>
                {m.instructions}
                {m.sandbox && (
                  <button type="button" className="primary" disabled={paying} onClick={() => void pay(m)}>
                    {t('viewer.checkout.sandboxPay', { amount: formatFen(order.total_fen) })}
                  </button>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      {failure && (
        <p className="form-error" role="alert">
          {failure}
        </p>
      )}
      <button type="button" className="primary" onClick={onClose}>
        {t('viewer.done')}
      </button>
    </section>
  );
}
