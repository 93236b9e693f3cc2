import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { mockConvertFileSrc } from '@tauri-apps/api/mocks';
import { beforeAll, describe, expect, it, vi } from 'vitest';
import type { Layer, SceneCollection } from './scenes';
import { MONITOR_REFRESH_MS } from './Preview';
import { mockEngine, SceneEditors } from './testScenes';
import { studioTestSetup } from './testSetup';

studioTestSetup();

// jsdom has no PointerEvent: without one, fireEvent's pointer events lose their coordinates.
beforeAll(() => {
  if (!('PointerEvent' in window)) {
    class PointerEvent extends MouseEvent {
      pointerId: number;
      constructor(type: string, init: PointerEventInit = {}) {
        super(type, init);
        this.pointerId = init.pointerId ?? 1;
      }
    }
    Object.assign(window, { PointerEvent });
  }
});

const layer = (id: string, name: string, rect: Layer['rect'], extra: Partial<Layer> = {}): Layer => ({
  id,
  name,
  source: { kind: 'image', path: `/tmp/${id}.png` },
  rect,
  opacity: 1,
  visible: true,
  ...extra,
});

const collection = (): SceneCollection => ({
  version: 1,
  canvas: { width: 1280, height: 720, fps: 30 },
  scenes: [
    {
      id: 'main',
      name: '主场景',
      layers: [
        { ...layer('camera', '摄像头', { x: 0, y: 0, width: 1280, height: 720 }), source: { kind: 'camera', device: 'test' } },
        layer('logo', '台标', { x: 100, y: 100, width: 200, height: 200 }),
        layer('banner', '横幅', { x: 800, y: 500, width: 300, height: 100 }, { locked: true }),
        layer('hidden', '隐藏的', { x: 100, y: 100, width: 50, height: 50 }, { visible: false }),
      ],
    },
  ],
});

/** The editor shown at half size, 10 px right and 20 px down: client = 10 + canvas / 2. */
async function editor() {
  const list = await screen.findByRole('listbox', { name: '画面中的图层' });
  vi.spyOn(list, 'getBoundingClientRect').mockReturnValue({ left: 10, top: 20, width: 640, height: 360, right: 650, bottom: 380, x: 10, y: 20, toJSON: () => ({}) });
  return list;
}
const client = (x: number, y: number) => ({ clientX: 10 + x / 2, clientY: 20 + y / 2, pointerId: 1, button: 0 });

