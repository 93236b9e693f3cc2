import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Coupon } from '../bindings/Coupon';
import type { CouponClaim } from '../bindings/CouponClaim';
import type { Lottery } from '../bindings/Lottery';
import { api, ApiError } from './api';
import { errorText } from './errors';
import { formatCountdown, formatFen, secondsLeft } from './money';

/** Coupons on offer in this live, each with a claim button. */
export function Coupons({ coupons, token, now }: { coupons: Coupon[]; token?: string; now: number }) {
  const { t } = useTranslation();
  const [held, setHeld] = useState<Set<number>>(new Set());
  const [feedback, setFeedback] = useState<string>();
  useEffect(() => {
    if (!token) return;
    api<CouponClaim[]>('/api/me/coupons', { token })
      .then((claims) => setHeld(new Set(claims.map((c) => c.coupon.id))))
      .catch(() => undefined);
  }, [token]);
  const offered = coupons.filter((c) => c.valid_from_ms <= now && now < c.valid_until_ms);
  if (offered.length === 0) return null;

  const claim = async (coupon: Coupon) => {
    if (!token) return;
    try {
      await api<CouponClaim>(`/api/coupons/${coupon.id}/claim`, { method: 'POST', token });
      setHeld((h) => new Set(h).add(coupon.id));
      setFeedback(t('viewer.coupons.claimed', { title: coupon.title }));
    } catch (e) {
      setFeedback(errorText(t, e));
    }
  };

  return (
    <section className="coupons" aria-label={t('viewer.coupons.title')}>
      <ul>
        {offered.map((c) => {
          const gone = c.claimed >= c.quantity;
          return (
            <li key={c.id} className="coupon">
              <strong>{formatFen(c.amount_off_fen)}</strong>
              <span>
                {c.title}
                {c.threshold_fen > 0 && ` · ${t('viewer.coupons.threshold', { amount: formatFen(c.threshold_fen) })}`}
              </span>
              <button type="button" onClick={() => void claim(c)} disabled={held.has(c.id) || gone || !token}>
                {held.has(c.id) ? t('viewer.coupons.held') : gone ? t('viewer.coupons.gone') : t('viewer.coupons.claim')}
              </button>
            </li>
          );
        })}
      </ul>
      {feedback && <p role="status">{feedback}</p>}
    </section>
  );
}

/** 福袋: the latest lottery, to join while it runs and with its result once drawn. */
export function LotteryBanner({
  lottery,
  viewerId,
  token,
  now,
}: {
  lottery: Lottery;
  viewerId?: number;
  token?: string;
  now: number;
}) {
  const { t } = useTranslation();
  const [joined, setJoined] = useState(false);
  const [feedback, setFeedback] = useState<string>();

  const join = async () => {
    if (!token) return;
    try {
      await api(`/api/lotteries/${lottery.id}/join`, { method: 'POST', token });
      setJoined(true);
      setFeedback(undefined);
    } catch (e) {
      const needsKeyword = e instanceof ApiError && e.code === 'forbidden' && lottery.keyword;
      setFeedback(needsKeyword ? t('viewer.lottery.needKeyword', { keyword: lottery.keyword }) : errorText(t, e));
    }
  };

  let result: string | undefined;
  if (lottery.drawn) {
    const won = viewerId !== undefined && lottery.winner_ids.includes(viewerId);
    result = won ? t('viewer.lottery.won', { prize: lottery.prize }) : t('viewer.lottery.drawn', { count: lottery.winner_ids.length });
  }

  return (
    <section className="lottery" aria-label={t('viewer.lottery.title')} data-testid="lottery">
      <p>
        {lottery.prize} · {t('viewer.lottery.winners', { count: lottery.winners })}
      </p>
      {result ? (
        <p className="lottery-result" role="status">
          {result}
        </p>
      ) : (
        <>
          <p className="countdown">
            {t('viewer.lottery.drawIn', { time: formatCountdown(secondsLeft(lottery.ends_at_ms, now)) })}
            {lottery.keyword && ` · ${t('viewer.lottery.keyword', { keyword: lottery.keyword })}`}
          </p>
          <button type="button" onClick={() => void join()} disabled={joined || !token}>
            {joined ? t('viewer.lottery.joined') : t('viewer.lottery.join')}
          </button>
        </>
      )}
      {feedback && <p role="alert">{feedback}</p>}
    </section>
  );
}
