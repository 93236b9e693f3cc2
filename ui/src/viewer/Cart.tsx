import { useTranslation } from 'react-i18next';
import type { CartItem } from '../bindings/CartItem';
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
  onOpen,
  onClose,
}: {
  items: CartItem[];
  pinnedId?: number;
  salesFor: (product: Product) => FlashSale[];
  now: number;
  onOpen: (item: CartItem) => void;
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
            return (
              <li key={item.product.id}>
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
              </li>
            );
          })}
        </ol>
      )}
    </Sheet>
  );
}
