import { describe, expect, it } from 'vitest';
import { checkCoupon, checkFlashSale, checkLottery, parseYuan } from './saleForms';

describe('sale forms', () => {
  it('reads yuan into integer fen and refuses anything else', () => {
    expect(parseYuan('39.9')).toBe(3990);
    expect(parseYuan(' 5 ')).toBe(500);
    expect(parseYuan('0.05')).toBe(5);
    expect(parseYuan('1.234')).toBeNull();
    expect(parseYuan('-1')).toBeNull();
    expect(parseYuan('1e3')).toBeNull();
    expect(parseYuan('')).toBeNull();
  });

  it('checks a 秒杀 against the SKU: lower price, quantity within stock, 1–120 minutes', () => {
    const sku = { priceFen: 3990, stock: 50 };
    const ok = checkFlashSale({ skuId: 7, price: '19.9', quantity: '20', perUser: '', minutes: '5' }, sku);
    expect(ok).toEqual({
      ok: true,
      value: { sku_id: 7, sale_price_fen: 1990, quantity: 20, per_user_limit: 1, duration_secs: 300 },
    });
    const bad = checkFlashSale({ skuId: 7, price: '39.9', quantity: '51', perUser: '0', minutes: '0' }, sku);
    expect(bad).toEqual({
      ok: false,
      errors: { price: 'priceNotLower', quantity: 'quantityOverStock', perUser: 'perUser', minutes: 'minutes' },
    });
    expect(checkFlashSale({ skuId: null, price: 'x', quantity: '', perUser: '', minutes: '5' }, undefined)).toEqual({
      ok: false,
      errors: { sku: 'sku', price: 'price', quantity: 'quantity' },
    });
  });

  it('checks a coupon: the amount off stays under its threshold', () => {
    const now = 1_000_000;
    expect(checkCoupon({ title: ' 满100减10 ', amountOff: '10', threshold: '100', quantity: '200', minutes: '60' }, 7, now)).toEqual({
      ok: true,
      value: {
        live_id: 7,
        title: '满100减10',
        amount_off_fen: 1000,
        threshold_fen: 10_000,
        quantity: 200,
        per_user_limit: 1,
        valid_until_ms: now + 3_600_000,
      },
    });
    const bad = checkCoupon({ title: '', amountOff: '100', threshold: '50', quantity: '0', minutes: '' }, 7, now);
    expect(bad.ok ? {} : bad.errors).toEqual({
      title: 'title',
      amountOff: 'amountOverThreshold',
      quantity: 'quantity',
      minutes: 'validity',
    });
  });

  it('checks a 福袋: a prize, 1–1000 winners, an optional keyword, 1–60 minutes', () => {
    expect(checkLottery({ prize: '保温杯', winners: '3', keyword: '', minutes: '2' })).toEqual({
      ok: true,
      value: { prize: '保温杯', winners: 3, keyword: undefined, duration_secs: 120 },
    });
    const bad = checkLottery({ prize: ' ', winners: '0', keyword: '一二三四五六七八九十一二三四五六七八九十一', minutes: '61' });
    expect(bad.ok ? {} : Object.keys(bad.errors)).toEqual(['prize', 'winners', 'keyword', 'minutes']);
  });
});
