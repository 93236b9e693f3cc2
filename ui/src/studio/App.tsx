import { useTranslation } from 'react-i18next';
import { LanguageSwitch } from '../shared/LanguageSwitch';
import { RelayPanel } from './RelayPanel';
import { useRelayStatus } from './relayStatus';

export function App() {
  const { t } = useTranslation();
  const relay = useRelayStatus();
  return (
    <div className="studio">
      <header className="topbar">
        <h1>{t('studio.title')}</h1>
        <LanguageSwitch />
      </header>
      <main>
        <RelayPanel status={relay} />
      </main>
    </div>
  );
}
