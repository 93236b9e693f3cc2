// The engine's once-a-second stats (`engine-stats`), as pipelines' EngineStats serializes them.
import { useState } from 'react';
import { useBackendEvent } from './ipc';

export const STATS_EVENT = 'engine-stats';
export const RELAY_OUTPUT = 'relay';

export type OutputStateName = 'connecting' | 'live' | 'reconnecting' | 'failed' | 'stopped';

export interface OutputStats {
  id: string;
  kind: string;
  state: OutputStateName;
  /** With reconnecting and failed. */
  reason?: string;
  attempt?: number;
  target_kbps: number;
  measured_kbps: number;
  fps: number;
  dropped_frames: number;
  rtt_ms: number | null;
  loss: number | null;
  reconnects: number;
  estimate_kbps: number | null;
}

/** An audio input: what feeds it and, when it failed, why it sends silence. */
export interface AudioInputStatus {
  id: string;
  backend: string;
  problem: string | null;
}

export interface EngineStats {
  fps: number;
  frames: number;
  cpu_percent: number;
  encode_latency_ms: number | null;
  encoder: string;
  video_bitrate_kbps: number;
  active_scene: string;
  outputs: OutputStats[];
  audio: AudioInputStatus[];
  error: string | null;
}

export function useEngineStats(): EngineStats | null {
  const [stats, setStats] = useState<EngineStats | null>(null);
  useBackendEvent<EngineStats>(STATS_EVENT, setStats);
  return stats;
}

/** One second of an output's bitrate, as the stats dock's graph keeps it. */
export interface BitrateSample {
  atMs: number;
  targetKbps: number;
  measuredKbps: number;
}

/** How far back the bitrate graph looks. */
export const HISTORY_MS = 60_000;

/**
 * `history` with `outputId`'s figures from `stats` received at `nowMs`: samples more than a
 * minute old go, and an output that stopped or failed (or is gone) starts the graph over, so a
 * new push does not carry the last one's tail.
 */
export function addBitrateSample(history: BitrateSample[], stats: EngineStats, nowMs: number, outputId = RELAY_OUTPUT): BitrateSample[] {
  const output = stats.outputs.find((o) => o.id === outputId);
  if (!output || output.state === 'stopped' || output.state === 'failed') return history.length === 0 ? history : [];
  const recent = history.filter((s) => s.atMs <= nowMs && nowMs - s.atMs <= HISTORY_MS);
  return [...recent, { atMs: nowMs, targetKbps: output.target_kbps, measuredKbps: output.measured_kbps }];
}

/** The relay output's bitrate over the last minute, from the same `engine-stats` events. */
export function useBitrateHistory(): BitrateSample[] {
  const [history, setHistory] = useState<BitrateSample[]>([]);
  useBackendEvent<EngineStats>(STATS_EVENT, (stats) => setHistory((h) => addBitrateSample(h, stats, Date.now())));
  return history;
}

/** The graph's top: the highest figure rounded up to 500 kbit/s, so the label stays readable. */
export function bitrateScaleMax(history: BitrateSample[]): number {
  const top = Math.max(0, ...history.flatMap((s) => [s.targetKbps, s.measuredKbps]));
  return Math.max(500, Math.ceil(top / 500) * 500);
}

/** SVG polyline points in a `width`×`height` box: the last minute across (now at the right), 0 to `max` up. */
export function bitratePoints(history: BitrateSample[], pick: (s: BitrateSample) => number, width: number, height: number, max: number): string {
  const last = history.at(-1);
  if (!last) return '';
  return history
    .map((s) => {
      const x = width - ((last.atMs - s.atMs) / HISTORY_MS) * width;
      const y = height - (Math.min(pick(s), max) / max) * height;
      return `${x.toFixed(1)},${y.toFixed(1)}`;
    })
    .join(' ');
}

/** Packet loss (a fraction, as the engine reports it) as a percentage with one decimal. */
export function lossPercent(loss: number | null | undefined): string {
  return loss == null ? '—' : `${(loss * 100).toFixed(1)} %`;
}
