import { describe, expect, it } from 'vitest';
import { addBitrateSample, bitratePoints, bitrateScaleMax, HISTORY_MS, lossPercent, type BitrateSample, type OutputStats } from './engineStats';
import { engineStats, outputStats } from './testStats';

const relay = (state: OutputStats['state'], target = 4000, measured = 3900): OutputStats =>
  outputStats('relay', state, { target_kbps: target, measured_kbps: measured, rtt_ms: 40, loss: 0.025 });
const stats = engineStats;

describe('bitrate history', () => {
  it("keeps the relay output's figures for the last 60 s only", () => {
    let h: BitrateSample[] = [];
    for (let s = 0; s <= 70; s += 1) h = addBitrateSample(h, stats([relay('live', 4000, 3000 + s)]), s * 1000);
    expect(h).toHaveLength(61);
    expect(h[0]).toEqual({ atMs: 10_000, targetKbps: 4000, measuredKbps: 3010 });
    expect(h.at(-1)).toEqual({ atMs: 70_000, targetKbps: 4000, measuredKbps: 3070 });
    expect(h.every((x) => 70_000 - x.atMs <= HISTORY_MS)).toBe(true);
  });

  it('keeps going through a reconnect and starts over when the output stops, fails or goes', () => {
    let h = addBitrateSample([], stats([relay('live')]), 0);
    h = addBitrateSample(h, stats([relay('reconnecting', 4000, 0)]), 1000);
    expect(h).toHaveLength(2);
    expect(addBitrateSample(h, stats([relay('stopped')]), 2000)).toEqual([]);
    expect(addBitrateSample(h, stats([relay('failed')]), 2000)).toEqual([]);
    expect(addBitrateSample(h, stats([{ ...relay('live'), id: 'dest-1' }]), 2000)).toEqual([]);
    const empty: BitrateSample[] = [];
    expect(addBitrateSample(empty, stats([]), 0)).toBe(empty);
  });

  it('scales to the highest figure in 500 kbit/s steps and draws now at the right edge', () => {
    const h = [
      { atMs: 0, targetKbps: 4000, measuredKbps: 2000 },
      { atMs: 30_000, targetKbps: 4200, measuredKbps: 4100 },
    ];
    expect(bitrateScaleMax([])).toBe(500);
    expect(bitrateScaleMax(h)).toBe(4500);
    expect(bitratePoints(h, (s) => s.measuredKbps, 240, 60, 4000)).toBe('120.0,30.0 240.0,0.0');
    expect(bitratePoints([], (s) => s.targetKbps, 240, 60, 500)).toBe('');
  });

  it('shows loss as a percentage', () => {
    expect(lossPercent(0.025)).toBe('2.5 %');
    expect(lossPercent(null)).toBe('—');
  });
});
