import { useEffect, useState } from 'react';
import type { StudioInfo } from '../bindings/StudioInfo';
import { command, useBackendEvent } from './ipc';

export const STUDIO_READY_EVENT = 'studio-ready';
export const STUDIO_ERROR_EVENT = 'studio-error';

/** The session's relay and live once connected, and the latest startup error. */
export function useStudioInfo(): { info: StudioInfo | null; error: string | null } {
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
  return { info, error };
}
