import { useEffect, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../viewer/api';
import { RELAY_OUTPUT, type EngineStats, type OutputStats } from './engineStats';
import type { SavedDestination } from '../bindings/SavedDestination';
import { Field } from './Field';
import { command } from './ipc';
import { useSettings } from './settings';

export const RECORD_OUTPUT = 'record';
/** The form's fields that show their own message. */
const FORM_FIELDS = ['server', 'preset', 'name'];

interface Preset {
  id: string;
  name: string;
  server: string | null;
  warning: string | null;
}

const running = (o: OutputStats) => o.state !== 'stopped' && o.state !== 'failed';

/**
 * Platform destinations besides the studio's relay (presets, custom RTMP/SRT) and the
 * recording, each started and stopped on its own, with its state; "stop all" ends every output.
 */
export function Destinations({ stats, ready }: { stats: EngineStats | null; ready: boolean }) {
  const { t } = useTranslation();
  const [presets, setPresets] = useState<Preset[]>([]);
  const [presetId, setPresetId] = useState('custom');
  const [server, setServer] = useState('');
  const [key, setKey] = useState('');
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);
  const [recording, setRecording] = useState<string | null>(null);
  const [saveAs, setSaveAs] = useState('');
  const [settings, setSettings] = useSettings();
  const saved = settings?.destinations ?? [];
  const keepSaved = (list: SavedDestination[]) => settings && setSettings({ ...settings, destinations: list });

  useEffect(() => {
    let active = true;
    command<Preset[]>('presets')
      .then((p) => {
        if (active) setPresets(p ?? []);
      })
      .catch(() => undefined);
    return () => {
      active = false;
    };
  }, []);

  const run = async (action: () => Promise<unknown>) => {
    setError(null);
    try {
      await action();
    } catch (e) {
      const message = e instanceof ApiError ? e.message : String(e);
      // The backend names the field (CallError::invalid); others are shown above the buttons.
      const field = e instanceof ApiError && FORM_FIELDS.includes(e.field ?? '') ? e.field : undefined;
      setError({ field, message });
    }
  };

  const preset = presets.find((p) => p.id === presetId);
  const outputs = (stats?.outputs ?? []).filter((o) => o.id !== RELAY_OUTPUT);
  const record = outputs.find((o) => o.id === RECORD_OUTPUT);
  const anyRunning = (stats?.outputs ?? []).some(running);

  return (
    <section className="panel destinations" aria-labelledby="destinations-heading">
      <h2 id="destinations-heading">{t('studio.destinations.heading')}</h2>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void run(() => command('start_destination', { preset: presetId, server: server.trim() || null, key }));
        }}
      >
        <div className="row wrap">
          <Field id="dest-preset" label={t('studio.destinations.platform')} error={error?.field === 'preset' ? error.message : undefined}>
            {(a) => (
              <select {...a} value={presetId} onChange={(e) => setPresetId(e.target.value)}>
                {presets.map((p) => (
                  <option key={p.id} value={p.id}>
                    {p.name}
                  </option>
                ))}
              </select>
            )}
          </Field>
          <Field id="dest-server" label={t('studio.destinations.server')} error={error?.field === 'server' ? error.message : undefined}>
            {(a) => (
              <input {...a} value={server} placeholder={preset?.server ?? 'rtmp://… / srt://…'} onChange={(e) => setServer(e.target.value)} />
            )}
          </Field>
          <Field id="dest-key" label={t('studio.destinations.key')}>
            {(a) => <input {...a} type="password" autoComplete="off" value={key} onChange={(e) => setKey(e.target.value)} />}
          </Field>
          <Field id="dest-name" label={t('studio.destinations.saveAs')} error={error?.field === 'name' ? error.message : undefined}>
            {(a) => <input {...a} value={saveAs} placeholder={preset?.name ?? ''} onChange={(e) => setSaveAs(e.target.value)} />}
          </Field>
        </div>
        {preset?.warning && <p className="hint">{preset.warning}</p>}
        {error && !error.field && (
          <p role="alert" className="error">
            {error.message}
          </p>
        )}
        <div className="row wrap">
          <button type="submit" disabled={!ready}>
            {t('studio.destinations.start')}
          </button>
          <button
            type="button"
            data-testid="save-destination"
            onClick={() =>
              void run(async () => {
                const d = await command<SavedDestination>('save_destination', {
                  name: saveAs.trim() || preset?.name || '',
                  preset: presetId,
                  server: server.trim() || null,
                  key,
                });
                keepSaved([...saved.filter((s) => s.id !== d.id), d]);
              })
            }
          >
            {t('studio.destinations.save')}
          </button>
          <button
            type="button"
            disabled={!ready}
            data-testid="record"
            onClick={() =>
              void run(async () => {
                if (record && running(record)) await command('stop_output', { id: RECORD_OUTPUT });
                else setRecording(await command<string>('start_recording'));
              })
            }
          >
            {record && running(record) ? t('studio.destinations.stopRecording') : t('studio.destinations.startRecording')}
          </button>
          <button
            type="button"
            className="danger"
            disabled={!anyRunning}
            onClick={() =>
              void run(() => Promise.all((stats?.outputs ?? []).filter(running).map((o) => command('stop_output', { id: o.id }))))
            }
          >
            {t('studio.destinations.stopAll')}
          </button>
        </div>
      </form>
      {saved.length > 0 && (
        <ul className="saved" aria-label={t('studio.destinations.saved')} data-testid="saved-destinations">
          {saved.map((d) => (
            <li key={d.id} data-saved-id={d.id}>
              <span>{d.name}</span>
              {!d.has_key && <span className="muted">{t('studio.destinations.noKey')}</span>}
              <button type="button" disabled={!ready} onClick={() => void run(() => command('start_saved_destination', { id: d.id }))}>
                {t('studio.destinations.startSaved', { name: d.name })}
              </button>
              <button
                type="button"
                className="link"
                aria-label={t('studio.destinations.forget', { name: d.name })}
                onClick={() =>
                  void run(async () => {
                    await command('forget_destination', { id: d.id });
                    keepSaved(saved.filter((s) => s.id !== d.id));
                  })
                }
              >
                {t('studio.destinations.forgetShort')}
              </button>
            </li>
          ))}
        </ul>
      )}
      {recording && <p className="muted">{t('studio.destinations.recordingTo', { path: recording })}</p>}
      <ul className="running" data-testid="outputs">
        {outputs.map((o) => (
          <li key={o.id} data-output-id={o.id} data-state={o.state}>
            <span>{o.id === RECORD_OUTPUT ? t('studio.destinations.recording') : o.id.replace(/^dest-/, '')}</span>
            <span className={`badge badge-${o.state}`}>{t(`studio.live.state.${o.state}`)}</span>
            {o.reason && <span className="muted">{o.reason}</span>}
            {o.id !== RECORD_OUTPUT && <span>{Math.round(o.measured_kbps)} kbit/s</span>}
            {running(o) && (
              <button type="button" className="link" onClick={() => void run(() => command('stop_output', { id: o.id }))}>
                {t('studio.destinations.stop')}
              </button>
            )}
          </li>
        ))}
      </ul>
    </section>
  );
}
