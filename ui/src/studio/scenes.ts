// The engine's scene model as `pipelines::scene` serializes it, and the edits the docks make.
// Every edit returns a new collection; the dock sends it whole with `set_scenes`.
import type { Orientation } from '../bindings/Orientation';

export interface Rect {
  x: number;
  y: number;
  width: number;
  height: number;
}

/** A capture mode a camera offers; raw when `format` is absent. */
export interface CameraMode {
  width: number;
  height: number;
  fps: number;
  format?: 'raw' | 'mjpeg' | 'h264';
}

export type Source =
  | { kind: 'camera'; device: string; mode?: CameraMode }
  | { kind: 'screen'; display?: string; window?: number }
  | { kind: 'image'; path: string }
  | { kind: 'media'; path: string; looping: boolean; volume?: number; muted?: boolean }
  | { kind: 'text'; text: string; font?: string; size: number; colour: string }
  | { kind: 'colour'; colour: string };

export type SourceKind = Source['kind'];

export interface Beauty {
  smooth: number;
  whiten: number;
  sharpen: number;
}

export interface Background {
  mode: 'off' | 'blur' | 'image' | 'colour';
  source: 'person' | 'chroma_key';
  key_colour: string;
  similarity: number;
  smoothness: number;
  spill: number;
  blur_radius: number;
  colour: string;
  image?: string;
}

export interface Effects {
  beauty: Beauty;
  background: Background;
}

export interface Layer {
  id: string;
  name: string;
  source: Source;
  rect: Rect;
  /** Where it sits on the second canvas; the engine refits `rect` when absent. */
  second_rect?: Rect;
  /** Which canvases show it (both when absent). */
  canvases?: 'both' | 'first' | 'second';
  crop?: { top: number; right: number; bottom: number; left: number };
  opacity: number;
  visible: boolean;
  /** The studio's editors neither move, resize nor remove it; the engine ignores it. */
  locked?: boolean;
  effects?: Effects;
}

export interface Scene {
  id: string;
  name: string;
  layers: Layer[];
}

export interface SceneCollection {
  version: number;
  canvas: { width: number; height: number; fps: number };
  /** Composed beside `canvas` from the same sources (landscape + portrait at once). */
  second_canvas?: { width: number; height: number; fps: number };
  scenes: Scene[];
  active_scene?: string;
}

export type { Orientation };

/** One of a collection's canvases: `second` is the one composed beside `canvas`. */
export type CanvasId = 'first' | 'second';

type Size = { width: number; height: number };

/**
 * `rect` of canvas `from` placed on canvas `to`, as the engine does for a layer without a
 * `second_rect` (`Rect::refit`): one that filled `from` fills `to`; any other keeps its shape,
 * scaled by the smaller factor, with its centre at the same relative place.
 */
export function refit(rect: Rect, from: Size, to: Size): Rect {
  const fills = rect.x <= 0 && rect.y <= 0 && rect.x + rect.width >= from.width && rect.y + rect.height >= from.height;
  if (fills) return { x: 0, y: 0, width: to.width, height: to.height };
  const [sx, sy] = [to.width / from.width, to.height / from.height];
  const s = Math.min(sx, sy);
  const width = Math.max(1, Math.round(rect.width * s));
  const height = Math.max(1, Math.round(rect.height * s));
  const cx = (rect.x + rect.width / 2) * sx;
  const cy = (rect.y + rect.height / 2) * sy;
  return { x: Math.round(cx - width / 2), y: Math.round(cy - height / 2), width, height };
}

/** The size of canvas `id`, if the collection has it. */
export function canvasOf(c: SceneCollection, id: CanvasId): Size | undefined {
  return id === 'first' ? c.canvas : c.second_canvas;
}

/** Where `layer` sits on canvas `id`, or undefined when that canvas does not show it. */
export function placement(c: SceneCollection, layer: Layer, id: CanvasId): Rect | undefined {
  const on = layer.canvases ?? 'both';
  if (on !== 'both' && on !== id) return undefined;
  if (id === 'first') return layer.rect;
  if (!c.second_canvas) return undefined;
  return layer.second_rect ?? refit(layer.rect, c.canvas, c.second_canvas);
}

/** The layer placed at `rect` on canvas `id` (the second canvas's place is its own from then on). */
export function placeLayer(layer: Layer, id: CanvasId, rect: Rect): Layer {
  return id === 'first' ? { ...layer, rect } : { ...layer, second_rect: rect };
}

