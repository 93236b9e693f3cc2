import { useEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import { EffectsDock } from './EffectsDock';
import { command } from './ipc';
import {
  activeScene,
  addLayer,
  addScene,
  moveLayer,
  removeLayer,
  restoreLayer,
  updateLayer,
  type CameraMode,
  type Layer,
  type Scene,
  type SceneCollection,
  type Source,
  type SourceKind,
} from './scenes';
import { useUndo } from './Undo';
import type { ScenesModel } from './useScenes';

interface Camera {
  device: string;
  name: string;
  /** Largest first, as the engine lists them. */
  modes?: CameraMode[];
}

/** `1920×1080 30fps MJPEG`: what a capture mode costs and gives, at a glance. */
export function modeLabel(mode: CameraMode): string {
  const format = mode.format && mode.format !== 'raw' ? ` ${mode.format === 'mjpeg' ? 'MJPEG' : 'H.264'}` : '';
  return `${mode.width}×${mode.height} ${mode.fps}fps${format}`;
}

const KINDS: SourceKind[] = ['camera', 'screen', 'image', 'media', 'text', 'colour'];

/** The engine omits `locked` when false; the window does the same, so unlocking sends what it read. */
function withLock(layer: Layer, locked: boolean): Layer {
  const next: Layer = { ...layer, locked };
  if (!locked) delete next.locked;
  return next;
}

const THUMB_FILL: Record<SourceKind, string> = {
  camera: '#3b82f6',
  screen: '#8b5cf6',
  image: '#10b981',
  media: '#f59e0b',
  text: '#e5e7eb',
  colour: '#6b7280',
};

/**
 * A scene at a glance: its visible layers as boxes on its canvas, bottom to top, coloured by
 * kind (a colour layer in its own colour), so scenes are told apart without reading names.
 */
export function SceneThumb({ scene, canvas }: { scene: Scene; canvas: { width: number; height: number } }) {
  return (
    <svg className="scene-thumb" viewBox={`0 0 ${canvas.width} ${canvas.height}`} aria-hidden="true" data-testid={`scene-thumb-${scene.id}`}>
      <rect width={canvas.width} height={canvas.height} fill="#000" />
      {scene.layers
        .filter((l) => l.visible)
        .map((l) => (
          <rect
            key={l.id}
            x={l.rect.x}
            y={l.rect.y}
            width={l.rect.width}
            height={l.rect.height}
            fill={l.source.kind === 'colour' ? l.source.colour : THUMB_FILL[l.source.kind]}
            fillOpacity={l.source.kind === 'text' ? 0.5 : 0.85 * l.opacity}
            stroke="#fff"
            strokeOpacity={0.35}
            strokeWidth={Math.max(2, canvas.width / 200)}
          />
        ))}
    </svg>
  );
}

/** Scenes (switch with a cut or a fade) and the active scene's layers: add, reorder, hide, lock, remove. */
export function ScenesDock({ model, ready }: { model: ScenesModel; ready: boolean }) {
  const { t } = useTranslation();
  const { collection: scenes, selected, select } = model;
  const [refusal, setRefusal] = useState<string | null>(null);
  const [fade, setFade] = useState(true);
  const [kind, setKind] = useState<SourceKind>('camera');
  const [value, setValue] = useState('');
  // Index into the chosen camera's modes; '' lets the engine pick (largest fluid mode).
  const [modeIndex, setModeIndex] = useState('');
  const [cameras, setCameras] = useState<Camera[]>([]);
  const error = refusal ?? model.loadError;
  const offerUndo = useUndo();
  // An undo puts the layer back into the scenes as they are then, not as they were.
  const latest = useRef(scenes);
  useEffect(() => {
    latest.current = scenes;
  });

  useEffect(() => {
    if (!ready) return;
    let active = true;
    command<Camera[]>('cameras')
      .then((c) => {
        if (active) setCameras(c);
      })
      .catch(() => undefined);
    return () => {
      active = false;
    };
  }, [ready]);

  /** Shows `next`; on a refusal the dock keeps what the engine shows and says why. */
  const apply = async (next: SceneCollection, fadeMs = 0) => {
    setRefusal(null);
    setRefusal(await model.apply(next, fadeMs));
  };

  if (!scenes) {
    return (
      <section className="panel" aria-labelledby="scenes-heading">
        <h2 id="scenes-heading">{t('studio.scenes.heading')}</h2>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : (
          <p className="muted">{t('studio.preview.waiting')}</p>
        )}
      </section>
    );
  }
  const scene = activeScene(scenes);
  const sceneId = scene?.id ?? '';
  const layers = [...(scene?.layers ?? [])].reverse(); // top first, as docks list them
  const selectedLayer = scene?.layers.find((l) => l.id === selected && l.source.kind === 'camera');

  const removeWithUndo = async (layer: Layer) => {
    const index = scene?.layers.findIndex((x) => x.id === layer.id) ?? -1;
    setRefusal(null);
    const refused = await model.apply(removeLayer(scenes, sceneId, layer.id));
    if (refused) {
      setRefusal(refused);
      return;
    }
    offerUndo({
      message: t('studio.undo.layerRemoved', { name: layer.name || layer.id }),
      undo: () => {
        const now = latest.current;
        return now ? model.apply(restoreLayer(now, sceneId, layer, index)) : Promise.resolve(null);
      },
    });
  };

  const newSource = (): Source | null => {
    const v = value.trim();
    switch (kind) {
      case 'camera': {
        const device = v || cameras[0]?.device || 'test';
        const mode = cameras.find((c) => c.device === device)?.modes?.[Number(modeIndex)];
        return modeIndex !== '' && mode ? { kind, device, mode } : { kind, device };
      }
      case 'screen':
        return { kind };
      case 'image':
        return v ? { kind, path: v } : null;
      case 'media':
        return v ? { kind, path: v, looping: true } : null;
      case 'text':
        return v ? { kind, text: v, size: 32, colour: '#FFFFFF' } : null;
      case 'colour':
        return { kind, colour: /^#[0-9a-fA-F]{6}$/.test(v) ? v : '#000000' };
    }
  };

  return (
    <section className="panel docks-scenes" aria-labelledby="scenes-heading">
      <h2 id="scenes-heading">{t('studio.scenes.heading')}</h2>
      {error && (
        <p role="alert" className="error" data-testid="scenes-error">
          {error}
        </p>
      )}
      <div className="row wrap scene-list" role="group" aria-label={t('studio.scenes.switch')}>
        {scenes.scenes.map((s) => (
          <button
            key={s.id}
            type="button"
            aria-pressed={s.id === sceneId}
            className={s.id === sceneId ? 'scene primary' : 'scene'}
            onClick={() => void apply({ ...scenes, active_scene: s.id }, fade ? 500 : 0)}
          >
            <SceneThumb scene={s} canvas={scenes.canvas} />
            <span>{s.name || s.id}</span>
          </button>
        ))}
        <button type="button" className="link" onClick={() => void apply(addScene(scenes, t('studio.scenes.newScene', { n: scenes.scenes.length + 1 })))}>
          {t('studio.scenes.add')}
        </button>
        <label className="inline">
          <input type="checkbox" checked={fade} onChange={(e) => setFade(e.target.checked)} /> {t('studio.scenes.fade')}
        </label>
      </div>

      <h3>{t('studio.scenes.layers')}</h3>
      <ul className="layers" data-testid="layers">
        {layers.map((l, i) => (
          <li key={l.id} className={l.id === selected ? 'selected' : undefined}>
            <button type="button" className="link name" onClick={() => select(l.id)} aria-pressed={l.id === selected}>
              {t(`studio.scenes.kind.${l.source.kind}`)} · {l.name || l.id}
            </button>
            <label className="inline">
              <input
                type="checkbox"
                checked={l.visible}
                onChange={(e) => void apply(updateLayer(scenes, sceneId, l.id, (x) => ({ ...x, visible: e.target.checked })))}
              />{' '}
              {t('studio.scenes.visible')}
            </label>
            <label className="inline">
              <input
                type="checkbox"
                checked={l.locked ?? false}
                aria-label={t('studio.scenes.lockN', { name: l.name || l.id })}
                onChange={(e) => void apply(updateLayer(scenes, sceneId, l.id, (x) => withLock(x, e.target.checked)))}
              />{' '}
              {t('studio.scenes.locked')}
            </label>
            {l.source.kind === 'media' && <MediaSound layer={l} onChange={(source) => void apply(updateLayer(scenes, sceneId, l.id, (x) => ({ ...x, source })))} />}
            <button type="button" className="link" disabled={i === 0} aria-label={t('studio.scenes.upN', { name: l.name || l.id })} onClick={() => void apply(moveLayer(scenes, sceneId, l.id, 1))}>
              ↑
            </button>
            <button type="button" className="link" disabled={i === layers.length - 1} aria-label={t('studio.scenes.downN', { name: l.name || l.id })} onClick={() => void apply(moveLayer(scenes, sceneId, l.id, -1))}>
              ↓
            </button>
            <button
              type="button"
              className="link"
              disabled={l.locked}
              title={l.locked ? t('studio.scenes.lockedHint') : undefined}
              aria-label={t('studio.scenes.removeN', { name: l.name || l.id })}
              onClick={() => void removeWithUndo(l)}
            >
              ✕
            </button>
          </li>
        ))}
      </ul>

      <form
        className="row wrap"
        onSubmit={(e) => {
          e.preventDefault();
          const source = newSource();
          if (!source) {
            setRefusal(t('studio.scenes.needValue'));
            return;
          }
          void apply(addLayer(scenes, sceneId, source, t(`studio.scenes.kind.${kind}`)));
          setValue('');
        }}
      >
        <label className="inline">
          {t('studio.scenes.newLayer')}{' '}
          <select value={kind} onChange={(e) => setKind(e.target.value as SourceKind)}>
            {KINDS.map((k) => (
              <option key={k} value={k}>
                {t(`studio.scenes.kind.${k}`)}
              </option>
            ))}
          </select>
        </label>
        {kind === 'camera' ? (
          <>
            <select
              aria-label={t('studio.scenes.device')}
              value={value}
              onChange={(e) => {
                setValue(e.target.value);
                setModeIndex('');
              }}
            >
              <option value="test">{t('studio.scenes.testPattern')}</option>
              {cameras.map((c) => (
                <option key={c.device} value={c.device}>
                  {c.name}
                </option>
              ))}
            </select>
            <select aria-label={t('studio.scenes.mode')} value={modeIndex} onChange={(e) => setModeIndex(e.target.value)}>
              <option value="">{t('studio.scenes.modeAuto')}</option>
              {(cameras.find((c) => c.device === (value || cameras[0]?.device))?.modes ?? []).map((m, i) => (
                <option key={modeLabel(m)} value={String(i)}>
                  {modeLabel(m)}
                </option>
              ))}
            </select>
          </>
        ) : kind !== 'screen' ? (
          <input aria-label={t(`studio.scenes.valueOf.${kind}`)} placeholder={t(`studio.scenes.valueOf.${kind}`)} value={value} onChange={(e) => setValue(e.target.value)} />
        ) : null}
        <button type="submit">{t('studio.scenes.addLayer')}</button>
      </form>

      {selectedLayer && (
        <EffectsDock
          key={selectedLayer.id}
          layer={selectedLayer}
          onChange={(effects) => void apply(updateLayer(scenes, sceneId, selectedLayer.id, (x) => ({ ...x, effects })))}
        />
      )}
    </section>
  );
}

/** A video layer's sound: volume (0–200 %) and mute, changed while it plays. */
function MediaSound({ layer, onChange }: { layer: Layer; onChange: (source: Source) => void }) {
  const { t } = useTranslation();
  if (layer.source.kind !== 'media') return null;
  const source = layer.source;
  const name = layer.name || layer.id;
  const volume = Math.round((source.volume ?? 1) * 100);
  return (
    <>
      <input
        type="range"
        min={0}
        max={200}
        value={volume}
        aria-label={t('studio.scenes.volumeN', { name })}
        onChange={(e) => onChange({ ...source, volume: Number(e.target.value) / 100 })}
      />
      <output>{volume}%</output>
      <label className="inline">
        <input type="checkbox" checked={source.muted ?? false} aria-label={t('studio.scenes.muteN', { name })} onChange={(e) => onChange({ ...source, muted: e.target.checked })} />{' '}
        {t('studio.audio.mute')}
      </label>
    </>
  );
}
