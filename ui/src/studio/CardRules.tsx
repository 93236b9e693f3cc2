import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Live } from '../bindings/Live';
import type { LivePatch } from '../bindings/LivePatch';
import { ApiError } from '../viewer/api';
import { Field } from './Field';
import { relayCall } from './ipc';
import { updateSettings, useSettings } from './settings';

/** What the card in the video uses when the user never set it (the viewer page's rule). */
export const DEFAULT_LOW_STOCK = 9;

/** What the rules below need of the live on the relay. */
type LiveRules = Pick<Live, 'id' | 'low_stock_threshold'> & Partial<Pick<Live, 'next_when_sold_out' | 'pin_when_asked'>>;

/**
 * The 讲解 rules, kept in the settings and given to the live on the relay, which applies them
 * (once, whichever studio or console is connected): at or under how many units the card in
 * the video and the live's viewer pages say "仅剩 N 件", whether a sold-out pin gives way to
 * the next product in the cart, and whether a product viewers keep asking about is pinned
 * without waiting for a click.
 */
export function CardRules({ live, onLive }: { live?: LiveRules; onLive?: (live: Live) => void }) {
  const { t } = useTranslation();
  const [settings, setSettings] = useSettings();
  const [typed, setTyped] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [saved, setSaved] = useState(false);
  const threshold = settings ? (settings.low_stock_threshold ?? DEFAULT_LOW_STOCK) : undefined;
  const value = typed ?? String(threshold ?? DEFAULT_LOW_STOCK);

  // A live opened with other rules takes this studio's.
  const liveId = live?.id;
  const liveThreshold = live?.low_stock_threshold;
  const liveNext = live?.next_when_sold_out;
  const liveAsked = live?.pin_when_asked;
  const next = settings?.next_when_sold_out;
  const asked = settings?.pin_when_asked;
  useEffect(() => {
    if (liveId === undefined || threshold === undefined) return;
    const patch: LivePatch = {};
    if (liveThreshold !== threshold) patch.low_stock_threshold = threshold;
    if (next !== undefined && liveNext !== undefined && liveNext !== next) patch.next_when_sold_out = next;
    if (asked !== undefined && liveAsked !== undefined && liveAsked !== asked) patch.pin_when_asked = asked;
    if (Object.keys(patch).length === 0) return;
    relayCall<Live>('PATCH', `/api/lives/${liveId}`, patch)
      .then((changed) => onLive?.(changed))
      .catch((e: unknown) => setError(e instanceof ApiError ? e.message : String(e)));
  }, [liveId, liveThreshold, threshold, liveNext, next, liveAsked, asked, onLive]);

  const save = async () => {
    if (typed === null) return;
    setSaved(false);
    const n = Number(typed.trim());
    if (!/^\d+$/.test(typed.trim()) || n > 999) {
      setError(t('studio.lowStock.invalid'));
      return;
    }
    setError(undefined);
    try {
      setSettings(await updateSettings({ low_stock_threshold: n }));
      setTyped(null);
      setSaved(true);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };

  const toggle = async (rule: 'next_when_sold_out' | 'pin_when_asked', on: boolean) => {
    try {
      setSettings(await updateSettings({ [rule]: on }));
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };

  return (
    <form
      className="card-rules row wrap"
      noValidate
      onSubmit={(e) => {
        e.preventDefault();
        void save();
      }}
    >
      <Field id="low-stock" label={t('studio.lowStock.label')} error={error}>
        {(a) => <input {...a} inputMode="numeric" value={value} onChange={(e) => setTyped(e.target.value)} onBlur={() => void save()} />}
      </Field>
      <label className="check">
        <input
          type="checkbox"
          checked={settings?.next_when_sold_out ?? false}
          disabled={!settings}
          onChange={(e) => void toggle('next_when_sold_out', e.target.checked)}
        />
        {t('studio.lowStock.nextWhenSoldOut')}
      </label>
      <label className="check">
        <input
          type="checkbox"
          checked={settings?.pin_when_asked ?? false}
          disabled={!settings}
          onChange={(e) => void toggle('pin_when_asked', e.target.checked)}
        />
        {t('studio.lowStock.pinWhenAsked')}
      </label>
      {saved && (
        <span role="status" className="muted">
          {t('studio.lowStock.saved')}
        </span>
      )}
    </form>
  );
}
