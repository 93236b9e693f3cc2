import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CartItem } from '../bindings/CartItem';
import type { FlashSale } from '../bindings/FlashSale';
import type { Order } from '../bindings/Order';
import { Checkout, newIdempotencyKey, Placed } from './Checkout';
import { formatCountdown, formatFen, secondsLeft } from './money';
import { headlineSale, runningSale } from './room';
import { Sheet } from './Sheet';

/** Most units one order line takes from the page (the relay has its own limits). */
const MAX_QUANTITY = 99;

type Step = { kind: 'detail' } | { kind: 'checkout' } | { kind: 'placed'; order: Order };

/** A product's detail with its SKU choice, then checkout, inside the room. */
export function ProductSheet({
  item,
  liveId,
  token,
  sales,
  now,
  onPlaced,
  onClose,
}: {
  item: CartItem;
  liveId: number;
  token?: string;
  /** Open sales on the product's SKUs. */
  sales: FlashSale[];
  now: number;
  onPlaced: (order: Order) => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  const { product } = item;
  /** Units a buyer of this SKU can get now: the running sale's, else the SKU's stock. */
  const unitsOf = (skuId: number) => {
    const sale = runningSale(sales, skuId, now);
    return sale ? sale.remaining : (product.skus.find((s) => s.id === skuId)?.stock ?? 0);
  };
  const [skuId, setSkuId] = useState<number | undefined>(() =>
    product.skus.length === 1
      ? product.skus[0]!.id
      : (headlineSale(sales, now)?.sku_id ?? product.skus.find((s) => unitsOf(s.id) > 0)?.id),
  );
  const [wanted, setWanted] = useState(1);
  const [step, setStep] = useState<Step>({ kind: 'detail' });
  // One key until an order is confirmed: going back and buying again after a lost answer
  // resends the same order instead of making a second one.
  const [orderKey, setOrderKey] = useState(newIdempotencyKey);
  const sku = product.skus.find((s) => s.id === skuId);
  const onSale = sku && runningSale(sales, sku.id, now);
  const available = sku ? unitsOf(sku.id) : 0;
  const maxQuantity = Math.max(1, Math.min(MAX_QUANTITY, available, onSale ? onSale.per_user_limit : MAX_QUANTITY));
  // Stock can fall while the sheet is open; never send more than is left.
  const quantity = Math.min(wanted, maxQuantity);
  const unitPrice = onSale ? onSale.sale_price_fen : (sku?.price_fen ?? product.price_fen);

  return (
    <Sheet
      label={product.title}
      className="product-sheet"
      onClose={onClose}
      heading={
        <>
          <span className="position">{item.position}</span> {product.title}
        </>
      }
    >
      {step.kind === 'detail' && (
        <div className="detail">
          {product.images[0] && <img className="hero" src={product.images[0].url} alt={product.title} />}
          <p className="price-line">
            <strong className={onSale ? 'sale-price' : undefined}>{formatFen(unitPrice)}</strong>
            {onSale && (
              <>
                {' '}
                <s>{formatFen(sku?.price_fen ?? product.price_fen)}</s>{' '}
                <span className="countdown">
                  {t('viewer.card.endsIn', { time: formatCountdown(secondsLeft(onSale.ends_at_ms, now)) })}
                </span>
              </>
            )}
          </p>
          {product.description && <p className="description">{product.description}</p>}
          <fieldset className="skus">
            <legend>{t('viewer.product.spec')}</legend>
            {product.skus.map((s) => (
              <label key={s.id} className={s.id === skuId ? 'sku chosen' : 'sku'}>
                <input
                  type="radio"
                  name="sku"
                  value={s.id}
                  checked={s.id === skuId}
                  disabled={unitsOf(s.id) === 0}
                  onChange={() => {
                    setSkuId(s.id);
                    setWanted(1);
                  }}
                />
                {s.name}
                {unitsOf(s.id) === 0 ? ` (${t('viewer.card.soldOut')})` : ''}
              </label>
            ))}
          </fieldset>
          <div className="quantity">
            <span id="quantity-label">{t('viewer.product.quantity')}</span>
            <button
              type="button"
              aria-label={t('viewer.product.less')}
              onClick={() => setWanted(Math.max(1, quantity - 1))}
              disabled={quantity <= 1}
            >
              −
            </button>
            <output aria-labelledby="quantity-label">{quantity}</output>
            <button
              type="button"
              aria-label={t('viewer.product.more')}
              onClick={() => setWanted(Math.min(maxQuantity, quantity + 1))}
              disabled={quantity >= maxQuantity}
            >
              +
            </button>
          </div>
          {!token && <p className="form-error">{t('viewer.errors.session')}</p>}
          <button
            type="button"
            className="primary wide"
            disabled={!sku || available === 0 || !token}
            onClick={() => setStep({ kind: 'checkout' })}
          >
            {!sku ? t('viewer.product.chooseSpec') : available === 0 ? t('viewer.card.soldOut') : t('viewer.product.buyNow')}
          </button>
        </div>
      )}
      {step.kind === 'checkout' && sku && token && (
        <Checkout
          liveId={liveId}
          token={token}
          orderKey={orderKey}
          now={now}
          line={{ skuId: sku.id, title: product.title, skuName: sku.name, unitPriceFen: unitPrice, quantity }}
          onBack={() => setStep({ kind: 'detail' })}
          onPlaced={(order) => {
            setOrderKey(newIdempotencyKey());
            setStep({ kind: 'placed', order });
            onPlaced(order);
          }}
        />
      )}
      {step.kind === 'placed' && token && <Placed order={step.order} token={token} onClose={onClose} />}
    </Sheet>
  );
}
