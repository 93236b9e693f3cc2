import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initI18n } from '../i18n';
import { product, sale } from './fixtures';
import { ProductSheet } from './ProductSheet';
import { json, stubFetch } from './testing';

const coat = product(1, [
  [10, 'S', 5],
  [11, 'M', 4],
]);
const item = { position: 1, product: coat };

beforeAll(() => {
  initI18n();
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  localStorage.clear();
});

function open(sales = [sale({ sku_id: 11, sale_price_fen: 990, remaining: 2, per_user_limit: 2 })]) {
  render(
    <ProductSheet item={item} liveId={7} token="t" sales={sales} now={1_000_500} onPlaced={() => undefined} onClose={() => undefined} />,
  );
}

describe('product sheet', () => {
  it('prices each SKU by its own running sale and caps the quantity at the sale’s limit', () => {
    stubFetch({});
    open();
    // The SKU on sale is chosen first.
    expect((screen.getByRole('radio', { name: 'M' }) as HTMLInputElement).checked).toBe(true);
    expect(screen.getByText('¥9.90')).toBeTruthy();
    const more = screen.getByRole('button', { name: '增加数量' });
    fireEvent.click(more);
    expect(screen.getByText('2', { selector: 'output' })).toBeTruthy();
    expect((more as HTMLButtonElement).disabled).toBe(true);
    fireEvent.click(screen.getByRole('radio', { name: 'S' }));
    expect(screen.getByText('¥39.90')).toBeTruthy();
  });

  it('keeps the order’s key when the buyer goes back after an unanswered order and buys again', async () => {
    let attempt = 0;
    const calls = stubFetch({
      'GET /api/me/coupons': [],
      'POST /api/orders': () => {
        attempt += 1;
        if (attempt === 1) return Promise.reject(new TypeError('Failed to fetch'));
        return json({ id: 5, status: 'created', total_fen: 990, items: [] }, 201);
      },
      'GET /api/payments/methods': [],
    });
    open();
    const buy = () => fireEvent.click(screen.getByRole('button', { name: '立即购买' }));
    buy();
    fireEvent.change(screen.getByLabelText('收货人'), { target: { value: '张三' } });
    fireEvent.change(screen.getByLabelText('手机号'), { target: { value: '13800138000' } });
    fireEvent.change(screen.getByLabelText('收货地址'), { target: { value: '上海市浦东新区世纪大道 100 号' } });
    fireEvent.click(screen.getByRole('button', { name: '提交订单' }));
    await screen.findByText('网络不太稳定，请稍后重试');
    fireEvent.click(screen.getByRole('button', { name: '返回' }));
    buy();
    fireEvent.click(screen.getByRole('button', { name: '提交订单' }));
    await screen.findByTestId('order-placed');
    const keys = calls
      .filter((c) => c.path === '/api/orders')
      .map((c) => (c.init!.headers as Record<string, string>)['idempotency-key']);
    expect(keys).toHaveLength(2);
    expect(keys[1]).toBe(keys[0]);
  });
});