export function orientationOf(collection: Pick<SceneCollection, 'canvas' | 'second_canvas'>): Orientation {
  if (collection.second_canvas) return 'dual';
  const { canvas } = collection;
  return canvas.height > canvas.width ? 'portrait' : 'landscape';
}

export const DEFAULT_EFFECTS: Effects = {
  beauty: { smooth: 0, whiten: 0, sharpen: 0 },
  background: {
    mode: 'off',
    source: 'person',
    key_colour: '#00B140',
    similarity: 0.16,
    smoothness: 0.08,
    spill: 0.7,
    blur_radius: 24,
    colour: '#202020',
  },
};

export function activeScene(c: SceneCollection): Scene | undefined {
  return c.scenes.find((s) => s.id === c.active_scene) ?? c.scenes[0];
}

function mapScene(c: SceneCollection, sceneId: string, f: (s: Scene) => Scene): SceneCollection {
  return { ...c, scenes: c.scenes.map((s) => (s.id === sceneId ? f(s) : s)) };
}

/** A fresh id not used in the scene: `camera`, `camera-2`, … */
export function freshId(scene: Scene, base: string): string {
  const used = new Set(scene.layers.map((l) => l.id));
  if (!used.has(base)) return base;
  let n = 2;
  while (used.has(`${base}-${n}`)) n += 1;
  return `${base}-${n}`;
}

/** Layers are bottom to top; `delta` +1 moves one step up (towards the front). */
export function moveLayer(c: SceneCollection, sceneId: string, layerId: string, delta: 1 | -1): SceneCollection {
  return mapScene(c, sceneId, (s) => {
    const i = s.layers.findIndex((l) => l.id === layerId);
    const j = i + delta;
    if (i < 0 || j < 0 || j >= s.layers.length) return s;
    const layers = [...s.layers];
    [layers[i], layers[j]] = [layers[j]!, layers[i]!];
    return { ...s, layers };
  });
}

export function updateLayer(c: SceneCollection, sceneId: string, layerId: string, f: (l: Layer) => Layer): SceneCollection {
  return mapScene(c, sceneId, (s) => ({ ...s, layers: s.layers.map((l) => (l.id === layerId ? f(l) : l)) }));
}

export function removeLayer(c: SceneCollection, sceneId: string, layerId: string): SceneCollection {
  return mapScene(c, sceneId, (s) => ({ ...s, layers: s.layers.filter((l) => l.id !== layerId) }));
}

/**
 * `layer` back in scene `sceneId` at `index` (bottom to top), as it was before a removal: into
 * the collection as it is now, so edits made since stay. Unchanged when the scene is gone or
 * the layer is back already.
 */
export function restoreLayer(c: SceneCollection, sceneId: string, layer: Layer, index: number): SceneCollection {
  return mapScene(c, sceneId, (s) => {
    if (s.layers.some((l) => l.id === layer.id)) return s;
    const at = Math.max(0, Math.min(index, s.layers.length));
    return { ...s, layers: [...s.layers.slice(0, at), layer, ...s.layers.slice(at)] };
  });
}

/** A new layer on top: cameras, screens and media fill the canvas; the rest sit in a corner. */
export function addLayer(c: SceneCollection, sceneId: string, source: Source, name: string): SceneCollection {
  return mapScene(c, sceneId, (s) => {
    const { width, height } = c.canvas;
    const full = source.kind === 'camera' || source.kind === 'screen' || source.kind === 'media';
    const rect = full
      ? { x: 0, y: 0, width, height }
      : source.kind === 'text'
        ? { x: Math.round(width * 0.05), y: Math.round(height * 0.05), width: Math.round(width * 0.5), height: Math.round(height * 0.12) }
        : { x: Math.round(width * 0.6), y: Math.round(height * 0.05), width: Math.round(width * 0.35), height: Math.round(height * 0.35) };
    const layer: Layer = { id: freshId(s, source.kind), name, source, rect, opacity: 1, visible: true };
    return { ...s, layers: [...s.layers, layer] };
  });
}

export function addScene(c: SceneCollection, name: string): SceneCollection {
  const used = new Set(c.scenes.map((s) => s.id));
  let n = c.scenes.length + 1;
  while (used.has(`scene-${n}`)) n += 1;
  return { ...c, scenes: [...c.scenes, { id: `scene-${n}`, name, layers: [] }] };
}
