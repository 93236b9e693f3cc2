import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { MicrophoneChoice } from './MicrophoneChoice';
import { studioTestSetup } from './testSetup';

studioTestSetup();

const DEVICES = [
  { id: 'alsa:hw:1,0', name: 'USB 麦克风', channels: 1, sample_rate: 48000, is_default: false },
  { id: 'alsa:hw:0,0', name: '内置麦克风', channels: 2, sample_rate: 48000, is_default: true },
];

/** The studio backend with two microphones; `refuse` names a device the engine refuses. */
function backend(chosen: string | null, refuse?: string) {
  const calls: [string, unknown][] = [];
  mockIPC((cmd, args) => {
    calls.push([cmd, args]);
    if (cmd === 'microphones') return { devices: DEVICES, chosen };
    if (cmd === 'set_microphone') {
      const device = (args as { device: string | null }).device;
      if (device === refuse) throw { status: 0, code: 'invalid', message: `microphone: no capture device '${device}' on this machine`, field: 'microphone' };
      return { id: 'mic', backend: `cpal ${device ?? 'alsa:default'}`, problem: null };
    }
    return null;
  });
  return calls;
}

describe('microphone choice', () => {
  it('lists the microphones with the saved one chosen, and switches to another', async () => {
    const calls = backend('alsa:hw:1,0');
    render(<MicrophoneChoice ready />);
    const select = screen.getByTestId<HTMLSelectElement>('microphone');
    await waitFor(() => expect(select.value).toBe('alsa:hw:1,0'));
    expect([...select.options].map((o) => o.textContent)).toEqual(['系统默认输入', 'USB 麦克风', '内置麦克风']);

    fireEvent.change(select, { target: { value: 'alsa:hw:0,0' } });
    await waitFor(() => expect(calls).toContainEqual(['set_microphone', { device: 'alsa:hw:0,0' }]));
    fireEvent.change(select, { target: { value: '' } });
    await waitFor(() => expect(calls).toContainEqual(['set_microphone', { device: null }]));
    expect(screen.queryByRole('alert')).toBeNull();
  });

  it('names a refused microphone and goes back to the one in use', async () => {
    backend(null, 'alsa:hw:1,0');
    render(<MicrophoneChoice ready />);
    const select = screen.getByTestId<HTMLSelectElement>('microphone');
    await waitFor(() => expect(select.options.length).toBe(3));
    fireEvent.change(select, { target: { value: 'alsa:hw:1,0' } });
    const alert = await screen.findByRole('alert');
    expect(alert.textContent).toContain("no capture device 'alsa:hw:1,0'");
    expect(select.value).toBe('');
  });

  it('waits for the engine before a choice can be made', () => {
    backend(null);
    render(<MicrophoneChoice ready={false} />);
    expect(screen.getByTestId<HTMLSelectElement>('microphone').disabled).toBe(true);
  });
});
