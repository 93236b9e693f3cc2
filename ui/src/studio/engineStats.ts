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

export interface EngineStats {
  fps: number;
  frames: number;
  cpu_percent: number;
  encode_latency_ms: number | null;
  encoder: string;
  video_bitrate_kbps: number;
  active_scene: string;
  outputs: OutputStats[];
  error: string | null;
}

export function useEngineStats(): EngineStats | null {
  const [stats, setStats] = useState<EngineStats | null>(null);
  useBackendEvent<EngineStats>(STATS_EVENT, setStats);
  return stats;
}
