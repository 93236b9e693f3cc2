// The studio backend as the window sees it: commands (errors become ApiError with the relay's
// code, field and message, as on the viewer page) and events.
import { invoke } from '@tauri-apps/api/core';
import { listen } from '@tauri-apps/api/event';
import { useEffect, useRef } from 'react';
import type { CallError } from '../bindings/CallError';
import { ApiError } from '../viewer/api';

function toApiError(e: unknown): ApiError {
  if (e && typeof e === 'object' && 'code' in e && 'message' in e) {
    const c = e as CallError;
    return new ApiError(c.status, c.code, c.message, c.field ?? undefined);
  }
  return new ApiError(0, 'ipc', e instanceof Error ? e.message : String(e));
}

/** The backend event carrying each event of the live's relay feed. */
export const RELAY_EVENT = 'relay-event';

/** A studio command; a failure is an ApiError. */
export async function command<T>(name: string, args?: Record<string, unknown>): Promise<T> {
  try {
    return await invoke<T>(name, args);
  } catch (e) {
    throw toApiError(e);
  }
}

/** One relay API request as the studio's staff account. */
export function relayCall<T>(method: string, path: string, body?: unknown): Promise<T> {
  return command<T>('relay_call', { method, path, body: body ?? null });
}

/** Calls `handler` with every payload of backend event `name` while mounted. */
export function useBackendEvent<T>(name: string, handler: (payload: T) => void): void {
  const latest = useRef(handler);
  useEffect(() => {
    latest.current = handler;
  });
  useEffect(() => {
    let active = true;
    const stop = listen<T>(name, (event) => {
      if (active) latest.current(event.payload);
    });
    return () => {
      active = false;
      void stop.then((unlisten) => unlisten());
    };
  }, [name]);
}

/**
 * Reads `path` from the relay once per `path` while mounted: `onData` gets the answer,
 * `onError` the relay's message. Answers arriving after unmount or a path change are dropped.
 */
export function useRelayRead<T>(path: string, onData: (data: T) => void, onError: (message: string) => void): void {
  const handlers = useRef({ onData, onError });
  useEffect(() => {
    handlers.current = { onData, onError };
  });
  useEffect(() => {
    let active = true;
    relayCall<T>('GET', path)
      .then((data) => {
        if (active) handlers.current.onData(data);
      })
      .catch((e: unknown) => {
        if (active) handlers.current.onError(e instanceof ApiError ? e.message : String(e));
      });
    return () => {
      active = false;
    };
  }, [path]);
}
