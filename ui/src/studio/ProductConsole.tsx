import { useCallback, useEffect, useLayoutEffect, useMemo, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Event } from '../bindings/Event';
import { liveEvent } from '../shared/liveEvent';
import type { Live } from '../bindings/Live';
import type { Product } from '../bindings/Product';
import { ApiError } from '../viewer/api';
import { formatFen } from '../viewer/money';
import { hotkeyAction } from './hotkeys';
import { CardRules, DEFAULT_LOW_STOCK } from './CardRules';
import { ReplayClips } from './ReplayClips';
import { SkuEditor } from './SkuEditor';
import { useUndo } from './Undo';
import { useStudioMode } from './useStudio';
import { command, RELAY_EVENT, relayCall, useBackendEvent, useRelayRead } from './ipc';


/** Events after which the live (its cart and pin) is read again. */
const LIVE_EVENTS = new Set(['cart.changed', 'pin.changed', 'stock.changed', 'live.status']);
/** How long a pin suggestion stays on the cart item without an answer. */
export const SUGGESTION_MS = 60_000;

interface Suggestion {
  viewers: number;
  atMs: number;
}

/**
 * The 中控台's product side: the catalogue with search, this live's 小黄车 numbered as the
 * anchor calls them, and 讲解 pin/unpin by click or hotkey (1–9, 0 unpins).
 */
