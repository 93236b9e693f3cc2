import { useTranslation } from 'react-i18next';
import { LanguageSwitch } from '../shared/LanguageSwitch';
import { useBitrateHistory, useEngineStats } from './engineStats';
import { AssistantLogin } from './AssistantLogin';
import { AudioMixer } from './AudioMixer';
import { CommentFeed } from './CommentFeed';
import { Dashboard } from './Dashboard';
import { Destinations } from './Destinations';
import { GoLive } from './GoLive';
import { OrderFeed } from './OrderFeed';
import { Preview } from './Preview';
import { ProductConsole } from './ProductConsole';
import { RelayPanel } from './RelayPanel';
import { SaleTools } from './SaleTools';
import { ScenesDock } from './ScenesDock';
import { useRelayStatus } from './relayStatus';
import { useScenes } from './useScenes';
import { saveLanguage } from './settings';
import { useStudioInfo, useStudioMode } from './useStudio';

export function App() {
  const { t } = useTranslation();
  const relay = useRelayStatus();
  const { info, error, setInfo } = useStudioInfo();
  const mode = useStudioMode();
  const assistant = mode === 'assistant';
  const stats = useEngineStats();
  const bitrate = useBitrateHistory();
  const scenes = useScenes(stats !== null);
  return (
    <div className="studio">
      <header className="topbar">
        <h1>{t('studio.title')}</h1>
        {info && <span className="live-title">{info.live_title}</span>}
        <LanguageSwitch onChange={saveLanguage} />
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
          ) : assistant ? (
            <AssistantLogin onConnected={setInfo} />
          ) : (
            <p className="panel muted">{t('studio.connecting')}</p>
          )}
        </div>
        <div className="dock centre">
          {assistant ? (
            info && <CommentFeed liveId={info.live_id} />
          ) : (
            <>
              <Preview model={scenes} />
              <GoLive stats={stats} history={bitrate} ready={info !== null} />
              <Destinations stats={stats} ready={stats !== null} />
              <ScenesDock model={scenes} ready={stats !== null} />
              <AudioMixer ready={stats !== null} />
            </>
          )}
        </div>
        <div className="dock right">
          {info && <OrderFeed liveId={info.live_id} />}
          {info && !assistant && <CommentFeed liveId={info.live_id} />}
          {info && <Dashboard liveId={info.live_id} />}
          {assistant ? (
            info && (
              <p className="panel muted" data-testid="assistant-relay">
                {t('studio.assistant.connected', { url: info.relay_url })}
              </p>
            )
          ) : (
            <RelayPanel status={relay} />
          )}
        </div>
      </main>
    </div>
  );
}
