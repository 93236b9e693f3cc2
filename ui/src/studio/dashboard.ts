// The dashboard's figures: the viewers curve sampled from `viewers` events, and conversion per
// product from the relay's live stats.
import type { ProductStats } from '../bindings/ProductStats';

export interface Sample {
  atMs: number;
  viewers: number;
}

/** Samples kept for the curve: an hour at one a second, at most. */
export const CURVE_SAMPLES = 3600;

export function addSample(samples: Sample[], sample: Sample): Sample[] {
  const last = samples.at(-1);
  if (last && last.atMs >= sample.atMs) return samples;
  return [...samples, sample].slice(-CURVE_SAMPLES);
}

/** SVG polyline points for `samples` in a `width`×`height` box (time across, viewers up). */
export function curvePoints(samples: Sample[], width: number, height: number): string {
  if (samples.length === 0) return '';
  const first = samples[0]!.atMs;
  const span = Math.max(1, samples.at(-1)!.atMs - first);
  const top = Math.max(1, ...samples.map((s) => s.viewers));
  return samples
    .map((s) => {
      const x = ((s.atMs - first) / span) * width;
      const y = height - (s.viewers / top) * height;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

/** Orders per card opening, as a percentage with one decimal; null before any opening. */
export function conversionPercent(p: ProductStats): number | null {
  if (p.clicks === 0) return null;
  return Math.round((p.orders / p.clicks) * 1000) / 10;
}