export function ProductConsole({ liveId, relayUrl }: { liveId: number; relayUrl: string }) {
  const { t } = useTranslation();
  const [live, setLive] = useState<Live | null>(null);
  const [catalogue, setCatalogue] = useState<Product[]>([]);
  const [query, setQuery] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [editing, setEditing] = useState<number | null>(null);
  const withVideo = useStudioMode() === 'studio';
  // Products viewers keep asking about (the relay's `assist.suggested`): shown, never pinned here.
  const [asked, setAsked] = useState<Map<number, Suggestion>>(new Map());
  const dismiss = (productId: number) =>
    setAsked((current) => {
      const next = new Map(current);
      next.delete(productId);
      return next;
    });

  // The reads on mount must not overwrite a newer answer: loading the demo catalogue right
  // after the window opened got its products replaced by the mount's empty list.
  const newer = useRef({ live: false, catalogue: false });
  const showLive = useCallback((next: Live) => {
    newer.current.live = true;
    setLive(next);
  }, []);
  const reloadLive = useCallback(async () => {
    showLive(await relayCall<Live>('GET', `/api/lives/${liveId}`));
  }, [liveId, showLive]);
  const reloadCatalogue = useCallback(async () => {
    const products = await relayCall<Product[]>('GET', '/api/products');
    newer.current.catalogue = true;
    setCatalogue(products);
  }, []);

  const run = useCallback(async (action: () => Promise<unknown>, done?: string) => {
    setError(null);
    try {
      await action();
      if (done) setNotice(done);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  }, []);

  useRelayRead<Live>(`/api/lives/${liveId}`, (l) => newer.current.live || setLive(l), setError);
  useRelayRead<Product[]>('/api/products', (p) => newer.current.catalogue || setCatalogue(p), setError);

  useBackendEvent<Event>(RELAY_EVENT, (event) => {
    if (event.live_id !== liveId) return;
    if (LIVE_EVENTS.has(event.kind)) void run(reloadLive);
    const e = liveEvent(event);
    if (e.kind === 'assist.suggested') {
      const { product_id, viewers } = e.payload;
      setAsked((current) => new Map(current).set(product_id, { viewers, atMs: event.created_at_ms }));
    }
  });

  const cart = useMemo(() => live?.cart ?? [], [live]);
  const inCart = new Set(cart.map((item) => item.product.id));
  const pinnedId = live?.pin?.product_id;
  const pinnedProduct = cart.find((item) => item.product.id === pinnedId)?.product;
  const newestEvent = Math.max(0, ...[...asked.values()].map((s) => s.atMs));
  const suggestionFor = (productId: number) => {
    const s = asked.get(productId);
    // Answered by pinning it, or outdated by a suggestion a minute newer.
    return s && productId !== pinnedId && newestEvent - s.atMs < SUGGESTION_MS ? s : undefined;
  };

  const pin = useCallback(
    (productId: number, position: number) =>
      run(async () => {
        showLive(await relayCall<Live>('POST', `/api/lives/${liveId}/pin`, { product_id: productId }));
      }, t('studio.products.pinned', { position })),
    [liveId, run, showLive, t],
  );
  const unpin = useCallback(
    () =>
      run(async () => {
        await relayCall('DELETE', `/api/lives/${liveId}/pin`);
        await reloadLive();
      }, t('studio.products.unpinned')),
    [liveId, reloadLive, run, t],
  );

  const offerUndo = useUndo();
  const remove = async (product: Product, position: number) => {
    let removed = false;
    await run(async () => {
      showLive(await relayCall<Live>('DELETE', `/api/lives/${liveId}/cart/${product.id}`));
      removed = true;
    });
    if (!removed) return;
    offerUndo({
      message: t('studio.undo.productRemoved', { position, title: product.title }),
      // Back at its number in the cart as it is by then (an assistant may have changed it).
      undo: async () => {
        try {
          const now = await relayCall<Live>('GET', `/api/lives/${liveId}`);
          const ids = now.cart.map((item) => item.product.id).filter((id) => id !== product.id);
          ids.splice(Math.min(position - 1, ids.length), 0, product.id);
          showLive(await relayCall<Live>('PUT', `/api/lives/${liveId}/cart`, { product_ids: ids }));
          return null;
        } catch (e) {
          return e instanceof ApiError ? e.message : String(e);
        }
      },
    });
  };

  // One listener for the console's life that always acts on the newest cart and pin: a key
  // pressed right after a pin must not meet a listener still holding the previous state.
  const onHotkey = useRef<(event: KeyboardEvent) => void>(() => undefined);
  // A layout effect: updated in the same commit that shows the new pin, before any key.
  useLayoutEffect(() => {
    onHotkey.current = (event) => {
      const action = hotkeyAction(event);
      if (!action) return;
      event.preventDefault();
      if (action.kind === 'unpin') {
        if (pinnedId != null) void unpin();
        return;
      }
      const item = cart[action.position - 1];
      if (item) void pin(item.product.id, item.position);
      else setError(t('studio.products.noSuchPosition', { position: action.position }));
    };
  });
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => onHotkey.current(event);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  const matches = catalogue.filter(
    (p) => !inCart.has(p.id) && p.title.toLowerCase().includes(query.trim().toLowerCase()),
  );

  return (
    <section className="panel console" aria-labelledby="console-heading">
      <h2 id="console-heading">{t('studio.products.heading')}</h2>
      <p className="muted">{t('studio.products.hotkeys')}</p>
      {error && (
        <p role="alert" className="error" data-testid="console-error">
          {error}
        </p>
      )}
      {notice && !error && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}

      {pinnedProduct && (
        <aside className="prompter" aria-label={t('studio.prompter.label')} data-testid="prompter">
          <p className="prompter-title">{pinnedProduct.title}</p>
          {live?.pin?.selling_point && <p className="prompter-point">{live.pin.selling_point}</p>}
          {pinnedProduct.description && <p className="prompter-body">{pinnedProduct.description}</p>}
          <p className="muted">{t('studio.prompter.onlyYou')}</p>
        </aside>
      )}

      <h3>{t('studio.products.cart', { count: cart.length })}</h3>
      {cart.length === 0 && <p className="muted">{t('studio.products.cartEmpty')}</p>}
      <ol className="cart" data-testid="cart">
        {cart.map((item) => {
          const pinned = item.product.id === pinnedId;
          const stock = item.product.skus.reduce((sum, s) => sum + s.stock, 0);
          const suggestion = suggestionFor(item.product.id);
          return (
            <li
              key={item.product.id}
              className={[pinned && 'pinned', suggestion && 'asked'].filter(Boolean).join(' ') || undefined}
              data-product-id={item.product.id}
            >
              <span className="position">{item.position}</span>
              {item.product.images[0] && (
                <img src={`${relayUrl}${item.product.images[0].url}`} alt="" width={40} height={40} />
              )}
              <span className="title">{item.product.title}</span>
              <span className="price">{formatFen(item.product.price_fen)}</span>
              <span className={stock <= (live?.low_stock_threshold ?? DEFAULT_LOW_STOCK) ? 'stock low' : 'stock'}>{t('studio.products.stock', { count: stock })}</span>
              {pinned ? (
                <button type="button" className="primary" onClick={() => void unpin()} aria-pressed="true">
                  {t('studio.products.unpin')}
                </button>
              ) : (
                <button
                  type="button"
                  onClick={() => void pin(item.product.id, item.position)}
                  aria-pressed="false"
                  aria-label={t('studio.products.pinN', { position: item.position, title: item.product.title })}
                >
                  {t('studio.products.pin')}
                </button>
              )}
              <button
                type="button"
                className="link"
                aria-expanded={editing === item.product.id}
                aria-label={t('studio.products.editN', { title: item.product.title })}
                onClick={() => setEditing(editing === item.product.id ? null : item.product.id)}
              >
                {t('studio.products.edit')}
              </button>
              <button
                type="button"
                className="link"
                aria-label={t('studio.products.removeN', { title: item.product.title })}
                onClick={() => void remove(item.product, item.position)}
              >
                {t('studio.products.remove')}
              </button>
              {suggestion && (
                <p className="suggestion" role="status" data-testid="pin-suggestion">
                  {t('studio.products.asked', { count: suggestion.viewers, position: item.position })}{' '}
                  <button type="button" className="primary" onClick={() => void pin(item.product.id, item.position)}>
                    {t('studio.products.pinSuggested')}
                  </button>{' '}
                  <button type="button" className="link" onClick={() => dismiss(item.product.id)}>
                    {t('studio.products.dismiss')}
                  </button>
                </p>
              )}
              {editing === item.product.id && (
                <SkuEditor product={item.product} onSaved={() => void run(reloadLive)} />
              )}
            </li>
          );
        })}
      </ol>

      <ReplayClips liveId={liveId} relayUrl={relayUrl} cart={cart} />

      {withVideo && <CardRules live={live ?? undefined} onLive={setLive} />}

      <h3>{t('studio.products.catalogue')}</h3>
      <input
        type="search"
        value={query}
        onChange={(e) => setQuery(e.target.value)}
        placeholder={t('studio.products.search')}
        aria-label={t('studio.products.search')}
      />
      {catalogue.length === 0 && (
        <p>
          {t('studio.products.catalogueEmpty')}{' '}
          <button
            type="button"
            data-testid="load-demo"
            onClick={() =>
              void run(async () => {
                await command('load_demo_products');
                await reloadCatalogue();
              })
            }
          >
            {t('studio.products.loadDemo')}
          </button>
        </p>
      )}
      <ul className="catalogue" data-testid="catalogue">
        {matches.map((p) => (
          <li key={p.id}>
            <span className="title">{p.title}</span>
            <span className="price">{formatFen(p.price_fen)}</span>
            <button
              type="button"
              aria-label={t('studio.products.addN', { title: p.title })}
              onClick={() =>
                void run(async () => {
                  showLive(await relayCall<Live>('POST', `/api/lives/${liveId}/cart`, { product_id: p.id }));
                })
              }
            >
              {t('studio.products.add')}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
