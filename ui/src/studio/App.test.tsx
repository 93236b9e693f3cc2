import { act, render, screen } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { App } from './App';
import { studioTestSetup } from './testSetup';

studioTestSetup();

describe('studio relay panel', () => {
  it('shows the running relay and its URL in Chinese by default', async () => {
    mockIPC((cmd) => {
      if (cmd === 'relay_status') return { state: 'running', url: 'http://127.0.0.1:43210', healthy: true };
      return undefined;
    }, { shouldMockEvents: true });
    render(<App />);
    const state = await screen.findByText('运行中');
    expect(state.dataset.state).toBe('running');
    expect(screen.getByTestId('relay-url').textContent).toBe('http://127.0.0.1:43210');
    expect(screen.getByRole('heading', { level: 1 }).textContent).toBe('AnchorDesk 直播工作台');
  });

  it('shows why the relay failed to start', async () => {
    mockIPC((cmd) =>
      cmd === 'relay_status' ? { state: 'failed', error: 'data directory /x is not writable' } : undefined,
      { shouldMockEvents: true },
    );
    render(<App />);
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain('data directory /x is not writable');
  });

  it('follows relay-status events from the backend', async () => {
    mockIPC((cmd) => (cmd === 'relay_status' ? { state: 'starting' } : undefined), { shouldMockEvents: true });
    render(<App />);
    expect((await screen.findByTestId('relay-state')).dataset.state).toBe('starting');
    await act(() => emit('relay-status', { state: 'running', url: 'http://127.0.0.1:5000', healthy: false }));
    expect((await screen.findByText('无响应')).dataset.state).toBe('unhealthy');
    expect(screen.getByTestId('relay-url').textContent).toBe('http://127.0.0.1:5000');
  });
});
