import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';

/** Taps are sent once a second from the first unsent one, as one count (the relay aggregates them too). */
const FLUSH_MS = 1000;
/** The most one request may carry (the relay takes 1–100). */
const MAX_BATCH = 100;
const HEART_MS = 1200;

export function LikeButton({ liveId, token, total }: { liveId: number; token?: string; total: number }) {
  const { t } = useTranslation();
  const [unsent, setUnsent] = useState(0);
  const [hearts, setHearts] = useState<number[]>([]);
  const nextHeart = useRef(0);
  // Counted outside React state too, so the timer and page-hide read the latest number.
  const pending = useRef(0);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const flushLikes = useRef<() => void>(() => undefined);

  useEffect(() => {
    if (!token) return;
    const flush = (keepalive: boolean) => {
      clearTimeout(timer.current);
      timer.current = undefined;
      while (pending.current > 0) {
        const count = Math.min(MAX_BATCH, pending.current);
        pending.current -= count;
        void fetch(`/api/lives/${liveId}/likes`, {
          method: 'POST',
          headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
          body: JSON.stringify({ count }),
          keepalive,
        }).catch(() => undefined);
      }
      setUnsent(0);
    };
    flushLikes.current = () => flush(false);
    // Taps in the last second are sent as the page goes away, not dropped.
    const onHide = () => flush(true);
    window.addEventListener('pagehide', onHide);
    return () => {
      window.removeEventListener('pagehide', onHide);
      flush(true);
    };
  }, [liveId, token]);

  const tap = () => {
    pending.current += 1;
    timer.current ??= setTimeout(() => flushLikes.current(), FLUSH_MS);
    setUnsent((n) => n + 1);
    const id = nextHeart.current++;
    setHearts((h) => [...h.slice(-11), id]);
    setTimeout(() => setHearts((h) => h.filter((x) => x !== id)), HEART_MS);
  };

  return (
    <div className="likes">
      {hearts.map((id) => (
        <span key={id} className="heart" aria-hidden="true" style={{ left: `${(id * 37) % 60}%` }}>
          ❤
        </span>
      ))}
      <button
        type="button"
        className="like"
        onClick={tap}
        disabled={!token}
        aria-label={t('viewer.likes.like', { count: total + unsent })}
      >
        <span aria-hidden="true">❤</span> <span data-testid="like-count">{total + unsent}</span>
      </button>
    </div>
  );
}
