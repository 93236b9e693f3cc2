import { useTranslation } from 'react-i18next';
import type { CartItem } from '../bindings/CartItem';
import type { FlashSale } from '../bindings/FlashSale';
import { formatCountdown, formatFen, secondsLeft } from './money';
import { headlineSale, isLowStock, unitsLeft } from './room';

/** The 讲解 card: what the anchor is presenting now, over the bottom of the video. */
export function PinnedCard({
  item,
  sellingPoint,
  sales,
  now,
  lowStockThreshold,
  onBuy,
}: {
  item: CartItem;
  sellingPoint: string;
  /** Open sales on the product's SKUs. */
  sales: FlashSale[];
  now: number;
  /** The live's 仅剩 N 件 threshold. */
  lowStockThreshold: number;
  onBuy: () => void;
}) {
  const { t } = useTranslation();
  const { product } = item;
  const sale = headlineSale(sales, now);
  const left = unitsLeft(product, sales, now);
  const started = sale && now >= sale.starts_at_ms;
  const image = product.images[0];
  return (
    <aside className="pinned-card" data-testid="pinned-card" aria-label={t('viewer.card.label')}>
      {image ? <img src={image.url} alt="" width={72} height={72} /> : <div className="no-image" />}
      <div className="card-body">
        <p className="card-title">
          <span className="position">{item.position}</span> {product.title}
        </p>
        {sellingPoint && <p className="selling-point">{sellingPoint}</p>}
        <p className="card-price">
          {sale ? (
            <>
              <strong className="sale-price">{formatFen(sale.sale_price_fen)}</strong>{' '}
              <s>{formatFen(product.price_fen)}</s>{' '}
              <span className="countdown" data-testid="sale-countdown">
                {started
                  ? t('viewer.card.endsIn', { time: formatCountdown(secondsLeft(sale.ends_at_ms, now)) })
                  : t('viewer.card.startsIn', { time: formatCountdown(secondsLeft(sale.starts_at_ms, now)) })}
              </span>
            </>
          ) : (
            <strong>{formatFen(product.price_fen)}</strong>
          )}
        </p>
        {left === 0 ? (
          <p className="stock-low">{t('viewer.card.soldOut')}</p>
        ) : (
          isLowStock(left, { low_stock_threshold: lowStockThreshold }) && <p className="stock-low">{t('viewer.card.onlyLeft', { count: left })}</p>
        )}
      </div>
      <button type="button" className="buy" onClick={onBuy} disabled={left === 0}>
        {sale ? t('viewer.card.grab') : t('viewer.card.buy')}
      </button>
    </aside>
  );
}