describe('preview layer editor', () => {
  it('shows a box per visible layer and selects the topmost under the pointer, in the dock too', async () => {
    mockEngine(collection());
    render(<SceneEditors />);
    const list = await editor();
    expect(within(list).getAllByRole('option').map((o) => o.getAttribute('aria-label'))).toEqual(['摄像头', '台标', '横幅']);
    expect(screen.getByTestId('layer-box-logo').style.left).toBe(`${(100 / 1280) * 100}%`);

    fireEvent.pointerDown(screen.getByTestId('layer-box-logo'), client(150, 150));
    fireEvent.pointerUp(list, client(150, 150));
    expect(screen.getByRole('option', { name: '台标' }).getAttribute('aria-selected')).toBe('true');
    expect(screen.getByTestId('layer-box-logo').dataset.selected).toBe('true');
    expect(screen.getByRole('button', { name: '图片 · 台标', pressed: true })).toBeTruthy();

    fireEvent.pointerDown(list, client(600, 50));
    expect(screen.getByTestId('layer-box-camera').dataset.selected).toBe('true');
    fireEvent.click(screen.getByRole('button', { name: '图片 · 横幅' }));
    expect(screen.getByTestId('layer-box-banner').getAttribute('aria-selected')).toBe('true');
  });

  it('drags a box and sends the new rect once, without a fade, when the pointer is released', async () => {
    const { sent } = mockEngine(collection());
    render(<SceneEditors />);
    const list = await editor();
    const logo = screen.getByTestId('layer-box-logo');
    fireEvent.pointerDown(logo, client(150, 150));
    fireEvent.pointerMove(list, client(170, 160));
    fireEvent.pointerMove(list, client(250, 190));
    expect(logo.style.left).toBe(`${(200 / 1280) * 100}%`);
    expect(sent).toHaveLength(0);
    fireEvent.pointerUp(list, client(250, 190));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]!.fadeMs).toBe(0);
    const layers = sent[0]!.scenes.scenes[0]!.layers;
    expect(layers.find((l) => l.id === 'logo')!.rect).toEqual({ x: 200, y: 140, width: 200, height: 200 });
    expect(layers.find((l) => l.id === 'camera')!.rect).toEqual({ x: 0, y: 0, width: 1280, height: 720 });
    await new Promise((r) => setTimeout(r, 10));
    expect(sent).toHaveLength(1);
  });

  it('resizes from a corner, keeping the aspect ratio with Shift', async () => {
    const { sent } = mockEngine(collection());
    render(<SceneEditors />);
    const list = await editor();
    fireEvent.pointerDown(screen.getByTestId('layer-box-logo'), client(150, 150));
    fireEvent.pointerUp(list, client(150, 150));
    fireEvent.pointerDown(screen.getByTestId('handle-se'), client(300, 300));
    fireEvent.pointerMove(list, { ...client(400, 320), shiftKey: true });
    fireEvent.pointerUp(list, { ...client(400, 320), shiftKey: true });
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]!.scenes.scenes[0]!.layers[1]!.rect).toEqual({ x: 100, y: 100, width: 300, height: 300 });
  });

  it('nudges with the arrow keys, sending on key up, and deselects with Escape', async () => {
    const { sent } = mockEngine(collection());
    render(<SceneEditors />);
    const list = await editor();
    fireEvent.pointerDown(screen.getByTestId('layer-box-logo'), client(150, 150));
    fireEvent.pointerUp(list, client(150, 150));
    fireEvent.keyDown(list, { key: 'ArrowRight' });
    fireEvent.keyDown(list, { key: 'ArrowRight' });
    fireEvent.keyDown(list, { key: 'ArrowDown', shiftKey: true });
    expect(sent).toHaveLength(0);
    fireEvent.keyUp(list, { key: 'ArrowDown' });
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]!.scenes.scenes[0]!.layers[1]!.rect).toMatchObject({ x: 102, y: 110 });
    fireEvent.keyDown(list, { key: 'Escape' });
    expect(screen.getByTestId('layer-box-logo').getAttribute('aria-selected')).toBe('false');
    expect(list.getAttribute('aria-activedescendant')).toBeNull();
  });

  it('selects a locked layer but neither moves nor resizes it', async () => {
    const { sent } = mockEngine(collection());
    render(<SceneEditors />);
    const list = await editor();
    const banner = screen.getByTestId('layer-box-banner');
    fireEvent.pointerDown(banner, client(900, 550));
    fireEvent.pointerMove(list, client(700, 300));
    fireEvent.pointerUp(list, client(700, 300));
    fireEvent.keyDown(list, { key: 'ArrowLeft' });
    fireEvent.keyUp(list, { key: 'ArrowLeft' });
    expect(banner.dataset.selected).toBe('true');
    expect(within(banner).queryByTestId('handle-se')).toBeNull();
    expect(banner.style.left).toBe(`${(800 / 1280) * 100}%`);
    await new Promise((r) => setTimeout(r, 10));
    expect(sent).toHaveLength(0);
  });

  it("puts the box back and says why when the engine refuses the move", async () => {
    mockEngine(collection(), { refuse: 'scenes[0].layers[1].rect.x: must be between -16384 and 16384' });
    render(<SceneEditors />);
    const list = await editor();
    const logo = screen.getByTestId('layer-box-logo');
    fireEvent.pointerDown(logo, client(150, 150));
    fireEvent.pointerMove(list, client(250, 150));
    fireEvent.pointerUp(list, client(250, 150));
    expect((await screen.findByTestId('preview-error')).textContent).toContain('must be between');
    expect(logo.style.left).toBe(`${(100 / 1280) * 100}%`);
  });
});

