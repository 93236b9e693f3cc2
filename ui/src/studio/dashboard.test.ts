import { describe, expect, it } from 'vitest';
import { addSample, conversionPercent, curvePoints } from './dashboard';

describe('dashboard figures', () => {
  it('keeps viewer samples in time order and draws them in the box', () => {
    let samples = addSample([], { atMs: 0, viewers: 0 });
    samples = addSample(samples, { atMs: 1000, viewers: 10 });
    samples = addSample(samples, { atMs: 500, viewers: 99 });
    samples = addSample(samples, { atMs: 2000, viewers: 5 });
    expect(samples.map((s) => s.viewers)).toEqual([0, 10, 5]);
    expect(curvePoints(samples, 100, 50)).toBe('0.0,50.0 50.0,0.0 100.0,25.0');
    expect(curvePoints([], 100, 50)).toBe('');
  });

  it('gives conversion as orders per card opening', () => {
    const base = { product_id: 1, title: '保温杯', units: 0, paid_gmv_fen: 0 };
    expect(conversionPercent({ ...base, clicks: 40, orders: 3 })).toBe(7.5);
    expect(conversionPercent({ ...base, clicks: 0, orders: 0 })).toBeNull();
  });
});
