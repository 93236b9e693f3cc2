import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../viewer/api';
import { command } from './ipc';

/** What the engine found in the file it recorded (a real demuxer and decoder read it). */
interface Recorded {
  /** Where the studio serves it on loopback (WebKit's player loads neither the studio's own scheme nor a blob: copy of it reliably). */
  url: string;
  duration_ms: number;
  video: boolean;
  audio: boolean;
}

type State = { kind: 'idle' } | { kind: 'recording' } | { kind: 'done'; recorded: Recorded; url: string } | { kind: 'failed'; message: string };

/** A new address each time: the previous recording must not come from the webview's cache. */
function freshUrl(recorded: Recorded): string {
  return `${recorded.url}?t=${Date.now()}`;
}

/**
 * Five seconds of the programme recorded and played back in the guide, so a new anchor sees
 * and hears what viewers will before going live.
 */
export function TestRecording({ ready }: { ready: boolean }) {
  const { t } = useTranslation();
  const [state, setState] = useState<State>({ kind: 'idle' });
  const record = async () => {
    setState({ kind: 'recording' });
    try {
      const recorded = await command<Recorded>('test_recording');
      setState({ kind: 'done', recorded, url: freshUrl(recorded) });
    } catch (e) {
      setState({ kind: 'failed', message: e instanceof ApiError ? e.message : String(e) });
    }
  };
  const mark = (present: boolean) => (present ? t('studio.wizard.yes') : t('studio.wizard.no'));
  return (
    <>
      <p>{t('studio.wizard.testHint')}</p>
      <button type="button" data-testid="wizard-test-record" disabled={!ready || state.kind === 'recording'} onClick={() => void record()}>
        {state.kind === 'done' ? t('studio.wizard.testAgain') : t('studio.wizard.testRecord')}
      </button>
      {state.kind === 'recording' && (
        <p className="muted" role="status">
          {t('studio.wizard.testRecording')}
        </p>
      )}
      {state.kind === 'done' && (
        <>
          <video data-testid="wizard-test-video" className="wizard-picture" controls autoPlay src={state.url} />
          <p data-testid="wizard-test-result" className={state.recorded.video && state.recorded.audio ? undefined : 'error'}>
            {t('studio.wizard.testResult', {
              video: mark(state.recorded.video),
              audio: mark(state.recorded.audio),
              seconds: (state.recorded.duration_ms / 1000).toFixed(1),
            })}
          </p>
        </>
      )}
      {state.kind === 'failed' && (
        <p role="alert" className="error">
          {state.message}
        </p>
      )}
    </>
  );
}
