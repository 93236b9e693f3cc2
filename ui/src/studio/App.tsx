import { useCallback, useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useBitrateHistory, useEngineStats } from './engineStats';
import { AssistantDesk, StudioDesk } from './Desks';
import { FirstStartWizard } from './FirstStart';
import { useDesk } from './desk';
import { Header } from './Header';
import { HelpOverlay, useHelpKey } from './HelpOverlay';
import { useRelayStatus } from './relayStatus';
import { UndoProvider } from './Undo';
import { useScenes } from './useScenes';
import { useStudioInfo, useStudioMode } from './useStudio';

export function App() {
  const { t } = useTranslation();
  const relay = useRelayStatus();
  const { info, error, setInfo } = useStudioInfo();
  const mode = useStudioMode();
  const stats = useEngineStats();
  const bitrate = useBitrateHistory();
  const scenes = useScenes(stats !== null);
  const { desk, loaded, change } = useDesk();
  const [help, setHelp] = useState(false);
  const [wizardAgain, setWizardAgain] = useState(false);
  // Once, on the first start of the studio (the assistant has no camera to set up); again
  // whenever asked from the header.
  const wizard = mode === 'studio' && (wizardAgain || (loaded && !desk.wizardDone));
  const closeWizard = () => {
    setWizardAgain(false);
    if (!desk.wizardDone) change((d) => ({ ...d, wizardDone: true }));
  };
  const openHelp = useCallback(() => setHelp(true), []);
  useHelpKey(openHelp);

  // On the document, so dialogs (portalled to the body) take the same theme.
  useEffect(() => {
    document.documentElement.dataset.theme = desk.theme;
  }, [desk.theme]);

  return (
    <UndoProvider>
      <div className="studio" data-mode={mode ?? undefined}>
        <Header
          title={info?.live_title}
          stats={stats}
          withVideo={mode === 'studio'}
          theme={desk.theme}
          onTheme={(theme) => change((d) => ({ ...d, theme }))}
          onHelp={openHelp}
          onWizard={mode === 'studio' ? () => setWizardAgain(true) : undefined}
        />
        {error && (
          <p role="alert" className="error banner" data-testid="studio-error">
            {error}
          </p>
        )}
        {mode === 'assistant' && <AssistantDesk desk={desk} change={change} info={info} onConnected={setInfo} />}
        {mode === 'studio' && (
          <StudioDesk desk={desk} change={change} info={info} relay={relay} stats={stats} bitrate={bitrate} scenes={scenes} />
        )}
        {mode === null && <p className="muted desk-loading">{t('studio.connecting')}</p>}
        {wizard && !help && (
          <FirstStartWizard model={scenes} viewerUrl={relay.state === 'running' ? `${relay.url}/` : null} onDone={closeWizard} />
        )}
        {help && <HelpOverlay onClose={() => setHelp(false)} />}
      </div>
    </UndoProvider>
  );
}
