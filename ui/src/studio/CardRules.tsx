import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Live } from '../bindings/Live';
import { ApiError } from '../viewer/api';
import { Field } from './Field';
import { relayCall } from './ipc';
import { updateSettings, useSettings } from './settings';

/** What the card in the video uses when the user never set it (the viewer page's rule). */
export const DEFAULT_LOW_STOCK = 9;

/**
 * The 讲解 rules, kept in the settings: at or under how many units the card in the video and
 * the live's viewer pages say "仅剩 N 件" (the live on the relay gets the same threshold),
 * whether a sold-out pin gives way to the next product in the cart, and whether a product
 * viewers keep asking about is pinned without waiting for a click.
 */
export function CardRules({ live, onLive }: { live?: Pick<Live, 'id' | 'low_stock_threshold'>; onLive?: (live: Live) => void }) {
  const { t } = useTranslation();
  const [settings, setSettings] = useSettings();
  const [typed, setTyped] = useState<string | null>(null);
  const [error, setError] = useState<string | undefined>();
  const [saved, setSaved] = useState(false);
  const threshold = settings ? (settings.low_stock_threshold ?? DEFAULT_LOW_STOCK) : undefined;
  const value = typed ?? String(threshold ?? DEFAULT_LOW_STOCK);

  // Viewer pages follow the studio's rule: a live opened with another threshold takes this one.
  const liveId = live?.id;
  const liveThreshold = live?.low_stock_threshold;
  useEffect(() => {
    if (liveId === undefined || threshold === undefined || liveThreshold === threshold) return;
    relayCall<Live>('PATCH', `/api/lives/${liveId}`, { low_stock_threshold: threshold })
      .then((next) => onLive?.(next))
      .catch((e: unknown) => setError(e instanceof ApiError ? e.message : String(e)));
  }, [liveId, liveThreshold, threshold, onLive]);

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
