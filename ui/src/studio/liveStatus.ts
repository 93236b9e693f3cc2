// What the header says about the live at a glance: on air or not, for how long, and whether
// the push keeps up with the bitrate the encoder aims at.
import { useState } from 'react';
import { RELAY_OUTPUT, STATS_EVENT, type EngineStats, type OutputStats } from './engineStats';
import { useBackendEvent } from './ipc';

/** good: the push carries what the encoder aims at; weak: a part of it; bad: little or reconnecting. */
export type Health = 'good' | 'weak' | 'bad';

/** Below these shares of the target the push is weak, then bad (ABR lowers the target first). */
export const WEAK_SHARE = 0.8;
export const BAD_SHARE = 0.5;

export function healthOf(output: OutputStats | undefined): Health | null {
  if (!output || output.state === 'stopped' || output.state === 'failed') return null;
  if (output.state === 'reconnecting') return 'bad';
  if (output.state !== 'live' || output.target_kbps <= 0) return null;
  const share = output.measured_kbps / output.target_kbps;
  return share >= WEAK_SHARE ? 'good' : share >= BAD_SHARE ? 'weak' : 'bad';
}

/** `ms` as h:mm:ss (mm:ss under an hour), as a broadcast clock reads. */
export function formatDuration(ms: number): string {
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const two = (n: number) => String(n).padStart(2, '0');
  return h > 0 ? `${h}:${two(m)}:${two(s)}` : `${two(m)}:${two(s)}`;
}

/**
 * When the relay push went on air, kept across reconnects (the live goes on) and cleared when
 * it stops or fails: `previous` updated with `stats` received at `nowMs`.
 */
export function onAirSince(previous: number | null, stats: EngineStats, nowMs: number): number | null {
  const output = stats.outputs.find((o) => o.id === RELAY_OUTPUT);
  if (!output || output.state === 'stopped' || output.state === 'failed') return null;
  if (previous !== null) return previous;
  return output.state === 'live' ? nowMs : null;
}

/** The time the relay push went on air (this window's clock), from the engine's stats. */
export function useOnAirSince(): number | null {
  const [since, setSince] = useState<number | null>(null);
  useBackendEvent<EngineStats>(STATS_EVENT, (stats) => setSince((prev) => onAirSince(prev, stats, Date.now())));
  return since;
}
