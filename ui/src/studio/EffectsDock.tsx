import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { ApiError } from '../viewer/api';
import { DEFAULT_EFFECTS, type Background, type Beauty, type Effects, type Layer } from './scenes';
import { updateSettings, useSettings } from './settings';

/** How long slider moves are gathered before the engine gets them. */
const SEND_AFTER_MS = 120;

function Slider(props: { id: string; label: string; value: number; onChange: (v: number) => void }) {
  return (
    <div className="slider">
      <label htmlFor={props.id}>{props.label}</label>
      <input
        id={props.id}
        type="range"
        min={0}
        max={100}
        value={Math.round(props.value * 100)}
        onChange={(e) => props.onChange(Number(e.target.value) / 100)}
      />
      <output htmlFor={props.id}>{Math.round(props.value * 100)}</output>
    </div>
  );
}

/** Beauty and virtual background of one camera layer, applied live. */
export function EffectsDock({ layer, onChange }: { layer: Layer; onChange: (effects: Effects) => void }) {
  const { t } = useTranslation();
  const [effects, setEffects] = useState<Effects>(layer.effects ?? DEFAULT_EFFECTS);
  const timer = useRef<ReturnType<typeof setTimeout> | undefined>(undefined);
  const send = useRef(onChange);
  useEffect(() => {
    send.current = onChange;
  });
  useEffect(() => () => clearTimeout(timer.current), []);

  const change = (next: Effects) => {
    setEffects(next);
    clearTimeout(timer.current);
    timer.current = setTimeout(() => send.current(next), SEND_AFTER_MS);
  };
  const beauty = (patch: Partial<Beauty>) => change({ ...effects, beauty: { ...effects.beauty, ...patch } });
  const background = (patch: Partial<Background>) =>
    change({ ...effects, background: { ...effects.background, ...patch } });
  const bg = effects.background;
  const [settings, setSettings] = useSettings();
  const presets = settings?.effect_presets ?? [];
  const [presetName, setPresetName] = useState('');
  const [presetError, setPresetError] = useState<string | null>(null);

  const savePreset = async () => {
    setPresetError(null);
    const name = presetName.trim();
    if (!name) {
      setPresetError(t('studio.effects.presetNameMissing'));
      return;
    }
    try {
      // Same name replaces: a preset is adjusted by saving over it.
      setSettings(await updateSettings({ effect_presets: [...presets.filter((p) => p.name !== name), { name, effects }] }));
      setPresetName('');
    } catch (e) {
      setPresetError(e instanceof ApiError ? e.message : String(e));
    }
  };

  return (
    <div className="effects" data-testid="effects-dock" aria-label={t('studio.effects.heading', { name: layer.name || layer.id })} role="group">
      <h3>{t('studio.effects.heading', { name: layer.name || layer.id })}</h3>
      <div className="row wrap presets">
        {presets.length > 0 && (
          <div className="field">
            <label htmlFor="fx-preset">{t('studio.effects.preset')}</label>
            <select
              id="fx-preset"
              value=""
              onChange={(e) => {
                const preset = presets.find((p) => p.name === e.target.value);
                if (preset) change(preset.effects);
              }}
            >
              <option value="">{t('studio.effects.choosePreset')}</option>
              {presets.map((p) => (
                <option key={p.name} value={p.name}>
                  {p.name}
                </option>
              ))}
            </select>
          </div>
        )}
        <div className="field">
          <label htmlFor="fx-preset-name">{t('studio.effects.presetName')}</label>
          <input
            id="fx-preset-name"
            value={presetName}
            aria-invalid={presetError ? true : undefined}
            aria-describedby={presetError ? 'fx-preset-error' : undefined}
            onChange={(e) => setPresetName(e.target.value)}
          />
        </div>
        <button type="button" onClick={() => void savePreset()}>
          {t('studio.effects.savePreset')}
        </button>
      </div>
      {presetError && (
        <p role="alert" className="error" id="fx-preset-error">
          {presetError}
        </p>
      )}
      <Slider id="fx-smooth" label={t('studio.effects.smooth')} value={effects.beauty.smooth} onChange={(smooth) => beauty({ smooth })} />
      <Slider id="fx-whiten" label={t('studio.effects.whiten')} value={effects.beauty.whiten} onChange={(whiten) => beauty({ whiten })} />
      <Slider id="fx-sharpen" label={t('studio.effects.sharpen')} value={effects.beauty.sharpen} onChange={(sharpen) => beauty({ sharpen })} />
      <div className="field">
        <label htmlFor="fx-mode">{t('studio.effects.background')}</label>
        <select id="fx-mode" value={bg.mode} onChange={(e) => background({ mode: e.target.value as Background['mode'] })}>
          {(['off', 'blur', 'image', 'colour'] as const).map((m) => (
            <option key={m} value={m}>
              {t(`studio.effects.mode.${m}`)}
            </option>
          ))}
        </select>
      </div>
      {bg.mode !== 'off' && (
        <>
          <div className="field">
            <label htmlFor="fx-source">{t('studio.effects.maskSource')}</label>
            <select id="fx-source" value={bg.source} onChange={(e) => background({ source: e.target.value as Background['source'] })}>
              <option value="person">{t('studio.effects.person')}</option>
              <option value="chroma_key">{t('studio.effects.chromaKey')}</option>
            </select>
          </div>
          {bg.source === 'chroma_key' && (
            <>
              <div className="field">
                <label htmlFor="fx-key">{t('studio.effects.keyColour')}</label>
                <input id="fx-key" type="color" value={bg.key_colour.toLowerCase()} onChange={(e) => background({ key_colour: e.target.value.toUpperCase() })} />
              </div>
              <Slider id="fx-similarity" label={t('studio.effects.similarity')} value={bg.similarity} onChange={(similarity) => background({ similarity })} />
              <Slider id="fx-smoothness" label={t('studio.effects.smoothness')} value={bg.smoothness} onChange={(smoothness) => background({ smoothness })} />
            </>
          )}
          {bg.mode === 'colour' && (
            <div className="field">
              <label htmlFor="fx-colour">{t('studio.effects.colour')}</label>
              <input id="fx-colour" type="color" value={bg.colour.toLowerCase()} onChange={(e) => background({ colour: e.target.value.toUpperCase() })} />
            </div>
          )}
          {bg.mode === 'image' && (
            <div className="field">
              <label htmlFor="fx-image">{t('studio.effects.image')}</label>
              <input id="fx-image" value={bg.image ?? ''} placeholder="/home/…/背景.jpg" onChange={(e) => background({ image: e.target.value || undefined })} />
            </div>
          )}
        </>
      )}
    </div>
  );
}
