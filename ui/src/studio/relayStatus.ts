import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { useEffect, useState } from 'react';
import type { RelayStatus } from '../bindings/RelayStatus';

/** Emitted by the studio backend whenever the bundled relay's state or health changes. */
export const RELAY_STATUS_EVENT = 'relay-status';

export function useRelayStatus(): RelayStatus {
  const [status, setStatus] = useState<RelayStatus>({ state: 'starting' });
  useEffect(() => {
    let aborted = false;
    const unlisten = listen<RelayStatus>(RELAY_STATUS_EVENT, (event) => {
      if (!aborted) setStatus(event.payload);
    });
    invoke<RelayStatus>('relay_status')
      .then((s) => {
        if (!aborted) setStatus(s);
      })
      .catch((err: unknown) => {
        if (!aborted) setStatus({ state: 'failed', error: String(err) });
      });
    return () => {
      aborted = true;
      void unlisten.then((stop) => stop());
    };
  }, []);
  return status;
}
