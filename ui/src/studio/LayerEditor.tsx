import { useId, useRef, useState, type KeyboardEvent, type PointerEvent } from 'react';
import { useTranslation } from 'react-i18next';
import { HANDLES, hitTest, isArrowKey, moveRect, nudgeRect, resizeRect, sameRect, toCanvasPoint, toDisplayBox, type Handle, type Point } from './layout';
import { activeScene, canvasOf, placeLayer, placement, updateLayer, type CanvasId, type Layer, type Rect, type SceneCollection } from './scenes';
import type { ScenesModel } from './useScenes';

interface Drag {
  pointerId: number;
  layerId: string;
  /** A corner being dragged, or null when the whole box moves. */
  handle: Handle | null;
  start: Rect;
  origin: Point;
}

interface Draft {
  layerId: string;
  rect: Rect;
}

/**
 * Boxes over the preview for the active scene's visible layers on one canvas: click selects,
 * drag moves, corners resize, arrow keys nudge. On the second canvas the boxes are the layers'
 * places there, and an edit sets that canvas's own place (`second_rect`). The engine gets one
 * `set_scenes` per gesture, when it ends: every move would restart its compositor layout many
 * times a second.
 */
export function LayerEditor({
  model,
  collection,
  canvasId = 'first',
  onRefusal,
  describedBy,
}: {
  model: ScenesModel;
  collection: SceneCollection;
  canvasId?: CanvasId;
  onRefusal: (message: string | null) => void;
  describedBy?: string;
}) {
  const { t } = useTranslation();
  const prefix = useId();
  const ref = useRef<HTMLDivElement>(null);
  const drag = useRef<Drag | null>(null);
  // Handlers read the ref (a pointer-up may come before the move's render); the boxes, the state.
  const pending = useRef<Draft | null>(null);
  const [draft, setDraft] = useState<Draft | null>(null);
  const scene = activeScene(collection);
  const canvas = canvasOf(collection, canvasId) ?? collection.canvas;
  // The layers as this canvas shows them: each at its place here.
  const layers: Layer[] = (scene?.layers ?? []).flatMap((l) => {
    const rect = placement(collection, l, canvasId);
    return rect ? [{ ...l, rect }] : [];
  });
  const selected = layers.find((l) => l.id === model.selected && l.visible);
  const boxId = (layerId: string) => `${prefix}-layer-${layerId}`;

  const show = (next: Draft | null) => {
    pending.current = next;
    setDraft(next);
  };

  const commit = () => {
    const done = pending.current;
    show(null);
    const layer = layers.find((l) => l.id === done?.layerId);
    if (!scene || !done || !layer || sameRect(layer.rect, done.rect)) return;
    onRefusal(null);
    void model.apply(updateLayer(collection, scene.id, layer.id, (l) => placeLayer(l, canvasId, done.rect)), 0).then(onRefusal);
  };

  const pointAt = (e: PointerEvent) => {
    const bounds = ref.current!.getBoundingClientRect();
    return toCanvasPoint({ x: e.clientX, y: e.clientY }, bounds, canvas);
  };

  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    if (e.button !== 0 || drag.current) return;
    const p = pointAt(e);
    const handle = (e.target as HTMLElement).dataset?.handle as Handle | undefined;
    const layer = handle && selected ? selected : hitTest(layers, p);
    model.select(layer?.id ?? null);
    // No text selection or image drag; focus by hand since that also stops the mouse's.
    e.preventDefault();
    ref.current?.focus();
    if (!layer || layer.locked) return;
    ref.current?.setPointerCapture?.(e.pointerId);
    drag.current = { pointerId: e.pointerId, layerId: layer.id, handle: handle ?? null, start: layer.rect, origin: p };
  };

  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    const d = drag.current;
    if (!d || d.pointerId !== e.pointerId) return;
    const p = pointAt(e);
    const [dx, dy] = [p.x - d.origin.x, p.y - d.origin.y];
    const rect = d.handle ? resizeRect(d.start, d.handle, dx, dy, canvas, e.shiftKey) : moveRect(d.start, dx, dy, canvas);
    show({ layerId: d.layerId, rect });
  };

  const onPointerUp = (e: PointerEvent<HTMLDivElement>) => {
    const d = drag.current;
    if (!d || d.pointerId !== e.pointerId) return;
    drag.current = null;
    if (ref.current?.hasPointerCapture?.(e.pointerId)) ref.current.releasePointerCapture(e.pointerId);
    commit();
  };

  const onPointerCancel = () => {
    drag.current = null;
    show(null);
  };

  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key === 'Escape') {
      drag.current = null;
      show(null);
      model.select(null);
      return;
    }
    if (!isArrowKey(e.key) || drag.current || !selected || selected.locked) return;
    e.preventDefault();
    const from = pending.current?.layerId === selected.id ? pending.current.rect : selected.rect;
    show({ layerId: selected.id, rect: nudgeRect(from, e.key, e.shiftKey) });
  };

  const onKeyUp = (e: KeyboardEvent<HTMLDivElement>) => {
    if (isArrowKey(e.key) && !drag.current && pending.current) commit();
  };

  return (
    <div
      ref={ref}
      className="layer-editor"
      role="listbox"
      tabIndex={0}
      aria-label={t('studio.preview.layers')}
      aria-describedby={describedBy}
      aria-activedescendant={selected ? boxId(selected.id) : undefined}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={onPointerCancel}
      onKeyDown={onKeyDown}
      onKeyUp={onKeyUp}
    >
      {layers
        .filter((l) => l.visible)
        .map((l) => {
          const isSelected = l.id === selected?.id;
          const rect = draft?.layerId === l.id ? draft.rect : l.rect;
          return (
            <div
              key={l.id}
              id={boxId(l.id)}
              role="option"
              aria-label={l.name || l.id}
              aria-selected={isSelected}
              data-selected={isSelected || undefined}
              data-locked={l.locked || undefined}
              data-testid={`layer-box-${l.id}`}
              className="layer-box"
              style={toDisplayBox(rect, canvas)}
            >
              {isSelected &&
                !l.locked &&
                HANDLES.map((h) => <span key={h} className={`handle handle-${h}`} data-handle={h} data-testid={`handle-${h}`} aria-hidden="true" />)}
            </div>
          );
        })}
    </div>
  );
}
