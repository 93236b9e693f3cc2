import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { CardRules } from './CardRules';
import { studioTestSetup } from './testSetup';

studioTestSetup();

describe('low-stock threshold', () => {
  it('shows the saved threshold, refuses a bad one at the field, saves a good one, and the sell-out rule', async () => {
    const updates: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'settings') return { destinations: [], effect_presets: [], low_stock_threshold: 5, next_when_sold_out: false, pin_when_asked: false };
      if (cmd === 'update_settings') {
        updates.push(args);
        const update = (args as { update: { low_stock_threshold?: number; next_when_sold_out?: boolean; pin_when_asked?: boolean } }).update;
        return {
          destinations: [],
          effect_presets: [],
          low_stock_threshold: update.low_stock_threshold ?? 3,
          next_when_sold_out: update.next_when_sold_out ?? false,
          pin_when_asked: update.pin_when_asked ?? false,
        };
      }
      return null;
    });
    render(<CardRules />);
    const input = screen.getByLabelText<HTMLInputElement>('画面中「仅剩 N 件」：库存不超过');
    await waitFor(() => expect(input.value).toBe('5'));
    fireEvent.change(input, { target: { value: '-2' } });
    fireEvent.blur(input);
    expect((await screen.findByRole('alert')).textContent).toBe('请填写 0–999 的整数');
    expect(input.getAttribute('aria-invalid')).toBe('true');
    fireEvent.change(input, { target: { value: '3' } });
    fireEvent.blur(input);
    await screen.findByText('已保存');
    expect(updates).toEqual([{ update: { low_stock_threshold: 3 } }]);
    expect(input.value).toBe('3');

    const next = screen.getByRole<HTMLInputElement>('checkbox', { name: '售罄后自动讲解下一个商品' });
    expect(next.checked).toBe(false);
    fireEvent.click(next);
    await waitFor(() => expect(next.checked).toBe(true));
    expect(updates.at(-1)).toEqual({ update: { next_when_sold_out: true } });
    const asked = screen.getByRole<HTMLInputElement>('checkbox', { name: '观众追问时自动讲解（不再只是提示）' });
    fireEvent.click(asked);
    await waitFor(() => expect(asked.checked).toBe(true));
    expect(updates.at(-1)).toEqual({ update: { pin_when_asked: true } });
  });
});
