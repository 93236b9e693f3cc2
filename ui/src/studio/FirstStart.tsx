import { convertFileSrc } from '@tauri-apps/api/core';
import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { AUDIO_LEVELS_EVENT, meterPercent } from './AudioMixer';
import { CanvasToggle } from './CanvasToggle';
import { command, useBackendEvent } from './ipc';
import { MicrophoneChoice } from './MicrophoneChoice';
import { Modal } from './Modal';
import { PREVIEW_EVENT } from './Preview';
import { activeScene, updateLayer } from './scenes';
import { ShareLink } from './ShareLink';
import { TestRecording } from './TestRecording';
import type { ScenesModel } from './useScenes';

interface Camera {
  device: string;
  name: string;
}

const STEPS = ['devices', 'canvas', 'test', 'share'] as const;
type Step = (typeof STEPS)[number];

/** The programme as the engine composes it, small: what the chosen camera gives. */
function LivePicture() {
  const { t } = useTranslation();
  const [sequence, setSequence] = useState<number | null>(null);
  useBackendEvent<{ sequence: number }>(PREVIEW_EVENT, (frame) => setSequence(frame.sequence));
  return (
    <div className="wizard-picture">
      {sequence === null ? (
        <p className="muted">{t('studio.preview.waiting')}</p>
      ) : (
        <img data-testid="wizard-preview" src={`${convertFileSrc('frame', 'preview')}?seq=${sequence}`} alt={t('studio.preview.label')} />
      )}
    </div>
  );
}

/** The microphone's level as the engine hears it. */
function MicMeter() {
  const { t } = useTranslation();
  const [peak, setPeak] = useState(-Infinity);
  useBackendEvent<Record<string, { peak_db: number[] }>>(AUDIO_LEVELS_EVENT, (levels) => {
    const mic = levels.mic;
    if (mic) setPeak(Math.max(...mic.peak_db));
  });
  return (
    <div className="meter" role="meter" aria-label={t('studio.audio.level')} aria-valuemin={-60} aria-valuemax={0} aria-valuenow={Number.isFinite(peak) ? Math.round(peak) : -60}>
      <div className="fill" style={{ width: `${meterPercent(peak)}%` }} />
    </div>
  );
}

/**
 * The camera the active scene's first camera layer shows, chosen from the cameras present;
 * the engine switches it live, so the picture above answers the choice.
 */
function CameraChoice({ model }: { model: ScenesModel }) {
  const { t } = useTranslation();
  const [cameras, setCameras] = useState<Camera[]>([]);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    let active = true;
    command<Camera[]>('cameras')
      .then((c) => {
        if (active) setCameras(c ?? []);
      })
      .catch(() => undefined);
    return () => {
      active = false;
    };
  }, []);
  const collection = model.collection;
  const scene = collection ? activeScene(collection) : undefined;
  const layer = scene?.layers.find((l) => l.source.kind === 'camera');
  const device = layer?.source.kind === 'camera' ? layer.source.device : '';
  if (!collection || !scene || !layer) return <p className="muted">{t('studio.wizard.noCameraLayer')}</p>;

  const choose = async (next: string) => {
    setError(null);
    setError(await model.apply(updateLayer(collection, scene.id, layer.id, (l) => ({ ...l, source: { kind: 'camera', device: next } }))));
  };
  return (
    <>
      <label className="field">
        {t('studio.scenes.device')}
        <select data-testid="wizard-camera" value={device} onChange={(e) => void choose(e.target.value)}>
          <option value="test">{t('studio.scenes.testPattern')}</option>
          {cameras.map((c) => (
            <option key={c.device} value={c.device}>
              {c.name}
            </option>
          ))}
        </select>
      </label>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </>
  );
}

/**
 * First start: the camera and the microphone (with the picture and a level meter), the
 * canvas, a 5 s test recording played back, and the link viewers open. Every step can be skipped; closing marks it done.
 */
export function FirstStartWizard({ model, viewerUrl, onDone }: { model: ScenesModel; viewerUrl: string | null; onDone: () => void }) {
  const { t } = useTranslation();
  const [step, setStep] = useState<Step>('devices');
  const at = STEPS.indexOf(step);
  const last = at === STEPS.length - 1;
  return (
    <Modal title={t('studio.wizard.heading')} onClose={onDone} className="wizard" testId="wizard">
      <ol className="wizard-steps">
        {STEPS.map((s, i) => (
          <li key={s} aria-current={s === step ? 'step' : undefined}>
            {i + 1}. {t(`studio.wizard.step.${s}`)}
          </li>
        ))}
      </ol>
      {step === 'devices' && (
        <section aria-label={t('studio.wizard.step.devices')}>
          <LivePicture />
          <CameraChoice model={model} />
          <MicrophoneChoice ready={Boolean(model.collection)} />
          <p className="field">{t('studio.audio.level')}</p>
          <MicMeter />
          <p className="muted">{t('studio.wizard.micHint')}</p>
        </section>
      )}
      {step === 'canvas' && (
        <section aria-label={t('studio.wizard.step.canvas')}>
          <p>{t('studio.wizard.canvasHint')}</p>
          <CanvasToggle model={model} />
        </section>
      )}
      {step === 'test' && (
        <section aria-label={t('studio.wizard.step.test')}>
          <TestRecording ready={Boolean(model.collection)} />
        </section>
      )}
      {step === 'share' && (
        <section aria-label={t('studio.wizard.step.share')}>
          <p>{t('studio.wizard.shareHint')}</p>
          {viewerUrl ? <ShareLink url={viewerUrl} /> : <p className="muted">{t('studio.connecting')}</p>}
        </section>
      )}
      <div className="modal-actions">
        <button type="button" className="link" data-testid="wizard-skip" onClick={onDone}>
          {t('studio.wizard.skip')}
        </button>
        <span className="spacer" />
        {at > 0 && (
          <button type="button" onClick={() => setStep(STEPS[at - 1]!)}>
            {t('studio.wizard.back')}
          </button>
        )}
        <button type="button" className="primary" data-testid="wizard-next" onClick={() => (last ? onDone() : setStep(STEPS[at + 1]!))}>
          {last ? t('studio.wizard.done') : t('studio.wizard.next')}
        </button>
      </div>
    </Modal>
  );
}
