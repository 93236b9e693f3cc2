import { act, render, screen } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { LiveBadge } from './Header';
import { formatDuration, healthOf, onAirSince } from './liveStatus';
import { studioTestSetup } from './testSetup';
import { engineStats, outputStats } from './testStats';

studioTestSetup();

describe('live state in the header', () => {
  it('rates the push by what it carries of the target', () => {
    expect(healthOf(outputStats('relay', 'live', { target_kbps: 4000, measured_kbps: 3600 }))).toBe('good');
    expect(healthOf(outputStats('relay', 'live', { target_kbps: 4000, measured_kbps: 2400 }))).toBe('weak');
    expect(healthOf(outputStats('relay', 'live', { target_kbps: 4000, measured_kbps: 1000 }))).toBe('bad');
    expect(healthOf(outputStats('relay', 'reconnecting'))).toBe('bad');
    expect(healthOf(outputStats('relay', 'stopped'))).toBeNull();
    expect(healthOf(undefined)).toBeNull();
  });

  it('counts the time on air across a reconnect, and starts over after a stop', () => {
    const at = (state: 'live' | 'reconnecting' | 'stopped' | 'connecting') => engineStats([outputStats('relay', state)]);
    expect(onAirSince(null, at('connecting'), 1000)).toBeNull();
    expect(onAirSince(null, at('live'), 2000)).toBe(2000);
    expect(onAirSince(2000, at('reconnecting'), 9000)).toBe(2000);
    expect(onAirSince(2000, at('live'), 12000)).toBe(2000);
    expect(onAirSince(2000, at('stopped'), 13000)).toBeNull();
    expect(formatDuration(65_000)).toBe('01:05');
    expect(formatDuration(3_723_000)).toBe('1:02:03');
  });

  it('says 直播中 with the duration and bitrate health once the engine reports the push live', async () => {
    mockIPC(() => null, { shouldMockEvents: true });
    const stats = engineStats([outputStats('relay', 'live', { target_kbps: 4000, measured_kbps: 2400 })]);
    const { rerender } = render(<LiveBadge stats={null} />);
    expect(screen.getByTestId('header-live').textContent).toBe('未开播');
    await act(() => emit('engine-stats', stats));
    rerender(<LiveBadge stats={stats} />);
    const badge = screen.getByTestId('header-live');
    expect(badge.dataset.state).toBe('live');
    expect(badge.dataset.health).toBe('weak');
    expect(badge.textContent).toContain('直播中');
    expect(screen.getByTestId('header-duration').textContent).toBe('00:00');
    expect(badge.textContent).toContain('2400 kbit/s · 偏低');
  });
});
