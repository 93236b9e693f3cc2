import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { cart, event, product, room } from '../viewer/fixtures';
import { SaleTools } from './SaleTools';
import { studioTestSetup } from './testSetup';

studioTestSetup();

interface Call {
  method: string;
  path: string;
  body: unknown;
}

function relay() {
  const calls: Call[] = [];
  mockIPC(
    (cmd, args) => {
      if (cmd !== 'relay_call') return undefined;
      const call = args as unknown as Call;
      calls.push(call);
      if (call.path === '/api/lives/7/room') return room({}, cart(product(1, [[11, 'S', 30], [12, 'M', 5]])));
      if (call.method === 'POST') return {};
      return undefined;
    },
    { shouldMockEvents: true },
  );
  return calls;
}

const posts = (calls: Call[]) => calls.filter((c) => c.method === 'POST');

describe('sale tools', () => {
  it('checks a 秒杀 before sending it, and sends prices in fen', async () => {
    const calls = relay();
    render(<SaleTools liveId={7} />);
    await screen.findByRole('option', { name: /1号 商品1 · M/ });
    fireEvent.click(screen.getByRole('button', { name: '开始秒杀' }));
    expect((await screen.findAllByRole('alert')).map((a) => a.textContent)).toEqual([
      '请选择商品规格',
      '请输入正确的金额，最多两位小数',
      '请输入正整数',
    ]);
    expect(screen.getByLabelText('秒杀价（元）').getAttribute('aria-invalid')).toBe('true');
    expect(posts(calls)).toEqual([]);

    fireEvent.change(screen.getByLabelText('商品规格'), { target: { value: '12' } });
    fireEvent.change(screen.getByLabelText('秒杀价（元）'), { target: { value: '19.9' } });
    fireEvent.change(screen.getByLabelText('秒杀数量'), { target: { value: '6' } });
    fireEvent.click(screen.getByRole('button', { name: '开始秒杀' }));
    expect((await screen.findByRole('alert')).textContent).toBe('数量不能超过库存');
    expect(posts(calls)).toEqual([]);

    fireEvent.change(screen.getByLabelText('秒杀数量'), { target: { value: '5' } });
    fireEvent.click(screen.getByRole('button', { name: '开始秒杀' }));
    await waitFor(() => expect(posts(calls)).toHaveLength(1));
    expect(posts(calls)[0]).toEqual({
      method: 'POST',
      path: '/api/lives/7/flash-sales',
      body: { sku_id: 12, sale_price_fen: 1990, quantity: 5, per_user_limit: 1, duration_secs: 300 },
    });
  });

  it('hands out a coupon for this live and starts a 福袋 with a keyword', async () => {
    const calls = relay();
    render(<SaleTools liveId={7} />);
    await screen.findByRole('option', { name: /1号 商品1 · S/ });
    fireEvent.change(screen.getByLabelText('名称'), { target: { value: '满100减10' } });
    fireEvent.change(screen.getByLabelText('减（元）'), { target: { value: '10' } });
    fireEvent.change(screen.getByLabelText('满（元，0 为无门槛）'), { target: { value: '100' } });
    fireEvent.click(screen.getByRole('button', { name: '发券' }));
    await waitFor(() => expect(posts(calls)).toHaveLength(1));
    expect(posts(calls)[0]).toMatchObject({
      path: '/api/coupons',
      body: { live_id: 7, title: '满100减10', amount_off_fen: 1000, threshold_fen: 10_000, quantity: 100 },
    });

    fireEvent.change(screen.getByLabelText('奖品'), { target: { value: '保温杯' } });
    fireEvent.change(screen.getByLabelText('口令（选填，评论口令才能参与）'), { target: { value: '想要' } });
    fireEvent.click(screen.getByRole('button', { name: '发福袋' }));
    await waitFor(() => expect(posts(calls)).toHaveLength(2));
    expect(posts(calls)[1]).toEqual({
      method: 'POST',
      path: '/api/lives/7/lotteries',
      body: { prize: '保温杯', winners: 1, keyword: '想要', duration_secs: 180 },
    });
  });

  it('follows sales from events without reading the room again', async () => {
    const calls = relay();
    render(<SaleTools liveId={7} />);
    await screen.findByRole('option', { name: /1号 商品1 · S/ });
    const sale = { id: 5, live_id: 7, sku_id: 11, sale_price_fen: 990, quantity: 10, remaining: 10, per_user_limit: 1, starts_at_ms: 0, ends_at_ms: Date.now() + 600_000, open: true };
    await act(() => emit('relay-event', event('flashsale.created', { sale })));
    await act(() => emit('relay-event', event('flashsale.changed', { sales: [{ id: 5, remaining: 7 }] })));
    expect(within(screen.getByTestId('flash-sales')).getByRole('listitem').textContent).toContain('剩 7/10');
    await act(() => emit('relay-event', event('flashsale.ended', { id: 5, sku_id: 11, stock: 27 })));
    expect(within(screen.getByTestId('flash-sales')).queryAllByRole('listitem')).toHaveLength(0);
    expect(calls.filter((c) => c.path === '/api/lives/7/room')).toHaveLength(1);
  });
});
