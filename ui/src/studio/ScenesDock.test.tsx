import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { describe, expect, it } from 'vitest';
import type { SceneCollection } from './scenes';
import { mockEngine, SceneEditors } from './testScenes';
import { studioTestSetup } from './testSetup';

studioTestSetup();

const collection: SceneCollection = {
  version: 1,
  canvas: { width: 1280, height: 720, fps: 30 },
  scenes: [
    {
      id: 'main',
      name: '主场景',
      layers: [{ id: 'camera', name: '摄像头', source: { kind: 'camera', device: 'test' }, rect: { x: 0, y: 0, width: 1280, height: 720 }, opacity: 1, visible: true }],
    },
    { id: 'close-up', name: '商品特写', layers: [] },
  ],
};

function engine(refuse?: string) {
  return mockEngine(collection, { refuse }).sent;
}

describe('scenes dock', () => {
  it('switches scenes with a fade and adds a text layer on top', async () => {
    const sent = engine();
    render(<SceneEditors preview={false} />);
    fireEvent.click(await screen.findByRole('button', { name: '商品特写' }));
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]!.scenes.active_scene).toBe('close-up');
    expect(sent[0]!.fadeMs).toBe(500);

    fireEvent.click(screen.getByRole('button', { name: '主场景' }));
    fireEvent.change(screen.getByRole('combobox', { name: /添加/ }), { target: { value: 'text' } });
    fireEvent.change(screen.getByRole('textbox', { name: '文字内容' }), { target: { value: '全场包邮' } });
    fireEvent.click(screen.getByRole('button', { name: '添加图层' }));
    await waitFor(() => expect(sent).toHaveLength(3));
    const main = sent[2]!.scenes.scenes[0]!;
    expect(main.layers.map((l) => l.id)).toEqual(['camera', 'text']);
    expect(main.layers[1]!.source).toEqual({ kind: 'text', text: '全场包邮', size: 32, colour: '#FFFFFF' });
    expect(within(screen.getByTestId('layers')).getAllByRole('listitem')[0]!.textContent).toContain('文字');
    // Each scene button pictures its layout: a box per visible layer, the new text on top.
    const thumb = screen.getByTestId('scene-thumb-main');
    expect(thumb.getAttribute('viewBox')).toBe('0 0 1280 720');
    const boxes = [...thumb.querySelectorAll('rect')].slice(1);
    expect(boxes.map((r) => r.getAttribute('width'))).toEqual(['1280', String(main.layers[1]!.rect.width)]);
    expect(screen.getByTestId('scene-thumb-close-up').querySelectorAll('rect')).toHaveLength(1);
  });

  it("sends a camera's beauty and background live, and keeps the engine's state when refused", async () => {
    const sent = engine();
    render(<SceneEditors preview={false} />);
    fireEvent.click(await screen.findByRole('button', { name: /摄像头 · 摄像头/ }));
    const dock = screen.getByTestId('effects-dock');
    fireEvent.change(within(dock).getByLabelText('磨皮'), { target: { value: '70' } });
    fireEvent.change(within(dock).getByLabelText('虚拟背景'), { target: { value: 'blur' } });
    fireEvent.change(within(dock).getByLabelText('抠像方式'), { target: { value: 'chroma_key' } });
    await waitFor(() => expect(sent.length).toBeGreaterThan(0));
    const effects = sent.at(-1)!.scenes.scenes[0]!.layers[0]!.effects!;
    expect(effects.beauty.smooth).toBe(0.7);
    expect(effects.background).toMatchObject({ mode: 'blur', source: 'chroma_key', key_colour: '#00B140' });
  });

  it('says why the engine refused an edit', async () => {
    engine('layers[0].rect: width must be at least 1');
    render(<SceneEditors preview={false} />);
    fireEvent.click(await screen.findByRole('checkbox', { name: /显示/ }));
    expect((await screen.findByTestId('scenes-error')).textContent).toBe('layers[0].rect: width must be at least 1');
    expect((screen.getByRole('checkbox', { name: /显示/ }) as HTMLInputElement).checked).toBe(true);
  });

  it('locks a layer against removal and unlocks it as the engine wrote it', async () => {
    const sent = engine();
    render(<SceneEditors preview={false} />);
    const lock = await screen.findByRole('checkbox', { name: '锁定 摄像头' });
    const remove = screen.getByRole('button', { name: '删除 摄像头' }) as HTMLButtonElement;
    expect(remove.disabled).toBe(false);
    fireEvent.click(lock);
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]!.scenes.scenes[0]!.layers[0]!.locked).toBe(true);
    expect(remove.disabled).toBe(true);
    fireEvent.click(lock);
    await waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1]!.scenes.scenes[0]!.layers[0]).not.toHaveProperty('locked');
    expect(remove.disabled).toBe(false);
  });

  it("lists a camera's capture modes with their format, and sends the one chosen", async () => {
    const sent = engine();
    render(<SceneEditors preview={false} />);
    fireEvent.change(await screen.findByRole('combobox', { name: '摄像头' }), { target: { value: '/dev/video0' } });
    const modes = screen.getByRole('combobox', { name: '采集模式' });
    await waitFor(() => expect(within(modes).getAllByRole('option').map((o) => o.textContent)).toEqual(['自动（最清晰的流畅模式）', '1920×1080 30fps MJPEG', '1920×1080 5fps', '640×480 30fps']));
    fireEvent.change(modes, { target: { value: '0' } });
    fireEvent.click(screen.getByRole('button', { name: '添加图层' }));
    await waitFor(() => expect(sent).toHaveLength(1));
    const added = sent[0]!.scenes.scenes[0]!.layers.at(-1)!;
    expect(added.source).toEqual({ kind: 'camera', device: '/dev/video0', mode: { width: 1920, height: 1080, fps: 30, format: 'mjpeg' } });
  });

  it("sets a video layer's volume and mute while it plays", async () => {
    const withVideo: SceneCollection = {
      ...collection,
      scenes: [{ id: 'main', name: '主场景', layers: [{ id: 'clip', name: '片头', source: { kind: 'media', path: '/srv/intro.mp4', looping: true }, rect: { x: 0, y: 0, width: 1280, height: 720 }, opacity: 1, visible: true }] }],
    };
    const { sent } = mockEngine(withVideo);
    render(<SceneEditors preview={false} />);
    fireEvent.change(await screen.findByRole('slider', { name: '片头 音量' }), { target: { value: '50' } });
    await waitFor(() => expect(sent).toHaveLength(1));
    expect(sent[0]!.scenes.scenes[0]!.layers[0]!.source).toEqual({ kind: 'media', path: '/srv/intro.mp4', looping: true, volume: 0.5 });
    fireEvent.click(screen.getByRole('checkbox', { name: '片头 静音' }));
    await waitFor(() => expect(sent).toHaveLength(2));
    expect(sent[1]!.scenes.scenes[0]!.layers[0]!.source).toMatchObject({ muted: true });
  });
});

