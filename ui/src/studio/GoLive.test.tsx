import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { GoLive } from './GoLive';
import { studioTestSetup } from './testSetup';
import { engineStats, outputStats } from './testStats';

studioTestSetup();

const stats = engineStats([
  outputStats('relay', 'live', { measured_kbps: 3890.6, dropped_frames: 2, rtt_ms: 41.2, loss: 0.012 }),
]);

describe('go live stats', () => {
  it('shows loss next to the round trip and graphs the last minute of target against measured', () => {
    mockIPC(() => null);
    const history = [
      { atMs: 0, targetKbps: 3000, measuredKbps: 2800 },
      { atMs: 1000, targetKbps: 4000, measuredKbps: 3890.6 },
    ];
    render(<GoLive stats={stats} history={history} ready />);
    const figures = screen.getByTestId('live-figures');
    expect(figures.textContent).toContain('往返延迟41 ms丢包率1.2 %');
    const graph = screen.getByRole('img', { name: /最近 60 秒码率/ });
    expect(graph.getAttribute('aria-label')).toBe('最近 60 秒码率：目标 4000 kbit/s，实际 3891 kbit/s；丢包率 1.2 %，往返延迟 41 ms');
    expect(graph.querySelectorAll('polyline')).toHaveLength(2);
    expect(graph.querySelector('polyline.measured')!.getAttribute('points')).toBe('236.0,18.0 240.0,1.6');
    expect(screen.getByTestId('bitrate-max').textContent).toBe('4000 kbit/s');
    expect(screen.getByText('目标码率')).toBeTruthy();
    expect(screen.getByText('实际码率')).toBeTruthy();
  });

  it('says there is nothing to graph before the push starts', () => {
    mockIPC(() => null);
    render(<GoLive stats={{ ...stats, outputs: [] }} history={[]} ready />);
    expect(screen.getByRole('img', { name: '最近 60 秒码率：暂无数据' })).toBeTruthy();
    expect(screen.getByTestId('live-loss').textContent).toBe('—');
  });
});

describe('stopping the live', () => {
  it('asks first: keeping the live sends nothing, confirming stops the push', async () => {
    const sent: string[] = [];
    mockIPC((cmd) => {
      sent.push(cmd);
      return null;
    });
    render(<GoLive stats={stats} history={[]} ready />);
    fireEvent.click(screen.getByTestId('go-live'));
    const dialog = screen.getByRole('alertdialog', { name: '结束直播？' });
    // The safe answer has the focus: Enter on a stray dialog keeps the live.
    expect(document.activeElement?.textContent).toBe('继续直播');
    fireEvent.click(within(dialog).getByRole('button', { name: '继续直播' }));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    fireEvent.click(screen.getByTestId('go-live'));
    fireEvent.keyDown(screen.getByRole('alertdialog'), { key: 'Escape' });
    expect(screen.queryByRole('alertdialog')).toBeNull();
    expect(sent).toEqual([]);

    fireEvent.click(screen.getByTestId('go-live'));
    fireEvent.click(screen.getByTestId('confirm-stop'));
    await waitFor(() => expect(sent).toEqual(['stop_live']));
  });

  it('goes live without asking', async () => {
    const sent: string[] = [];
    mockIPC((cmd) => {
      sent.push(cmd);
      return null;
    });
    render(<GoLive stats={{ ...stats, outputs: [] }} history={[]} ready />);
    fireEvent.click(screen.getByTestId('go-live'));
    expect(screen.queryByRole('alertdialog')).toBeNull();
    await waitFor(() => expect(sent).toEqual(['go_live']));
  });
});
