import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { LanguageSwitch } from '../shared/LanguageSwitch';
import type { Theme } from './desk';
import { RELAY_OUTPUT, type EngineStats } from './engineStats';
import { formatDuration, healthOf, useOnAirSince } from './liveStatus';
import { saveLanguage } from './settings';

/** A clock ticking each second while `running`. */
function useNow(running: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!running) return;
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, [running]);
  return now;
}

/** 直播中, for how long and how well the push keeps up; 未开播 otherwise. */
export function LiveBadge({ stats }: { stats: EngineStats | null }) {
  const { t } = useTranslation();
  const since = useOnAirSince();
  const now = useNow(since !== null);
  const output = stats?.outputs.find((o) => o.id === RELAY_OUTPUT);
  const state = output?.state ?? 'stopped';
  const health = healthOf(output);
  const onAir = state === 'live' || state === 'reconnecting';
  return (
    <div className="live-badge" data-testid="header-live" data-state={state} data-health={health ?? undefined} role="status">
      <span className={`on-air ${onAir ? 'is-live' : ''}`}>{onAir ? t('studio.header.onAir') : t(`studio.live.state.${state}`)}</span>
      {onAir && since !== null && (
        <span className="clock" data-testid="header-duration" aria-label={t('studio.header.duration')}>
          {formatDuration(Math.max(0, now - since))}
        </span>
      )}
      {output && onAir && (
        <span className={`health health-${health ?? 'none'}`} title={t('studio.header.bitrateHint')}>
          <span className="dot" aria-hidden="true" />
          {Math.round(output.measured_kbps)} kbit/s · {t(`studio.header.health.${health ?? 'none'}`)}
        </span>
      )}
    </div>
  );
}

export function Header({
  title,
  stats,
  withVideo,
  theme,
  onTheme,
  onHelp,
  onWizard,
}: {
  title: string | undefined;
  stats: EngineStats | null;
  withVideo: boolean;
  theme: Theme;
  onTheme: (theme: Theme) => void;
  onHelp: () => void;
  onWizard?: () => void;
}) {
  const { t } = useTranslation();
  return (
    <header className="topbar">
      <h1>{t('studio.title')}</h1>
      {title && <span className="live-title">{title}</span>}
      {withVideo && <LiveBadge stats={stats} />}
      <span className="spacer" />
      {onWizard && (
        <button type="button" className="ghost" data-testid="open-wizard" onClick={onWizard}>
          {t('studio.wizard.open')}
        </button>
      )}
      <button
        type="button"
        className="ghost"
        data-testid="theme-toggle"
        aria-pressed={theme === 'light'}
        onClick={() => onTheme(theme === 'dark' ? 'light' : 'dark')}
      >
        {t('studio.header.lightTheme')}
      </button>
      <button type="button" className="ghost" data-testid="open-help" aria-keyshortcuts="?" onClick={onHelp} title={t('studio.help.heading')}>
        {t('studio.header.shortcuts')} <kbd>?</kbd>
      </button>
      <LanguageSwitch onChange={saveLanguage} />
    </header>
  );
}
