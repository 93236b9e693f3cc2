import { useMemo, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { CartItem } from '../bindings/CartItem';
import type { Clip } from '../bindings/Clip';
import type { Event } from '../bindings/Event';
import { liveEvent } from '../shared/liveEvent';
import { RELAY_EVENT, useBackendEvent, useRelayRead } from './ipc';

/** `m:ss` of a clip's length. */
export function clipLength(ms: number): string {
  const s = Math.round(ms / 1000);
  return `${Math.floor(s / 60)}:${String(s % 60).padStart(2, '0')}`;
}

/** Clips grouped by product, each group newest first, products in cart order (then the rest). */
export function clipsByProduct(clips: Clip[], cart: CartItem[]): { productId: number; clips: Clip[] }[] {
  const groups = new Map<number, Clip[]>();
  for (const clip of [...clips].sort((a, b) => b.id - a.id)) {
    groups.set(clip.product_id, [...(groups.get(clip.product_id) ?? []), clip]);
  }
  const order = new Map(cart.map((item) => [item.product.id, item.position]));
  return [...groups.entries()]
    .sort(([a], [b]) => (order.get(a) ?? Infinity) - (order.get(b) ?? Infinity) || a - b)
    .map(([productId, list]) => ({ productId, clips: list }));
}

/**
 * 看讲解 clips of this live per product, cut by the relay from the recording as each pin ends:
 * what viewers replay from the 小黄车, here to check and play back.
 */
export function ReplayClips({ liveId, relayUrl, cart }: { liveId: number; relayUrl: string; cart: CartItem[] }) {
  const { t } = useTranslation();
  const [clips, setClips] = useState<Clip[]>([]);
  const [error, setError] = useState<string | null>(null);
  const [playing, setPlaying] = useState<number | null>(null);
  useRelayRead<Clip[]>(
    `/api/lives/${liveId}/clips`,
    (list) => setClips((current) => [...current, ...list.filter((c) => !current.some((x) => x.id === c.id))]),
    setError,
  );
  useBackendEvent<Event>(RELAY_EVENT, (event) => {
    const e = liveEvent(event);
    if (event.live_id !== liveId || e.kind !== 'clip.ready') return;
    const clip = e.payload.clip;
    setClips((current) => (current.some((c) => c.id === clip.id) ? current : [clip, ...current]));
  });
  const groups = useMemo(() => clipsByProduct(clips, cart), [clips, cart]);
  const titleOf = (productId: number) =>
    cart.find((item) => item.product.id === productId)?.product.title ?? t('studio.replays.removed', { id: productId });
  const time = (ms: number) => new Date(ms).toLocaleTimeString([], { hour: '2-digit', minute: '2-digit', second: '2-digit' });

  return (
    <section className="replays" aria-labelledby="replays-heading" data-testid="replays">
      <h3 id="replays-heading">{t('studio.replays.heading', { count: clips.length })}</h3>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {groups.length === 0 && <p className="muted">{t('studio.replays.empty')}</p>}
      <ul>
        {groups.map(({ productId, clips: list }) => (
          <li key={productId} data-product-id={productId}>
            <span className="title">{titleOf(productId)}</span>
            <ul className="clip-list">
              {list.map((clip) => (
                <li key={clip.id}>
                  <button
                    type="button"
                    className="link"
                    aria-pressed={playing === clip.id}
                    aria-label={t('studio.replays.play', { title: titleOf(productId), time: time(clip.starts_at_ms) })}
                    onClick={() => setPlaying(playing === clip.id ? null : clip.id)}
                  >
                    ▶ {time(clip.starts_at_ms)} · {clipLength(clip.duration_ms)}
                  </button>
                  {playing === clip.id && (
                    <video data-testid="studio-replay-video" src={`${relayUrl}${clip.url}`} controls autoPlay />
                  )}
                </li>
              ))}
            </ul>
          </li>
        ))}
      </ul>
    </section>
  );
}
