import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CartItem } from '../bindings/CartItem';
import type { Clip } from '../bindings/Clip';
import type { Live } from '../bindings/Live';
import type { Product } from '../bindings/Product';
import { LanguageSwitch } from '../shared/LanguageSwitch';
import { api } from './api';
import { CartDrawer } from './Cart';
import { CommentInput, CommentList, Danmaku } from './Chat';
import { LikeButton } from './Likes';
import { Coupons, LotteryBanner } from './Offers';
import { MyOrders } from './Orders';
import { PinnedCard } from './PinnedCard';
import { Player } from './Player';
import { ProductSheet } from './ProductSheet';
import { ReplaySheet } from './Replay';
import { latestClip, pinnedItem, salesFor } from './room';
import { ensureViewer, type ViewerSession } from './session';
import { useRelayNow, useRoom } from './useRoom';

/** `/live/12` → 12; anything else → undefined (the page then opens the current live). */
export function liveIdFromPath(path: string): number | undefined {
  const match = /^\/live\/(\d+)\/?$/.exec(path);
  return match ? Number(match[1]) : undefined;
}

/** The live to show at `/`: the one on air, else the newest. */
export function currentLive(lives: Live[]): Live | undefined {
  return lives.find((l) => l.status === 'live') ?? lives[0];
}

type Target = { kind: 'loading' } | { kind: 'none' } | { kind: 'unreachable' } | { kind: 'live'; id: number };
type Sheet =
  | { kind: 'cart' }
  | { kind: 'product'; item: CartItem }
  | { kind: 'replay'; clip: Clip; item: CartItem }
  | { kind: 'orders' }
  | undefined;

