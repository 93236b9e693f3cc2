import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { Destinations } from './Destinations';
import type { OutputStats } from './engineStats';
import { studioTestSetup } from './testSetup';
import { engineStats, outputStats } from './testStats';

studioTestSetup();

const PRESETS = [
  { id: 'kuaishou', name: '快手 Kuaishou', server: null, warning: null },
  { id: 'bilibili', name: '哔哩哔哩 Bilibili', server: 'rtmp://live-push.bilivideo.com/live-bvc/', warning: null },
  { id: 'custom', name: '自定义 Custom', server: null, warning: null },
];

const output = (id: string, state: OutputStats['state'], reason?: string): OutputStats => outputStats(id, state, { reason });
const stats = engineStats;

function engine() {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === 'presets') return PRESETS;
    if (cmd === 'start_destination') {
      const a = args as { preset: string; server: string | null };
      if (a.preset === 'kuaishou' && !a.server) {
        throw { status: 0, code: 'invalid', message: 'server: 快手 Kuaishou gives a push server per live; paste it here', field: 'server' };
      }
      return `dest-${a.preset}`;
    }
    if (cmd === 'start_recording') return '/data/recordings/anchordesk-1.mp4';
    if (cmd === 'settings') return { destinations: [{ id: 'd1', name: '抖音主号', preset: 'custom', server: 'rtmp://push.example/live', has_key: true }], effect_presets: [] };
    if (cmd === 'save_destination') {
      const a = args as { name: string; preset: string; server: string | null; key: string };
      if (!a.name.trim()) throw { status: 0, code: 'invalid', message: 'name: 请填写名称 a name is required', field: 'name' };
      return { id: 'd2', name: a.name, preset: a.preset, server: a.server ?? undefined, has_key: a.key !== '' };
    }
    return null;
  });
  return calls;
}

describe('destinations', () => {
  it('pushes to a preset with the pasted key, and puts a missing server at its field', async () => {
    const calls = engine();
    render(<Destinations stats={stats([])} ready />);
    await screen.findByRole('option', { name: '快手 Kuaishou' });
    fireEvent.change(screen.getByLabelText('平台'), { target: { value: 'kuaishou' } });
    fireEvent.change(screen.getByLabelText('推流码'), { target: { value: 'abc123' } });
    fireEvent.click(screen.getByRole('button', { name: '推流到该平台' }));
    expect((await screen.findByRole('alert')).textContent).toContain('paste it here');
    expect(screen.getByLabelText('推流地址（服务器）').getAttribute('aria-invalid')).toBe('true');

    fireEvent.change(screen.getByLabelText('平台'), { target: { value: 'bilibili' } });
    fireEvent.click(screen.getByRole('button', { name: '推流到该平台' }));
    await waitFor(() =>
      expect(calls.filter(([c]) => c === 'start_destination').at(-1)).toEqual([
        'start_destination',
        { preset: 'bilibili', server: null, key: 'abc123' },
      ]),
    );
  });

  it('shows each output with its state and stops one, or all', async () => {
    const calls = engine();
    render(
      <Destinations
        stats={stats([output('relay', 'live'), output('dest-bilibili', 'reconnecting', 'connection refused'), output('record', 'live')])}
        ready
      />,
    );
    const list = screen.getByTestId('outputs');
    const items = within(list).getAllByRole('listitem');
    expect(items.map((li) => li.dataset.outputId)).toEqual(['dest-bilibili', 'record']);
    expect(items[0]!.textContent).toContain('重连中');
    expect(items[0]!.textContent).toContain('connection refused');
    expect(screen.getByTestId('record').textContent).toBe('停止录制');
    fireEvent.click(within(items[0]!).getByRole('button', { name: '停止' }));
    fireEvent.click(screen.getByRole('button', { name: '全部停止' }));
    await waitFor(() => expect(calls.filter(([c]) => c === 'stop_output')).toHaveLength(4));
    expect(calls.filter(([c]) => c === 'stop_output').map(([, a]) => (a as { id: string }).id)).toEqual([
      'dest-bilibili',
      'relay',
      'dest-bilibili',
      'record',
    ]);
  });

  it('saves a destination with its key, starts a saved one and forgets it', async () => {
    const calls = engine();
    render(<Destinations stats={stats([])} ready />);
    const saved = await screen.findByTestId('saved-destinations');
    expect(saved.textContent).toContain('抖音主号');
    await screen.findByRole('option', { name: '哔哩哔哩 Bilibili' });
    fireEvent.change(screen.getByLabelText('平台'), { target: { value: 'bilibili' } });
    fireEvent.change(screen.getByLabelText('推流码'), { target: { value: 'live_123' } });
    fireEvent.change(screen.getByLabelText('保存为（名称）'), { target: { value: 'B站' } });
    fireEvent.click(screen.getByRole('button', { name: '保存此平台' }));
    await within(saved).findByText('B站');
    expect(calls.find(([c]) => c === 'save_destination')).toEqual([
      'save_destination',
      { name: 'B站', preset: 'bilibili', server: null, key: 'live_123' },
    ]);

    fireEvent.click(within(saved).getByRole('button', { name: '推流到 抖音主号' }));
    await waitFor(() => expect(calls.some(([c, a]) => c === 'start_saved_destination' && (a as { id: string }).id === 'd1')).toBe(true));
    fireEvent.click(screen.getByRole('button', { name: '删除已保存的 抖音主号' }));
    await waitFor(() => expect(within(saved).queryByText('抖音主号')).toBeNull());
    expect(calls.some(([c, a]) => c === 'forget_destination' && (a as { id: string }).id === 'd1')).toBe(true);
  });
});
