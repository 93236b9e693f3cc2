// The relay's log entries (`Event`: id, kind, payload as unknown) read as the union the relay
// writes them from (`relay/src/events/live_event.rs`, exported to bindings/LiveEvent.ts): a
// `switch (e.kind)` then knows each payload's shape, and a payload changed on the relay side
// fails the typecheck here instead of a page at run time.
import type { Event } from '../bindings/Event';
import type { LiveEvent } from '../bindings/LiveEvent';

export function liveEvent(event: Event): LiveEvent {
  return { kind: event.kind, payload: event.payload } as LiveEvent;
}
