import { describe, expect, it } from 'vitest';
import { activeScene, addLayer, addScene, moveLayer, removeLayer, updateLayer, type SceneCollection } from './scenes';

const collection = (): SceneCollection => ({
  version: 1,
  canvas: { width: 1280, height: 720, fps: 30 },
  scenes: [
    {
      id: 'main',
      name: '主场景',
      layers: [
        { id: 'camera', name: '摄像头', source: { kind: 'camera', device: 'test' }, rect: { x: 0, y: 0, width: 1280, height: 720 }, opacity: 1, visible: true },
        { id: 'logo', name: 'logo', source: { kind: 'image', path: '/tmp/l.png' }, rect: { x: 0, y: 0, width: 100, height: 100 }, opacity: 1, visible: true },
      ],
    },
  ],
});

describe('scene edits', () => {
  it('adds layers on top with fresh ids and sizes by kind', () => {
    let c = addLayer(collection(), 'main', { kind: 'camera', device: '/dev/video1' }, '副机位');
    c = addLayer(c, 'main', { kind: 'text', text: '全场包邮', size: 32, colour: '#FFFFFF' }, '字幕');
    const layers = activeScene(c)!.layers;
    expect(layers.map((l) => l.id)).toEqual(['camera', 'logo', 'camera-2', 'text']);
    expect(layers[2]!.rect).toEqual({ x: 0, y: 0, width: 1280, height: 720 });
    expect(layers[3]!.rect.width).toBe(640);
  });

  it('moves a layer one step and never past the ends', () => {
    const up = moveLayer(collection(), 'main', 'camera', 1);
    expect(activeScene(up)!.layers.map((l) => l.id)).toEqual(['logo', 'camera']);
    expect(moveLayer(up, 'main', 'camera', 1)).toEqual(up);
  });

  it('hides and removes layers, and adds scenes with unused ids', () => {
    const hidden = updateLayer(collection(), 'main', 'logo', (l) => ({ ...l, visible: false }));
    expect(activeScene(hidden)!.layers[1]!.visible).toBe(false);
    expect(activeScene(removeLayer(hidden, 'main', 'logo'))!.layers).toHaveLength(1);
    const two = addScene(addScene(collection(), '商品特写'), '抽奖');
    expect(two.scenes.map((s) => s.id)).toEqual(['main', 'scene-2', 'scene-3']);
  });
});
