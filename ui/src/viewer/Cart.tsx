import { useTranslation } from 'react-i18next';
import type { CartItem } from '../bindings/CartItem';
import type { Clip } from '../bindings/Clip';
import type { FlashSale } from '../bindings/FlashSale';
import type { Product } from '../bindings/Product';
import { formatFen } from './money';
import { headlineSale, unitsLeft } from './room';
import { Sheet } from './Sheet';

/** 小黄车: the live's products numbered as the anchor calls them ("3号链接"). */
export function CartDrawer({
  items,
  pinnedId,
  now,
  salesFor,
  clipFor,
  onOpen,
  onReplay,
  onClose,
}: {
  items: CartItem[];
  pinnedId?: number;
  salesFor: (product: Product) => FlashSale[];
  now: number;
  /** The product's latest 看讲解 clip. */
  clipFor: (productId: number) => Clip | undefined;
  onOpen: (item: CartItem) => void;
  onReplay: (clip: Clip, item: CartItem) => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Sheet label={t('viewer.cart.title')} onClose={onClose}>
      {items.length === 0 ? (
        <p className="empty">{t('viewer.cart.empty')}</p>
      ) : (
        <ol className="cart-list">
          {items.map((item) => {
            const sales = salesFor(item.product);
            // Only a sale that has started sets the price; one still to come is a tag.
            const headline = headlineSale(sales, now);
            const sale = headline && headline.starts_at_ms <= now ? headline : undefined;
            const left = unitsLeft(item.product, sales, now);
            const clip = clipFor(item.product.id);
            return (
              <li key={item.product.id} className="cart-row">
                <button type="button" className="cart-item" onClick={() => onOpen(item)}>
                  <span className="position">{item.position}</span>
                  {item.product.images[0] && <img src={item.product.images[0].url} alt="" width={56} height={56} />}
                  <span className="cart-title">{item.product.title}</span>
                  <span className="cart-price">
                    {sale ? (
                      <>
                        <strong className="sale-price">{formatFen(sale.sale_price_fen)}</strong>{' '}
                        <em className="tag">{t('viewer.cart.flashSale')}</em>
                      </>
                    ) : (
                      formatFen(item.product.price_fen)
                    )}
                  </span>
                  <span className="cart-status">
                    {item.product.id === pinnedId && <em className="tag live-tag">{t('viewer.cart.presenting')}</em>}
                    {left === 0 && <em className="tag">{t('viewer.card.soldOut')}</em>}
                  </span>
                </button>
                {clip && (
                  <button
                    type="button"
                    className="replay-button"
                    data-testid="replay"
                    data-product-id={item.product.id}
                    aria-label={t('viewer.cart.replayOf', { title: item.product.title })}
                    onClick={() => onReplay(clip, item)}
                  >
                    ▶ {t('viewer.cart.replay')}
                  </button>
                )}
              </li>
            );
          })}
        </ol>
      )}
    </Sheet>
  );
}
