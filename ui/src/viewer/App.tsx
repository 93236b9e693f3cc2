import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { VersionInfo } from '../bindings/VersionInfo';
import { LanguageSwitch } from '../shared/LanguageSwitch';

type RelayInfo = { kind: 'loading' } | { kind: 'ok'; info: VersionInfo } | { kind: 'unreachable' };

export function App() {
  const { t, i18n } = useTranslation();
  const [relay, setRelay] = useState<RelayInfo>({ kind: 'loading' });

  useEffect(() => {
    document.title = t('viewer.title');
  }, [t, i18n.language]);

  useEffect(() => {
    const abort = new AbortController();
    fetch('/api/version', { signal: abort.signal })
      .then(async (res) => {
        if (!res.ok) throw new Error(`HTTP ${res.status}`);
        setRelay({ kind: 'ok', info: (await res.json()) as VersionInfo });
      })
      .catch(() => {
        if (!abort.signal.aborted) setRelay({ kind: 'unreachable' });
      });
    return () => abort.abort();
  }, []);

  return (
    <div className="viewer">
      <header className="viewer-top">
        <h1>{t('viewer.title')}</h1>
        <LanguageSwitch />
      </header>
      <main className="stage" aria-live="polite">
        {relay.kind === 'unreachable' ? (
          <p role="alert">{t('viewer.relayUnreachable')}</p>
        ) : (
          <p className="offline">{t('viewer.offline')}</p>
        )}
      </main>
      <footer>
        {relay.kind === 'ok' && (
          <small data-testid="relay-version">{t('viewer.relayVersion', { version: relay.info.version })}</small>
        )}
      </footer>
    </div>
  );
}
