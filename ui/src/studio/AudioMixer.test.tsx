import { act, fireEvent, render, screen, waitFor } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { AudioMixer, meterPercent } from './AudioMixer';
import { STATS_EVENT } from './engineStats';
import { studioTestSetup } from './testSetup';
import { engineStats } from './testStats';

studioTestSetup();

function engine() {
  const calls: [string, unknown][] = [];
  mockIPC(
    (cmd, args) => {
      calls.push([cmd, args]);
      return null;
    },
    { shouldMockEvents: true },
  );
  return calls;
}

describe('audio mixer', () => {
  it('says when the microphone was replaced by silence, and stops saying it once it is back', async () => {
    engine();
    render(<AudioMixer ready />);
    expect(screen.queryByTestId('mic-problem')).toBeNull();
    const problem = '麦克风断开 capture device failed: The requested device is no longer available (cpal alsa:default); sending silence';
    await act(() => emit(STATS_EVENT, { ...engineStats([]), audio: [{ id: 'mic', backend: 'silence', problem }] }));
    const alert = await screen.findByTestId('mic-problem');
    expect(alert.textContent).toBe(`麦克风不可用，正在推送静音：${problem}`);
    await act(() => emit(STATS_EVENT, engineStats([])));
    await waitFor(() => expect(screen.queryByTestId('mic-problem')).toBeNull());
  });

  it('sends gain and mute to the engine', async () => {
    const calls = engine();
    render(<AudioMixer ready />);
    fireEvent.click(screen.getByLabelText('静音'));
    await waitFor(() => expect(calls).toContainEqual(['set_audio', { gain: 1, muted: true, noiseSuppression: false }]));
  });

  it('maps -60 dBFS and below to an empty meter and 0 dBFS to a full one', () => {
    expect(meterPercent(-Infinity)).toBe(0);
    expect(meterPercent(-90)).toBe(0);
    expect(meterPercent(-30)).toBe(50);
    expect(meterPercent(0)).toBe(100);
  });
});