export function App() {
  const { t, i18n } = useTranslation();
  const [target, setTarget] = useState<Target>(() => {
    const id = liveIdFromPath(window.location.pathname);
    return id === undefined ? { kind: 'loading' } : { kind: 'live', id };
  });
  const [viewer, setViewer] = useState<ViewerSession>();
  const [sheet, setSheet] = useState<Sheet>();
  const liveId = target.kind === 'live' ? target.id : undefined;
  const { room, load, socket } = useRoom(liveId);
  // Countdowns, coupon validity and lottery results all read this clock: it ticks every second.
  const ticked = useRelayNow(room?.clockOffsetMs ?? 0);
  const now = Math.max(ticked, room?.seenServerMs ?? 0);

  useEffect(() => {
    document.title = room ? `${room.live.title} · ${t('viewer.title')}` : t('viewer.title');
  }, [t, i18n.language, room]);

  useEffect(() => {
    if (target.kind !== 'loading') return;
    api<Live[]>('/api/lives')
      .then((lives) => {
        const live = currentLive(lives);
        setTarget(live ? { kind: 'live', id: live.id } : { kind: 'none' });
      })
      .catch(() => setTarget({ kind: 'unreachable' }));
  }, [target.kind]);

  // The viewer account; a failed attempt (the relay restarting, a flaky network) is retried.
  const [sessionTry, setSessionTry] = useState(0);
  useEffect(() => {
    let retry: ReturnType<typeof setTimeout> | undefined;
    ensureViewer()
      .then(setViewer)
      .catch(() => {
        retry = setTimeout(() => setSessionTry((n) => n + 1), 3000);
      });
    return () => clearTimeout(retry);
  }, [sessionTry]);

  const openProduct = (item: CartItem) => {
    setSheet({ kind: 'product', item });
    if (viewer && liveId !== undefined) {
      void api(`/api/lives/${liveId}/clicks`, { token: viewer.token, body: { product_id: item.product.id } }).catch(
        () => undefined,
      );
    }
  };

  const unreachable = target.kind === 'unreachable' || load.kind === 'unreachable';
  const pinned = room && pinnedItem(room);
  // The cart's fresh copy while the product is in it; the opened one if the anchor removes it,
  // so a buyer in the middle of checkout keeps the form.
  const sheetItem =
    sheet?.kind === 'product'
      ? (room?.live.cart.find((i) => i.product.id === sheet.item.product.id) ?? sheet.item)
      : undefined;
  const salesOf = (product: Product) => (room ? salesFor(room, product, now) : []);
  const lottery = room?.lotteries[0];

  return (
    <div className="viewer">
      <header className="viewer-top">
        <h1>{room?.live.title ?? t('viewer.title')}</h1>
        {room && (
          <span className="viewer-count" data-testid="viewer-count">
            {t('viewer.watching', { count: room.viewers })}
          </span>
        )}
        <LanguageSwitch />
      </header>
      {socket === 'reconnecting' && (
        <p className="reconnecting" role="status">
          {t('viewer.reconnecting')}
        </p>
      )}
      <main className="stage">
        {unreachable && <p role="alert">{t('viewer.relayUnreachable')}</p>}
        {(target.kind === 'none' || load.kind === 'missing') && <p className="offline">{t('viewer.noLive')}</p>}
        {room && room.live.status === 'ended' && <p className="offline">{t('viewer.ended')}</p>}
        {room && room.live.status !== 'ended' && (
          <Player stream={room.live.stream_name}>
            <Danmaku comments={room.fresh} />
            {lottery && (!lottery.drawn || now - lottery.ends_at_ms < 60_000) && (
              <LotteryBanner key={lottery.id} lottery={lottery} viewerId={viewer?.id} token={viewer?.token} now={now} />
            )}
            {pinned && (
              <PinnedCard
                item={pinned}
                sellingPoint={room.live.pin?.selling_point ?? ''}
                sales={salesOf(pinned.product)}
                now={now}
                lowStockThreshold={room.live.low_stock_threshold}
                onBuy={() => openProduct(pinned)}
              />
            )}
          </Player>
        )}
        {room?.live.status === 'scheduled' && <p className="offline">{t('viewer.offline')}</p>}
      </main>
      {room && liveId !== undefined && (
        <>
          <nav className="actions" aria-label={t('viewer.actions')}>
            <button type="button" className="cart-button" onClick={() => setSheet({ kind: 'cart' })}>
              {t('viewer.cart.open', { count: room.live.cart.length })}
            </button>
            <button type="button" onClick={() => setSheet({ kind: 'orders' })} disabled={!viewer}>
              {t('viewer.orders.title')}
            </button>
            <LikeButton liveId={liveId} token={viewer?.token} total={room.likes} />
          </nav>
          <Coupons coupons={room.coupons} token={viewer?.token} now={now} />
          <CommentList comments={room.comments} />
          <CommentInput liveId={liveId} token={viewer?.token} />
          {sheet?.kind === 'cart' && (
            <CartDrawer
              items={room.live.cart}
              pinnedId={room.live.pin?.product_id}
              salesFor={salesOf}
              now={now}
              clipFor={(id) => latestClip(room.clips, id)}
              onOpen={openProduct}
              onReplay={(clip, item) => setSheet({ kind: 'replay', clip, item })}
              onClose={() => setSheet(undefined)}
            />
          )}
          {sheet?.kind === 'replay' && (
            <ReplaySheet
              key={sheet.clip.id}
              clip={sheet.clip}
              item={sheet.item}
              onBuy={openProduct}
              onClose={() => setSheet(undefined)}
            />
          )}
          {sheetItem && (
            <ProductSheet
              key={sheetItem.product.id}
              item={sheetItem}
              liveId={liveId}
              token={viewer?.token}
              sales={salesOf(sheetItem.product)}
              now={now}
              onPlaced={() => undefined}
              onClose={() => setSheet(undefined)}
            />
          )}
          {sheet?.kind === 'orders' && viewer && <MyOrders token={viewer.token} onClose={() => setSheet(undefined)} />}
        </>
      )}
      <footer>{unreachable && <small>{t('viewer.retryLater')}</small>}</footer>
    </div>
  );
}

