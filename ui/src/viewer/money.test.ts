import { describe, expect, it } from 'vitest';
import { formatCountdown, formatFen, secondsLeft } from './money';
import { shippingField, validateShipping } from './shipping';

describe('money and time', () => {
  it('shows fen as yuan with two decimals', () => {
    expect(formatFen(3990)).toBe('¥39.90');
    expect(formatFen(39900)).toBe('¥399.00');
    expect(formatFen(5)).toBe('¥0.05');
    expect(formatFen(-1000)).toBe('-¥10.00');
  });

  it('counts down in whole seconds and never below zero', () => {
    expect(secondsLeft(10_500, 10_000)).toBe(1);
    expect(secondsLeft(10_000, 12_000)).toBe(0);
    expect(formatCountdown(65)).toBe('01:05');
    expect(formatCountdown(3725)).toBe('01:02:05');
  });
});

describe('shipping form', () => {
  const ok = { name: '张三', phone: '13800138000', address: '上海市浦东新区世纪大道 100 号' };

  it('accepts a complete address with a mainland mobile number', () => {
    expect(validateShipping(ok)).toEqual({});
    expect(validateShipping({ ...ok, phone: '+8613800138000' })).toEqual({});
  });

  it('names each field at fault, as the relay does', () => {
    expect(validateShipping({ ...ok, phone: '12345' })).toEqual({ phone: 'viewer.checkout.errors.phone' });
    expect(validateShipping({ ...ok, phone: '12800138000' }).phone).toBeDefined();
    expect(validateShipping({ ...ok, name: '  ' }).name).toBe('viewer.checkout.errors.nameRequired');
    expect(validateShipping({ ...ok, name: '名'.repeat(21) }).name).toBe('viewer.checkout.errors.nameTooLong');
    expect(validateShipping({ ...ok, address: '上海' }).address).toBe('viewer.checkout.errors.addressShort');
  });

  it('maps the relay’s field names onto the form', () => {
    expect(shippingField('shipping.phone')).toBe('phone');
    expect(shippingField('items[0].quantity')).toBeUndefined();
    expect(shippingField(undefined)).toBeUndefined();
  });
});
