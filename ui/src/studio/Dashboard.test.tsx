import { act, render, screen, within } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import type { LiveStats } from '../bindings/LiveStats';
import { event } from '../viewer/fixtures';
import { Dashboard } from './Dashboard';
import { studioTestSetup } from './testSetup';

studioTestSetup();

const stats: LiveStats = {
  live_id: 7,
  viewers_now: 12,
  viewers_peak: 30,
  comments: 45,
  likes: 520,
  orders: 4,
  paid_orders: 3,
  paid_gmv_fen: 23_970,
  products: [
    { product_id: 1, title: '保温杯', clicks: 40, orders: 3, units: 3, paid_gmv_fen: 20_700 },
    { product_id: 2, title: '红糖', clicks: 0, orders: 0, units: 0, paid_gmv_fen: 0 },
  ],
  pins: [],
};

describe('dashboard', () => {
  it("shows the relay's figures, conversion per product and the viewers curve", async () => {
    mockIPC((cmd) => (cmd === 'relay_call' ? stats : undefined), { shouldMockEvents: true });
    render(<Dashboard liveId={7} />);
    const figures = await screen.findByTestId('dashboard');
    expect(figures.textContent).toContain('¥239.70');
    expect(figures.textContent).toContain('4 单（已支付 3）');
    expect(figures.textContent).toContain('在线 12 · 峰值 30');
    const rows = within(screen.getByRole('table')).getAllByRole('row');
    expect(rows[1]!.textContent).toContain('7.5%');
    expect(rows[2]!.textContent).toContain('—');

    await act(() => emit('relay-event', event('viewers', { now: 5 })));
    await act(() => emit('relay-event', event('viewers', { now: 9 })));
    expect(screen.getByRole('img').getAttribute('aria-label')).toBe('在线人数曲线（2 个采样点）');
  });
});
