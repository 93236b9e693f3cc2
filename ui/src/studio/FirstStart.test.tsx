import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { mockConvertFileSrc, mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { App } from './App';
import { SAVE_DELAY_MS } from './desk';
import type { SceneCollection } from './scenes';
import { studioTestSetup } from './testSetup';
import { engineStats } from './testStats';

studioTestSetup();

const scenes: SceneCollection = {
  version: 1,
  canvas: { width: 1280, height: 720, fps: 30 },
  scenes: [
    {
      id: 'main',
      name: '主场景',
      layers: [{ id: 'camera', name: '摄像头', source: { kind: 'camera', device: 'test' }, rect: { x: 0, y: 0, width: 1280, height: 720 }, opacity: 1, visible: true }],
    },
  ],
};

/** A studio on its first start (or not, with `desk`); returns what it sends. */
function studio(desk?: unknown) {
  const sent: { cmd: string; args: unknown }[] = [];
  mockIPC(
    (cmd, args) => {
      sent.push({ cmd, args });
      if (cmd === 'studio_mode') return 'studio';
      if (cmd === 'relay_status') return { state: 'running', url: 'http://192.168.1.5:4000', healthy: true };
      if (cmd === 'settings') return { destinations: [], effect_presets: [], next_when_sold_out: false, pin_when_asked: false, desk };
      if (cmd === 'scenes') return scenes;
      if (cmd === 'cameras') return [{ device: '/dev/video0', name: 'USB Camera' }];
      if (cmd === 'test_recording') return { path: '/data/studio-recordings/test-recording.mp4', url: 'http://127.0.0.1:41234/abc/test-recording.mp4', duration_ms: 5033, video: true, audio: true };
      if (cmd === 'microphones') return { devices: [{ id: 'alsa:hw:1,0', name: 'USB 麦克风', channels: 1, sample_rate: 48000, is_default: false }], chosen: null };
      return null;
    },
    { shouldMockEvents: true },
  );
  mockConvertFileSrc('linux');
  render(<App />);
  return sent;
}

const saves = (sent: { cmd: string; args: unknown }[]) =>
  sent.filter((c) => c.cmd === 'update_settings').map((c) => (c.args as { update: { desk?: { wizardDone: boolean } } }).update.desk);

describe('first-start guide', () => {
  it('opens on the first start: camera with its picture and the mic meter, canvas, viewer link with QR', async () => {
    const sent = studio();
    const wizard = await screen.findByRole('dialog', { name: '开播向导' });
    // The engine is up: its scenes are read and the camera can be switched live.
    await act(() => emit('engine-stats', engineStats([])));
    await act(() => emit('preview-frame', { sequence: 3, width: 1280, height: 720 }));
    expect(within(wizard).getByTestId('wizard-preview').getAttribute('src')).toContain('seq=3');
    await act(() => emit('audio-levels', { mic: { peak_db: [-12], rms_db: [-20] } }));
    expect(within(wizard).getByRole('meter').getAttribute('aria-valuenow')).toBe('-12');
    // The microphone is picked here too, and switched in the engine at once.
    await within(wizard).findByRole('option', { name: 'USB 麦克风' });
    fireEvent.change(within(wizard).getByTestId('microphone'), { target: { value: 'alsa:hw:1,0' } });
    await waitFor(() => expect(sent).toContainEqual({ cmd: 'set_microphone', args: { device: 'alsa:hw:1,0' } }));
    const camera = await within(wizard).findByRole('option', { name: 'USB Camera' });
    fireEvent.change(camera.closest('select')!, { target: { value: '/dev/video0' } });
    await waitFor(() => {
      const set = sent.filter((c) => c.cmd === 'set_scenes').at(-1)?.args as { scenes: SceneCollection } | undefined;
      expect(set?.scenes.scenes[0]!.layers[0]!.source).toEqual({ kind: 'camera', device: '/dev/video0' });
    });

    fireEvent.click(within(wizard).getByRole('button', { name: '下一步' }));
    expect(within(wizard).getByRole('group', { name: '画布方向' })).toBeTruthy();
    fireEvent.click(within(wizard).getByRole('button', { name: '下一步' }));
    // 5 s recorded, checked by the engine, and played back from the studio's own scheme.
    fireEvent.click(within(wizard).getByTestId('wizard-test-record'));
    expect((await within(wizard).findByTestId('wizard-test-result')).textContent).toBe('画面 ✓ 有 · 声音 ✓ 有 · 5.0 秒');
    expect(within(wizard).getByTestId('wizard-test-video').getAttribute('src')).toMatch(/^http:\/\/127\.0\.0\.1:41234\/abc\/test-recording\.mp4\?t=\d+$/);
    fireEvent.click(within(wizard).getByRole('button', { name: '下一步' }));
    expect(within(wizard).getByTestId('share-url').textContent).toBe('http://192.168.1.5:4000/');
    expect(within(wizard).getByTestId('share-qr')).toBeTruthy();
    fireEvent.click(within(wizard).getByRole('button', { name: '完成' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    await act(() => new Promise((resolve) => setTimeout(resolve, SAVE_DELAY_MS + 50)));
    expect(saves(sent).at(-1)?.wizardDone).toBe(true);
  });

  it('can be skipped, is not shown again, and opens again from the header', async () => {
    const sent = studio();
    fireEvent.click(within(await screen.findByRole('dialog', { name: '开播向导' })).getByRole('button', { name: '跳过' }));
    expect(screen.queryByRole('dialog')).toBeNull();
    await act(() => new Promise((resolve) => setTimeout(resolve, SAVE_DELAY_MS + 50)));
    expect(saves(sent).at(-1)?.wizardDone).toBe(true);
    fireEvent.click(screen.getByTestId('open-wizard'));
    expect(screen.getByRole('dialog', { name: '开播向导' })).toBeTruthy();
  });

  it('stays closed once done', async () => {
    studio({ wizardDone: true });
    await screen.findByTestId('desk');
    await act(() => new Promise((resolve) => setTimeout(resolve, 50)));
    expect(screen.queryByRole('dialog')).toBeNull();
  });
});
