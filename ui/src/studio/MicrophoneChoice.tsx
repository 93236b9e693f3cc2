import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../viewer/api';
import { command } from './ipc';

export interface AudioDevice {
  id: string;
  name: string;
  channels: number;
  sample_rate: number;
  is_default: boolean;
}

interface Microphones {
  devices: AudioDevice[];
  /** The device the anchor picked; null: the system's default input. */
  chosen: string | null;
}

/** The select's value for "the system's default input" (device ids never are empty). */
const SYSTEM_DEFAULT = '';

/**
 * Which microphone the mix hears, switched while live and remembered for the next start. A
 * device unplugged since the list was read is refused by the engine and named here; the
 * mix keeps what it had.
 */
export function MicrophoneChoice({ ready }: { ready: boolean }) {
  const { t } = useTranslation();
  const [devices, setDevices] = useState<AudioDevice[]>([]);
  const [chosen, setChosen] = useState(SYSTEM_DEFAULT);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);

  useEffect(() => {
    let active = true;
    command<Microphones>('microphones')
      .then((m) => {
        if (!active || !m) return;
        setDevices(m.devices);
        setChosen(m.chosen ?? SYSTEM_DEFAULT);
      })
      .catch((e: unknown) => {
        if (active) setError(e instanceof ApiError ? e.message : String(e));
      });
    return () => {
      active = false;
    };
  }, []);

  const choose = async (next: string) => {
    const previous = chosen;
    setChosen(next);
    setBusy(true);
    setError(null);
    try {
      await command('set_microphone', { device: next === SYSTEM_DEFAULT ? null : next });
    } catch (e) {
      setChosen(previous);
      setError(e instanceof ApiError ? e.message : String(e));
    } finally {
      setBusy(false);
    }
  };

  return (
    <>
      <label className="field">
        {t('studio.audio.microphone')}
        <select data-testid="microphone" value={chosen} disabled={!ready || busy} onChange={(e) => void choose(e.target.value)}>
          <option value={SYSTEM_DEFAULT}>{t('studio.audio.systemDefault')}</option>
          {devices.map((d) => (
            <option key={d.id} value={d.id}>
              {d.name}
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