describe('canvas orientation', () => {
  const portrait = (): SceneCollection => ({ ...collection(), canvas: { width: 720, height: 1280, fps: 30 } });

  it('switches to portrait and shows the collection the engine answers with', async () => {
    const { canvas } = mockEngine(collection(), { canvas: () => portrait() });
    render(<SceneEditors />);
    const group = await screen.findByRole('group', { name: '画布方向' });
    expect(within(group).getByRole('button', { name: '横屏 16:9' }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(within(group).getByRole('button', { name: '竖屏 9:16' }));
    await waitFor(() => expect(within(group).getByRole('button', { name: '竖屏 9:16' }).getAttribute('aria-pressed')).toBe('true'));
    expect(canvas).toEqual([{ orientation: 'portrait' }]);
    expect(screen.getByTestId('layer-box-logo').style.left).toBe(`${(100 / 720) * 100}%`);
  });

  it('composes landscape and portrait at once, editing landscape and saying where each goes', async () => {
    const dual = (): SceneCollection => ({ ...collection(), second_canvas: { width: 720, height: 1280, fps: 30 } });
    const { canvas } = mockEngine(collection(), { canvas: () => dual() });
    render(<SceneEditors />);
    const group = await screen.findByRole('group', { name: '画布方向' });
    expect(screen.queryByTestId('canvas-routing')).toBeNull();
    fireEvent.click(within(group).getByRole('button', { name: '横竖双屏' }));
    await waitFor(() => expect(within(group).getByRole('button', { name: '横竖双屏' }).getAttribute('aria-pressed')).toBe('true'));
    expect(canvas).toEqual([{ orientation: 'dual' }]);
    expect(within(group).getByRole('button', { name: '横屏 16:9' }).getAttribute('aria-pressed')).toBe('false');
    expect(screen.getByTestId('canvas-routing').textContent).toContain('竖屏推到直播间');
    expect(screen.getByTestId('layer-box-logo').style.left).toBe(`${(100 / 1280) * 100}%`);
  });

  it('stays as it is and says why while live', async () => {
    mockEngine(collection(), {
      canvas: () => {
        throw new Error('stop the live and the recording before changing the canvas');
      },
    });
    render(<SceneEditors />);
    const group = await screen.findByRole('group', { name: '画布方向' });
    fireEvent.click(within(group).getByRole('button', { name: '竖屏 9:16' }));
    expect((await screen.findByTestId('canvas-error')).textContent).toBe('stop the live and the recording before changing the canvas');
    expect(within(group).getByRole('button', { name: '横屏 16:9' }).getAttribute('aria-pressed')).toBe('true');
    expect((within(group).getByRole('button', { name: '竖屏 9:16' }) as HTMLButtonElement).disabled).toBe(false);
  });
});

describe('the portrait layout of a studio on both canvases', () => {
  const dual = (): SceneCollection => ({ ...collection(), second_canvas: { width: 720, height: 1280, fps: 30 } });

  it('previews portrait and moves a layer there only, setting its own place on that canvas', async () => {
    const { sent, previews } = mockEngine(dual());
    render(<SceneEditors />);
    const group = await screen.findByRole('group', { name: '编辑哪个画面的布局' });
    expect(within(group).getByRole('button', { name: '编辑横屏' }).getAttribute('aria-pressed')).toBe('true');
    // Landscape: the logo where its rect says.
    expect(screen.getByTestId('layer-box-logo').style.left).toBe(`${(100 / 1280) * 100}%`);
    fireEvent.click(within(group).getByRole('button', { name: '编辑竖屏' }));
    await waitFor(() => expect(within(group).getByRole('button', { name: '编辑竖屏' }).getAttribute('aria-pressed')).toBe('true'));
    expect(previews).toEqual([{ canvas: 'second' }]);
    // Portrait: refitted as the engine does (113 px square, centre at the same relative place).
    const logo = screen.getByTestId('layer-box-logo');
    expect(logo.style.left).toBe(`${(56 / 720) * 100}%`);
    expect(logo.style.width).toBe(`${(113 / 720) * 100}%`);
    const list = await screen.findByRole('listbox', { name: '画面中的图层' });
    vi.spyOn(list, 'getBoundingClientRect').mockReturnValue({ left: 10, top: 20, width: 360, height: 640, right: 370, bottom: 660, x: 10, y: 20, toJSON: () => ({}) });
    fireEvent.pointerDown(logo, client(112, 355));
    fireEvent.pointerMove(list, client(212, 455));
    fireEvent.pointerUp(list, client(212, 455));
    await waitFor(() => expect(sent).toHaveLength(1));
    const moved = sent[0]!.scenes.scenes[0]!.layers.find((l) => l.id === 'logo')!;
    expect(moved.second_rect).toEqual({ x: 156, y: 399, width: 113, height: 113 });
    expect(moved.rect).toEqual({ x: 100, y: 100, width: 200, height: 200 });
  });
});

describe('the monitor of the other canvas in 横竖双屏', () => {
  const dual = (): SceneCollection => ({ ...collection(), second_canvas: { width: 720, height: 1280, fps: 30 } });

  it('shows the canvas not edited, refreshes it each second, and a click edits that one', async () => {
    vi.useFakeTimers({ shouldAdvanceTime: true });
    try {
      const { previews } = mockEngine(dual());
      mockConvertFileSrc('linux');
      render(<SceneEditors />);
      const monitor = await screen.findByRole('button', { name: '竖屏画面（点击编辑）' });
      const picture = () => monitor.querySelector('img')!.getAttribute('src')!;
      expect(picture()).toBe('preview://localhost/canvas-second?t=0');
      await act(() => vi.advanceTimersByTimeAsync(MONITOR_REFRESH_MS));
      expect(picture()).toBe('preview://localhost/canvas-second?t=1');
      fireEvent.click(monitor);
      await waitFor(() => expect(previews).toEqual([{ canvas: 'second' }]));
      // Now portrait is edited and previewed: the monitor shows landscape.
      const other = await screen.findByRole('button', { name: '横屏画面（点击编辑）' });
      expect(other.querySelector('img')!.getAttribute('src')).toMatch(/^preview:\/\/localhost\/canvas-first\?t=\d+$/);
    } finally {
      vi.useRealTimers();
    }
  });

  it('is not there with one canvas', async () => {
    mockEngine(collection());
    render(<SceneEditors />);
    await screen.findByRole('group', { name: '画布方向' });
    expect(screen.queryByTestId('canvas-monitor')).toBeNull();
  });
});

describe('preview frames', () => {
  it('loads each frame while the window shows, and none while it is hidden', async () => {
    mockEngine(collection());
    mockConvertFileSrc('linux');
    render(<SceneEditors />);
    const frame = (sequence: number) => act(() => emit('preview-frame', { sequence, width: 640, height: 360 }));
    await frame(1);
    expect((await screen.findByTestId('preview')).dataset.sequence).toBe('1');

    const visibility = vi.spyOn(document, 'visibilityState', 'get').mockReturnValue('hidden');
    act(() => {
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await frame(2);
    expect(screen.getByTestId('preview').dataset.sequence).toBe('1');
    expect(screen.getByTestId('preview').dataset.paused).toBe('true');

    visibility.mockReturnValue('visible');
    act(() => {
      document.dispatchEvent(new Event('visibilitychange'));
    });
    await frame(3);
    expect(screen.getByTestId('preview').dataset.sequence).toBe('3');
    expect(screen.getByTestId('preview').dataset.paused).toBeUndefined();
    visibility.mockRestore();
  });
});
