import { useTranslation } from 'react-i18next';
import { LanguageSwitch } from '../shared/LanguageSwitch';
import { useEngineStats } from './engineStats';
import { AudioMixer } from './AudioMixer';
import { CommentFeed } from './CommentFeed';
import { GoLive } from './GoLive';
import { OrderFeed } from './OrderFeed';
import { Preview } from './Preview';
import { ProductConsole } from './ProductConsole';
import { RelayPanel } from './RelayPanel';
import { SaleTools } from './SaleTools';
import { ScenesDock } from './ScenesDock';
import { useRelayStatus } from './relayStatus';
import { useStudioInfo } from './useStudio';

export function App() {
  const { t } = useTranslation();
  const relay = useRelayStatus();
  const { info, error } = useStudioInfo();
  const stats = useEngineStats();
  return (
    <div className="studio">
      <header className="topbar">
        <h1>{t('studio.title')}</h1>
        {info && <span className="live-title">{info.live_title}</span>}
        <LanguageSwitch />
      </header>
      {error && (
        <p role="alert" className="error banner" data-testid="studio-error">
          {error}
        </p>
      )}
      <main className="docks">
        <div className="dock left">
          {info ? (
            <>
              <ProductConsole liveId={info.live_id} relayUrl={info.relay_url} />
              <SaleTools liveId={info.live_id} />
            </>
          ) : (
            <p className="panel muted">{t('studio.connecting')}</p>
          )}
        </div>
        <div className="dock centre">
          <Preview />
          <GoLive stats={stats} ready={info !== null} />
          <ScenesDock ready={stats !== null} />
          <AudioMixer ready={stats !== null} />
        </div>
        <div className="dock right">
          {info && <OrderFeed liveId={info.live_id} />}
          {info && <CommentFeed liveId={info.live_id} />}
          <RelayPanel status={relay} />
        </div>
      </main>
    </div>
  );
}
