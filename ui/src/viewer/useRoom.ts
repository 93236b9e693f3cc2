import { useEffect, useReducer, useState } from 'react';
import type { Event } from '../bindings/Event';
import type { Room } from '../bindings/Room';
import { api, ApiError } from './api';
import { applyEvent, fromRoom, type RoomState } from './room';
import { LiveSocket, type SocketState } from './socket';

type Action = { kind: 'room'; state: RoomState } | { kind: 'event'; event: Event };

function reducer(state: RoomState | undefined, action: Action): RoomState | undefined {
  switch (action.kind) {
    case 'room':
      return action.state;
    case 'event':
      return state && applyEvent(state, action.event);
  }
}

export type RoomLoad = { kind: 'loading' } | { kind: 'missing' } | { kind: 'unreachable' } | { kind: 'ready' };

/** The room snapshot, then its events over one resuming socket. */
export function useRoom(liveId: number | undefined) {
  const [room, dispatch] = useReducer(reducer, undefined);
  const [load, setLoad] = useState<RoomLoad>({ kind: 'loading' });
  const [socket, setSocket] = useState<SocketState>('connecting');

  useEffect(() => {
    if (liveId === undefined) return;
    const abort = new AbortController();
    let live: LiveSocket | undefined;
    api<Room>(`/api/lives/${liveId}/room`, { signal: abort.signal })
      .then((snapshot) => {
        dispatch({ kind: 'room', state: fromRoom(snapshot, Date.now()) });
        setLoad({ kind: 'ready' });
        live = new LiveSocket({
          liveId,
          after: snapshot.last_event_id,
          onEvent: (event) => dispatch({ kind: 'event', event }),
          onState: setSocket,
        });
      })
      .catch((e: unknown) => {
        if (abort.signal.aborted) return;
        setLoad({ kind: e instanceof ApiError && e.status === 404 ? 'missing' : 'unreachable' });
      });
    return () => {
      abort.abort();
      live?.close();
    };
  }, [liveId]);

  // A cart change named products this page has not seen: read the whole room again. Its
  // snapshot is at least as new as every event applied so far (its resume point is read
  // first), so nothing applied is overwritten by an older read, and the socket goes on.
  const stale = room?.stale ?? false;
  const [reread, setReread] = useState(0);
  useEffect(() => {
    if (!stale || liveId === undefined) return;
    let retry: ReturnType<typeof setTimeout> | undefined;
    api<Room>(`/api/lives/${liveId}/room`)
      .then((snapshot) => dispatch({ kind: 'room', state: fromRoom(snapshot, Date.now()) }))
      .catch(() => {
        retry = setTimeout(() => setReread((n) => n + 1), 2000);
      });
    return () => clearTimeout(retry);
  }, [stale, liveId, reread]);

  return { room, load, socket };
}

/** The relay's clock, ticking once a second. */
export function useRelayNow(offsetMs: number): number {
  const [now, setNow] = useState(() => Date.now() + offsetMs);
  useEffect(() => {
    // At once (a sale that just opened must not show the clock of when the page last ticked),
    // then every second.
    const tick = () => setNow(Date.now() + offsetMs);
    const first = setTimeout(tick, 0);
    const timer = setInterval(tick, 1000);
    return () => {
      clearTimeout(first);
      clearInterval(timer);
    };
  }, [offsetMs]);
  return now;
}
