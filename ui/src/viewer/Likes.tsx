import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { api } from './api';

/** Taps are sent at most once a second, as one count (the relay aggregates them too). */
const FLUSH_MS = 1000;
const HEART_MS = 1200;

export function LikeButton({ liveId, token, total }: { liveId: number; token?: string; total: number }) {
  const { t } = useTranslation();
  const [unsent, setUnsent] = useState(0);
  const [hearts, setHearts] = useState<number[]>([]);
  const nextHeart = useRef(0);

  useEffect(() => {
    if (unsent === 0 || !token) return;
    const timer = setTimeout(() => {
      setUnsent(0);
      void api(`/api/lives/${liveId}/likes`, { token, body: { count: unsent } }).catch(() => undefined);
    }, FLUSH_MS);
    return () => clearTimeout(timer);
  }, [unsent, liveId, token]);

  const tap = () => {
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
      <button type="button" className="like" onClick={tap} disabled={!token} aria-label={t('viewer.likes.like')}>
        ❤ <span data-testid="like-count">{total + unsent}</span>
      </button>
    </div>
  );
}
