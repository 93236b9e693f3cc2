import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it, vi } from 'vitest';
import { EffectsDock } from './EffectsDock';
import { DEFAULT_EFFECTS, type Layer } from './scenes';
import { studioTestSetup } from './testSetup';

studioTestSetup();

const camera: Layer = {
  id: 'camera',
  name: '摄像头',
  source: { kind: 'camera', device: 'test' },
  rect: { x: 0, y: 0, width: 1280, height: 720 },
  opacity: 1,
  visible: true,
};

const soft = { ...DEFAULT_EFFECTS, beauty: { smooth: 0.6, whiten: 0.3, sharpen: 0 } };

describe('effects dock presets', () => {
  it('applies a saved preset live and saves the current settings under a name', async () => {
    const updates: unknown[] = [];
    let presets = [{ name: '柔光', effects: soft }];
    mockIPC((cmd, args) => {
      if (cmd === 'settings') return { destinations: [], effect_presets: presets };
      if (cmd === 'update_settings') {
        const update = (args as { update: { effect_presets: typeof presets } }).update;
        updates.push(update);
        presets = update.effect_presets;
        return { destinations: [], effect_presets: presets };
      }
      return null;
    });
    const onChange = vi.fn();
    render(<EffectsDock layer={camera} onChange={onChange} />);
    fireEvent.change(await screen.findByLabelText('美颜预设'), { target: { value: '柔光' } });
    await waitFor(() => expect(onChange).toHaveBeenCalledWith(soft));
    expect(screen.getByLabelText<HTMLInputElement>('磨皮').value).toBe('60');

    fireEvent.click(screen.getByRole('button', { name: '保存为预设' }));
    expect((await screen.findByRole('alert')).textContent).toBe('请填写预设名称');
    expect(screen.getByLabelText('预设名称').getAttribute('aria-invalid')).toBe('true');
    fireEvent.change(screen.getByLabelText('磨皮'), { target: { value: '90' } });
    fireEvent.change(screen.getByLabelText('预设名称'), { target: { value: '直播间' } });
    fireEvent.click(screen.getByRole('button', { name: '保存为预设' }));
    await screen.findByRole('option', { name: '直播间' });
    expect(updates).toEqual([
      { effect_presets: [{ name: '柔光', effects: soft }, { name: '直播间', effects: { ...soft, beauty: { ...soft.beauty, smooth: 0.9 } } }] },
    ]);
  });
});
