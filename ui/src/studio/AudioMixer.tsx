import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../viewer/api';
import { useEngineStats } from './engineStats';
import { command, useBackendEvent } from './ipc';
import { MicrophoneChoice } from './MicrophoneChoice';

export const AUDIO_LEVELS_EVENT = 'audio-levels';
const MIC = 'mic';

type Levels = Record<string, { peak_db: number[]; rms_db: number[] }>;

/** dBFS to a 0–100 meter width, -60 dB and below empty. */
export function meterPercent(db: number): number {
  if (!Number.isFinite(db)) return 0;
  return Math.max(0, Math.min(100, ((db + 60) / 60) * 100));
}

/** The microphone: meter, gain, mute and noise suppression. */
export function AudioMixer({ ready }: { ready: boolean }) {
  const { t } = useTranslation();
  const [peak, setPeak] = useState(-Infinity);
  const [gain, setGain] = useState(1);
  const [muted, setMuted] = useState(false);
  const [noiseSuppression, setNoiseSuppression] = useState(false);
  const [error, setError] = useState<string | null>(null);
  // A microphone that cannot be opened or went away is replaced by silence in the engine;
  // the anchor must see that before speaking to nobody.
  const problem = useEngineStats()?.audio?.find((input) => input.id === MIC)?.problem ?? null;

  useBackendEvent<Levels>(AUDIO_LEVELS_EVENT, (levels) => {
    const mic = levels[MIC];
    if (mic) setPeak(Math.max(...mic.peak_db));
  });

  const send = async (next: { gain: number; muted: boolean; noiseSuppression: boolean }) => {
    setGain(next.gain);
    setMuted(next.muted);
    setNoiseSuppression(next.noiseSuppression);
    setError(null);
    try {
      await command('set_audio', next);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };
  const current = { gain, muted, noiseSuppression };

  return (
    <section className="panel mixer" aria-labelledby="mixer-heading">
      <h2 id="mixer-heading">{t('studio.audio.heading')}</h2>
      <MicrophoneChoice ready={ready} />
      <div className="meter" role="meter" aria-label={t('studio.audio.level')} aria-valuemin={-60} aria-valuemax={0} aria-valuenow={Number.isFinite(peak) ? Math.round(peak) : -60}>
        <div className={muted ? 'fill muted' : 'fill'} style={{ width: `${meterPercent(peak)}%` }} />
      </div>
      <div className="slider">
        <label htmlFor="mic-gain">{t('studio.audio.gain')}</label>
        <input id="mic-gain" type="range" min={0} max={200} disabled={!ready} value={Math.round(gain * 100)} onChange={(e) => void send({ ...current, gain: Number(e.target.value) / 100 })} />
        <output htmlFor="mic-gain">{Math.round(gain * 100)}%</output>
      </div>
      <label className="inline">
        <input type="checkbox" disabled={!ready} checked={muted} onChange={(e) => void send({ ...current, muted: e.target.checked })} /> {t('studio.audio.mute')}
      </label>{' '}
      <label className="inline">
        <input type="checkbox" disabled={!ready} checked={noiseSuppression} onChange={(e) => void send({ ...current, noiseSuppression: e.target.checked })} />{' '}
        {t('studio.audio.noiseSuppression')}
      </label>
      {problem && (
        <p role="alert" className="error" data-testid="mic-problem">
          {t('studio.audio.silenced', { problem })}
        </p>
      )}
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
    </section>
  );
}
