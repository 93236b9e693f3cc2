import { cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { initI18n } from '../i18n';
import { Checkout, usableCoupons } from './Checkout';
import { json, stubFetch } from './testing';

const line = { skuId: 10, title: '保温杯', skuName: '雾白', unitPriceFen: 6900, quantity: 1 };
const coupon = (id: number, off: number, threshold: number, extra = {}) => ({
  id,
  coupon: { id, live_id: 7, title: `减${off / 100}`, amount_off_fen: off, threshold_fen: threshold, quantity: 9, claimed: 1, per_user_limit: 1, valid_from_ms: 0, valid_until_ms: 9e12 },
  claimed_at_ms: 0,
  ...extra,
});
const KEY = '0123456789abcdef0123456789abcdef';
const order = { id: 42, viewer_id: 9, live_id: 7, status: 'created', total_fen: 5900, discount_fen: 1000, shipping: {}, items: [], created_at_ms: 0, expires_at_ms: 0 };

beforeAll(() => {
  initI18n();
});
beforeEach(() => localStorage.clear());
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
});

function fill(phone = '13800138000') {
  fireEvent.change(screen.getByLabelText('收货人'), { target: { value: '张三' } });
  fireEvent.change(screen.getByLabelText('手机号'), { target: { value: phone } });
  fireEvent.change(screen.getByLabelText('收货地址'), { target: { value: '上海市浦东新区世纪大道 100 号' } });
}

function renderCheckout(onPlaced = vi.fn()) {
  render(
    <Checkout liveId={7} token="t" orderKey={KEY} line={line} now={1000} onPlaced={onPlaced} onBack={() => undefined} />,
  );
  return onPlaced;
}

const orderPosts = (calls: { method: string; path: string; init?: RequestInit }[]) =>
  calls.filter((c) => c.method === 'POST' && c.path === '/api/orders');

describe('checkout', () => {
  it('offers the coupons that apply, best first', () => {
    const claims = [coupon(1, 500, 0), coupon(2, 1000, 5000), coupon(3, 2000, 10000), coupon(4, 3000, 0, { used_order_id: 5 })];
    expect(usableCoupons(claims, 7, 6900, 1000).map((c) => c.id)).toEqual([2, 1]);
    expect(usableCoupons(claims, 8, 6900, 1000).map((c) => c.id)).toEqual([]);
  });

  it('refuses a bad phone number at the field and sends nothing', async () => {
    const calls = stubFetch({ 'GET /api/me/coupons': [] });
    renderCheckout();
    fill('12345');
    fireEvent.click(screen.getByRole('button', { name: '提交订单' }));
    expect((await screen.findByRole('alert')).textContent).toBe('请输入正确的 11 位手机号');
    expect(screen.getByLabelText('手机号').getAttribute('aria-invalid')).toBe('true');
    expect(orderPosts(calls)).toHaveLength(0);
  });

  it('sends one order for a double tap, with the best coupon, and the same key on a retry', async () => {
    let answer: (r: Response) => void = () => undefined;
    let attempt = 0;
    const calls = stubFetch({
      'GET /api/me/coupons': [coupon(1, 500, 0), coupon(2, 1000, 5000)],
      'POST /api/orders': () => {
        attempt += 1;
        if (attempt === 1) return Promise.reject(new TypeError('Failed to fetch'));
        return new Promise<Response>((resolve) => (answer = resolve));
      },
    });
    const onPlaced = renderCheckout();
    expect((await screen.findByTestId('checkout-total')).textContent).toBe('¥59.00');
    fill();
    fireEvent.click(screen.getByRole('button', { name: '提交订单' }));
    expect((await screen.findByRole('alert')).textContent).toBe('网络不太稳定，请稍后重试');
    const submit = screen.getByRole('button', { name: '提交订单' });
    fireEvent.click(submit);
    fireEvent.click(submit);
    await vi.waitFor(() => expect(orderPosts(calls)).toHaveLength(2));
    answer(json(order, 201));
    await vi.waitFor(() => expect(onPlaced).toHaveBeenCalledWith(order));
    const [first, second] = orderPosts(calls).map((c) => c.init!);
    const key = (init: RequestInit) => (init.headers as Record<string, string>)['idempotency-key'];
    expect(key(first!)).toBe(KEY);
    expect(key(second!)).toBe(KEY);
    const body = JSON.parse(String(second!.body));
    expect(body).toMatchObject({ live_id: 7, items: [{ sku_id: 10, quantity: 1 }], coupon_claim_id: 2 });
    expect(body.shipping).toEqual({ name: '张三', phone: '13800138000', address: '上海市浦东新区世纪大道 100 号' });
    // The address is remembered for the next order on this phone.
    expect(JSON.parse(localStorage.getItem('anchordesk.shipping')!).phone).toBe('13800138000');
  });

  it('says sold out in plain words, and shows the relay’s message for a field it rejects', async () => {
    let reply = json({ error: { code: 'sold_out', message: 'sold out: SKU 10' } }, 409);
    stubFetch({ 'GET /api/me/coupons': [], 'POST /api/orders': () => reply });
    renderCheckout();
    fill();
    fireEvent.click(screen.getByRole('button', { name: '提交订单' }));
    expect((await screen.findByRole('alert')).textContent).toBe('手慢了，已被抢光');
    reply = json({ error: { code: 'invalid_field', message: 'must be an 11-digit mobile number', field: 'shipping.phone' } }, 422);
    fireEvent.click(screen.getByRole('button', { name: '提交订单' }));
    await vi.waitFor(() => expect(screen.getByRole('alert').textContent).toBe('must be an 11-digit mobile number'));
    expect(screen.getByLabelText('手机号').getAttribute('aria-invalid')).toBe('true');
  });
});
