import { useTranslation } from 'react-i18next';
import type { CartItem } from '../bindings/CartItem';
import type { Clip } from '../bindings/Clip';
import { Sheet } from './Sheet';

/** 看讲解: the anchor's presentation of one product, replayed from the live's recording. */
export function ReplaySheet({
  clip,
  item,
  onBuy,
  onClose,
}: {
  clip: Clip;
  item: CartItem;
  onBuy: (item: CartItem) => void;
  onClose: () => void;
}) {
  const { t } = useTranslation();
  return (
    <Sheet label={t('viewer.cart.replayOf', { title: item.product.title })} className="replay-sheet" onClose={onClose}>
      {/* A click opened it, so it may start with sound; the relay answers range requests. */}
      <video data-testid="replay-video" src={clip.url} controls autoPlay playsInline preload="auto" />
      <button type="button" className="primary" onClick={() => onBuy(item)}>
        {t('viewer.product.buyNow')}
      </button>
    </Sheet>
  );
}
