import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../viewer/api';
import { BitrateGraph } from './BitrateGraph';
import { lossPercent, RELAY_OUTPUT, type BitrateSample, type EngineStats } from './engineStats';
import { command } from './ipc';
import { Modal } from './Modal';

/** Start and stop publishing to the studio's relay, with the output's state, figures and bitrate graph. */
export function GoLive({ stats, history, ready }: { stats: EngineStats | null; history: BitrateSample[]; ready: boolean }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [confirming, setConfirming] = useState(false);
  const output = stats?.outputs.find((o) => o.id === RELAY_OUTPUT);
  const state = output?.state ?? 'stopped';
  const running = state !== 'stopped' && state !== 'failed';

  const toggle = async () => {
    setBusy(true);
    setError(null);
    try {
      await command(running ? 'stop_live' : 'go_live');
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel golive" aria-labelledby="golive-heading">
      <h2 id="golive-heading">{t('studio.live.heading')}</h2>
      <div className="row">
        <button
          type="button"
          className={running ? 'danger' : 'primary'}
          data-testid="go-live"
          disabled={busy || !ready}
          // Stopping ends the live for every viewer: asked first, never on one stray click.
          onClick={() => (running ? setConfirming(true) : void toggle())}
        >
          {running ? t('studio.live.stop') : t('studio.live.start')}
        </button>
        <span className={`badge badge-${state}`} data-testid="live-state" data-state={state}>
          {t(`studio.live.state.${state}`)}
        </span>
      </div>
      {output?.reason && <p className="muted">{output.reason}</p>}
      {stats && (
        <dl className="figures" data-testid="live-figures">
          <dt>{t('studio.live.bitrate')}</dt>
          <dd>
            {output ? `${Math.round(output.measured_kbps)} / ${output.target_kbps} kbit/s` : '—'}
          </dd>
          <dt>{t('studio.live.fps')}</dt>
          <dd>{(output?.fps ?? stats.fps).toFixed(0)}</dd>
          <dt>{t('studio.live.rtt')}</dt>
          <dd>{output?.rtt_ms != null ? `${Math.round(output.rtt_ms)} ms` : '—'}</dd>
          <dt>{t('studio.stats.loss')}</dt>
          <dd data-testid="live-loss">{lossPercent(output?.loss)}</dd>
          <dt>{t('studio.live.dropped')}</dt>
          <dd>{output?.dropped_frames ?? 0}</dd>
          <dt>{t('studio.live.cpu')}</dt>
          <dd>{Math.round(stats.cpu_percent)} %</dd>
          <dt>{t('studio.live.encoder')}</dt>
          <dd>{stats.encoder}</dd>
        </dl>
      )}
      {stats && <BitrateGraph history={history} output={output} />}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {confirming && (
        <Modal title={t('studio.live.confirmStop')} role="alertdialog" onClose={() => setConfirming(false)} initialFocus="[data-keep-live]" testId="stop-confirm">
          <p>{t('studio.live.confirmStopBody')}</p>
          <div className="modal-actions">
            <button type="button" data-keep-live onClick={() => setConfirming(false)}>
              {t('studio.live.keepLive')}
            </button>
            <button
              type="button"
              className="danger"
              data-testid="confirm-stop"
              onClick={() => {
                setConfirming(false);
                void toggle();
              }}
            >
              {t('studio.live.stop')}
            </button>
          </div>
        </Modal>
      )}
    </section>
  );
}
