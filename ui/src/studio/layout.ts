// Geometry of the preview's layer editor, in canvas pixels (the engine's integers); the
// component only converts pointer positions and renders percentages.
import type { Layer, Rect } from './scenes';

export interface Size {
  width: number;
  height: number;
}

export interface Point {
  x: number;
  y: number;
}

/** The element's box on screen, as `getBoundingClientRect` gives it. */
export interface Bounds extends Size {
  left: number;
  top: number;
}

export type Handle = 'nw' | 'ne' | 'sw' | 'se';
export const HANDLES: Handle[] = ['nw', 'ne', 'sw', 'se'];

/** Edges and centre lines pull a dragged rect when this close, in canvas pixels. */
export const SNAP_PX = 8;
/** A resize never shrinks a side below this, so a layer cannot vanish under the pointer. */
export const MIN_SIDE = 8;

/** The canvas point under a client point, for an element showing the whole canvas in `bounds`. */
export function toCanvasPoint(client: Point, bounds: Bounds, canvas: Size): Point {
  const sx = bounds.width > 0 ? canvas.width / bounds.width : 1;
  const sy = bounds.height > 0 ? canvas.height / bounds.height : 1;
  return { x: (client.x - bounds.left) * sx, y: (client.y - bounds.top) * sy };
}

/**
 * `rect` as CSS percentages of the displayed canvas: the boxes then follow the image at any
 * displayed size without measuring it.
 */
export function toDisplayBox(rect: Rect, canvas: Size): { left: string; top: string; width: string; height: string } {
  const pct = (v: number, of: number) => `${(v / of) * 100}%`;
  return {
    left: pct(rect.x, canvas.width),
    top: pct(rect.y, canvas.height),
    width: pct(rect.width, canvas.width),
    height: pct(rect.height, canvas.height),
  };
}

export function contains(rect: Rect, p: Point): boolean {
  return p.x >= rect.x && p.x < rect.x + rect.width && p.y >= rect.y && p.y < rect.y + rect.height;
}

/** The topmost visible layer under `p`; layers are bottom to top. */
export function hitTest(layers: Layer[], p: Point): Layer | undefined {
  for (let i = layers.length - 1; i >= 0; i -= 1) {
    const l = layers[i]!;
    if (l.visible && contains(l.rect, p)) return l;
  }
  return undefined;
}

/** `pos` moved so that the rect's start, centre or end meets the canvas's, if one is close. */
export function snapAxis(pos: number, size: number, extent: number): number {
  let best = pos;
  let distance = Infinity;
  for (const offset of [0, size / 2, size]) {
    for (const target of [0, extent / 2, extent]) {
      const d = Math.abs(pos + offset - target);
      if (d <= SNAP_PX && d < distance) {
        best = target - offset;
        distance = d;
      }
    }
  }
  return best;
}

/** A point snapped on each axis to the canvas's edges or centre line, if close. */
function snapPoint(p: Point, canvas: Size): Point {
  return { x: snapAxis(p.x, 0, canvas.width), y: snapAxis(p.y, 0, canvas.height) };
}

function rounded(r: Rect): Rect {
  return { x: Math.round(r.x), y: Math.round(r.y), width: Math.max(1, Math.round(r.width)), height: Math.max(1, Math.round(r.height)) };
}

/** `start` dragged by (`dx`, `dy`) canvas pixels, snapped to the canvas's edges and centre. */
export function moveRect(start: Rect, dx: number, dy: number, canvas: Size): Rect {
  return rounded({
    ...start,
    x: snapAxis(start.x + dx, start.width, canvas.width),
    y: snapAxis(start.y + dy, start.height, canvas.height),
  });
}

/**
 * `start` with corner `handle` dragged by (`dx`, `dy`); the opposite corner stays put. The
 * dragged corner snaps first; `keepAspect` then fits the box to `start`'s aspect ratio,
 * following whichever side grew (or shrank) more, so the snap may give way on the other axis.
 */
export function resizeRect(start: Rect, handle: Handle, dx: number, dy: number, canvas: Size, keepAspect: boolean): Rect {
  const west = handle === 'nw' || handle === 'sw';
  const north = handle === 'nw' || handle === 'ne';
  const fixed = { x: west ? start.x + start.width : start.x, y: north ? start.y + start.height : start.y };
  const corner = snapPoint({ x: (west ? start.x : start.x + start.width) + dx, y: (north ? start.y : start.y + start.height) + dy }, canvas);
  // Never past the opposite corner: the box keeps its orientation and at least MIN_SIDE.
  let width = Math.max(MIN_SIDE, west ? fixed.x - corner.x : corner.x - fixed.x);
  let height = Math.max(MIN_SIDE, north ? fixed.y - corner.y : corner.y - fixed.y);
  if (keepAspect && start.width > 0 && start.height > 0) {
    const ratio = start.width / start.height;
    if (Math.abs(width / start.width - 1) >= Math.abs(height / start.height - 1)) height = width / ratio;
    else width = height * ratio;
    if (width < MIN_SIDE || height < MIN_SIDE) {
      const grow = Math.max(MIN_SIDE / width, MIN_SIDE / height);
      width *= grow;
      height *= grow;
    }
  }
  return rounded({ x: west ? fixed.x - width : fixed.x, y: north ? fixed.y - height : fixed.y, width, height });
}

const ARROWS: Record<string, Point> = {
  ArrowLeft: { x: -1, y: 0 },
  ArrowRight: { x: 1, y: 0 },
  ArrowUp: { x: 0, y: -1 },
  ArrowDown: { x: 0, y: 1 },
};

export function isArrowKey(key: string): boolean {
  return key in ARROWS;
}

/** `rect` nudged by an arrow key, 1 px or 10 with Shift, without snapping (nudges are exact). */
export function nudgeRect(rect: Rect, key: string, shift: boolean): Rect {
  const d = ARROWS[key];
  if (!d) return rect;
  const step = shift ? 10 : 1;
  return { ...rect, x: rect.x + d.x * step, y: rect.y + d.y * step };
}

export function sameRect(a: Rect, b: Rect): boolean {
  return a.x === b.x && a.y === b.y && a.width === b.width && a.height === b.height;
}
