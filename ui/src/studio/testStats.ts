// Engine stats as the backend sends them, for the docks' tests.
import type { EngineStats, OutputStats } from './engineStats';

export const outputStats = (id: string, state: OutputStats['state'], extra: Partial<OutputStats> = {}): OutputStats => ({
  id,
  kind: id === 'relay' ? 'whip' : 'rtmp',
  state,
  target_kbps: 4000,
  measured_kbps: 3900,
  fps: 30,
  dropped_frames: 0,
  rtt_ms: null,
  loss: null,
  reconnects: 0,
  estimate_kbps: null,
  ...extra,
});

export const engineStats = (outputs: OutputStats[]): EngineStats => ({
  fps: 30,
  frames: 100,
  cpu_percent: 50,
  encode_latency_ms: null,
  encoder: 'x264enc',
  video_bitrate_kbps: 4000,
  active_scene: 'main',
  outputs,
  audio: [{ id: 'mic', backend: 'cpal alsa:default', problem: null }],
  error: null,
});
