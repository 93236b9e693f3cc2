import { useEffect, useState } from 'react';
import type { StudioInfo } from '../bindings/StudioInfo';
import { command, useBackendEvent } from './ipc';

export const STUDIO_READY_EVENT = 'studio-ready';
export const STUDIO_ERROR_EVENT = 'studio-error';

/** The session's relay and live once connected, and the latest startup error. */
export function useStudioInfo(): {
  info: StudioInfo | null;
  error: string | null;
  setInfo: (info: StudioInfo) => void;
} {
  const [info, setInfo] = useState<StudioInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  useBackendEvent<StudioInfo>(STUDIO_READY_EVENT, setInfo);
  useBackendEvent<string>(STUDIO_ERROR_EVENT, setError);
  useEffect(() => {
    let active = true;
    command<StudioInfo | null>('studio_info')
      .then((current) => {
        if (active && current) setInfo(current);
      })
      .catch(() => {
        // Not connected yet: `studio-ready` follows.
      });
    return () => {
      active = false;
    };
  }, []);
  return { info, error, setInfo };
}

export type StudioMode = 'studio' | 'assistant';

/** `assistant` when started with `--assistant` (no engine, no bundled relay). */
export function useStudioMode(): StudioMode | null {
  const [mode, setMode] = useState<StudioMode | null>(null);
  useEffect(() => {
    let active = true;
    command<StudioMode>('studio_mode')
      .then((m) => {
        if (active) setMode(m ?? 'studio');
      })
      .catch(() => {
        if (active) setMode('studio');
      });
    return () => {
      active = false;
    };
  }, []);
  return mode;
}
