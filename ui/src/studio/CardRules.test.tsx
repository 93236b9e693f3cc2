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

  it('gives the live on the relay the same threshold, so viewer pages say 仅剩 N 件 at the same stock', async () => {
    const patches: unknown[] = [];
    let saved = 5;
    mockIPC((cmd, args) => {
      const settings = () => ({ destinations: [], effect_presets: [], low_stock_threshold: saved, next_when_sold_out: false, pin_when_asked: false });
      if (cmd === 'settings') return settings();
      if (cmd === 'update_settings') {
        saved = (args as { update: { low_stock_threshold: number } }).update.low_stock_threshold;
        return settings();
      }
      if (cmd === 'relay_call') {
        const call = args as { method: string; path: string; body: { low_stock_threshold: number } };
        patches.push({ method: call.method, path: call.path, body: call.body });
        return { id: 7, low_stock_threshold: call.body.low_stock_threshold };
      }
      return null;
    });
    const lives: unknown[] = [];
    const { rerender } = render(<CardRules live={{ id: 7, low_stock_threshold: 9 }} onLive={(l) => lives.push(l)} />);
    await waitFor(() => expect(patches).toEqual([{ method: 'PATCH', path: '/api/lives/7', body: { low_stock_threshold: 5 } }]));
    await waitFor(() => expect(lives).toHaveLength(1));
    // The live now says 5: nothing more to send until the rule changes.
    rerender(<CardRules live={{ id: 7, low_stock_threshold: 5 }} onLive={(l) => lives.push(l)} />);
    const input = screen.getByLabelText<HTMLInputElement>('画面中「仅剩 N 件」：库存不超过');
    fireEvent.change(input, { target: { value: '20' } });
    fireEvent.blur(input);
    await waitFor(() => expect(patches).toHaveLength(2));
    expect(patches[1]).toEqual({ method: 'PATCH', path: '/api/lives/7', body: { low_stock_threshold: 20 } });
  });

  it("gives the live the studio's 讲解 rules, which the relay then applies", async () => {
    const patches: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'settings') return { destinations: [], effect_presets: [], low_stock_threshold: 9, next_when_sold_out: true, pin_when_asked: false };
      if (cmd === 'relay_call') {
        const call = args as { method: string; path: string; body: unknown };
        patches.push({ method: call.method, path: call.path, body: call.body });
        return { id: 7, low_stock_threshold: 9, next_when_sold_out: true, pin_when_asked: false };
      }
      return null;
    });
    const live = { id: 7, low_stock_threshold: 9, next_when_sold_out: false, pin_when_asked: false };
    const { rerender } = render(<CardRules live={live} />);
    await waitFor(() => expect(patches).toEqual([{ method: 'PATCH', path: '/api/lives/7', body: { next_when_sold_out: true } }]));
    rerender(<CardRules live={{ ...live, next_when_sold_out: true }} />);
    const asked = screen.getByRole<HTMLInputElement>('checkbox', { name: '观众追问时自动讲解（不再只是提示）' });
    expect(asked.checked).toBe(false);
    await new Promise((r) => setTimeout(r, 50));
    expect(patches).toHaveLength(1);
  });
});
