import { describe, expect, it } from 'vitest';
import { hitTest, MIN_SIDE, moveRect, nudgeRect, resizeRect, snapAxis, toCanvasPoint, toDisplayBox } from './layout';
import type { Layer, Rect } from './scenes';

const CANVAS = { width: 1280, height: 720 };

const layer = (id: string, rect: Rect, extra: Partial<Layer> = {}): Layer => ({
  id,
  name: id,
  source: { kind: 'colour', colour: '#000000' },
  rect,
  opacity: 1,
  visible: true,
  ...extra,
});

describe('canvas and display', () => {
  it('maps a client point into canvas pixels through the displayed size and offset', () => {
    const bounds = { left: 10, top: 20, width: 640, height: 360 };
    expect(toCanvasPoint({ x: 10, y: 20 }, bounds, CANVAS)).toEqual({ x: 0, y: 0 });
    expect(toCanvasPoint({ x: 330, y: 200 }, bounds, CANVAS)).toEqual({ x: 640, y: 360 });
  });

  it('places a rect as percentages of the canvas, overhangs included', () => {
    expect(toDisplayBox({ x: -128, y: 360, width: 640, height: 720 }, CANVAS)).toEqual({
      left: '-10%',
      top: '50%',
      width: '50%',
      height: '100%',
    });
  });
});

describe('hit test', () => {
  const layers = [
    layer('camera', { x: 0, y: 0, width: 1280, height: 720 }),
    layer('logo', { x: 100, y: 100, width: 200, height: 200 }),
    layer('hidden', { x: 100, y: 100, width: 50, height: 50 }, { visible: false }),
  ];

  it('finds the topmost visible layer under the point', () => {
    expect(hitTest(layers, { x: 120, y: 120 })?.id).toBe('logo');
    expect(hitTest(layers, { x: 299, y: 299 })?.id).toBe('logo');
    expect(hitTest(layers, { x: 300, y: 300 })?.id).toBe('camera');
    expect(hitTest(layers, { x: 1300, y: 10 })).toBeUndefined();
  });
});

describe('move', () => {
  const start = { x: 100, y: 100, width: 200, height: 100 };

  it('moves by the drag in whole canvas pixels', () => {
    expect(moveRect(start, 50.4, -20.6, CANVAS)).toEqual({ x: 150, y: 79, width: 200, height: 100 });
  });

  it('snaps the left, right or centre to the canvas edges and centre within 8 px', () => {
    expect(moveRect(start, -92, 0, CANVAS).x).toBe(0);
    expect(moveRect(start, -91, 0, CANVAS).x).toBe(9);
    expect(moveRect(start, 985, 0, CANVAS).x).toBe(1080);
    expect(moveRect(start, 437, 0, CANVAS).x).toBe(540);
    expect(moveRect(start, 0, 214, CANVAS).y).toBe(310);
    expect(snapAxis(-5, 100, 1280)).toBe(0);
  });

  it('may leave the rect hanging over an edge', () => {
    expect(moveRect(start, -300, 0, CANVAS).x).toBe(-200);
  });

  it('nudges by 1 px, or 10 with Shift, without snapping', () => {
    expect(nudgeRect({ x: 3, y: 3, width: 10, height: 10 }, 'ArrowLeft', false)).toMatchObject({ x: 2, y: 3 });
    expect(nudgeRect({ x: 3, y: 3, width: 10, height: 10 }, 'ArrowDown', true)).toMatchObject({ x: 3, y: 13 });
    expect(nudgeRect({ x: 3, y: 3, width: 10, height: 10 }, 'a', true)).toMatchObject({ x: 3, y: 3 });
  });
});

describe('resize', () => {
  const start = { x: 100, y: 100, width: 200, height: 100 };

  it('moves only the dragged corner', () => {
    expect(resizeRect(start, 'se', 50, 30, CANVAS, false)).toEqual({ x: 100, y: 100, width: 250, height: 130 });
    expect(resizeRect(start, 'nw', 50, 30, CANVAS, false)).toEqual({ x: 150, y: 130, width: 150, height: 70 });
    expect(resizeRect(start, 'ne', 20, -20, CANVAS, false)).toEqual({ x: 100, y: 80, width: 220, height: 120 });
    expect(resizeRect(start, 'sw', -20, 20, CANVAS, false)).toEqual({ x: 80, y: 100, width: 220, height: 120 });
  });

  it('stops at the minimum side instead of turning the box inside out', () => {
    expect(resizeRect(start, 'se', -500, -500, CANVAS, false)).toEqual({ x: 100, y: 100, width: MIN_SIDE, height: MIN_SIDE });
    expect(resizeRect(start, 'nw', 500, 500, CANVAS, false)).toEqual({ x: 300 - MIN_SIDE, y: 200 - MIN_SIDE, width: MIN_SIDE, height: MIN_SIDE });
  });

  it('keeps the aspect ratio with Shift, following the side that changed more', () => {
    expect(resizeRect(start, 'se', 100, 10, CANVAS, true)).toEqual({ x: 100, y: 100, width: 300, height: 150 });
    expect(resizeRect(start, 'nw', 0, -50, CANVAS, true)).toEqual({ x: 0, y: 50, width: 300, height: 150 });
  });

  it('snaps the dragged corner to the canvas edges and centre', () => {
    expect(resizeRect(start, 'se', 975, 0, CANVAS, false)).toMatchObject({ width: 1180 });
    expect(resizeRect(start, 'se', 0, 155, CANVAS, false)).toMatchObject({ height: 260 });
    expect(resizeRect(start, 'nw', -95, -95, CANVAS, false)).toEqual({ x: 0, y: 0, width: 300, height: 200 });
  });
});
