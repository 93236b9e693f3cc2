import { deflateRawSync } from 'node:zlib';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { Event } from '../bindings/Event';
import { BACKOFF_MS, LiveSocket } from './socket';

/** Stands in for the browser's WebSocket: records URLs, lets the test deliver and drop. */
class FakeSocket {
  static all: FakeSocket[] = [];
  onopen: (() => void) | null = null;
  onmessage: ((m: MessageEvent) => void) | null = null;
  onclose: (() => void) | null = null;
  readonly url: string;
  constructor(url: string) {
    this.url = url;
    FakeSocket.all.push(this);
  }
  deliver(event: Partial<Event> & { id: number }) {
    this.onmessage?.({ data: JSON.stringify({ kind: 'likes', payload: {}, ...event }) } as MessageEvent);
  }
  deliverBatch(ids: number[]) {
    const events = ids.map((id) => ({ id, kind: 'likes', payload: {} }));
    this.onmessage?.({ data: JSON.stringify(events) } as MessageEvent);
  }
  deliverDeflated(ids: number[]) {
    const events = ids.map((id) => ({ id, kind: 'likes', payload: {} }));
    const bytes = deflateRawSync(Buffer.from(JSON.stringify(events)));
    const data = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength);
    this.onmessage?.({ data } as MessageEvent);
  }
  drop() {
    this.onclose?.();
  }
  close() {}
}

beforeEach(() => {
  FakeSocket.all = [];
  vi.useFakeTimers();
});
afterEach(() => vi.useRealTimers());

function open(after = 5, deflate = false) {
  const events: number[] = [];
  const states: string[] = [];
  const socket = new LiveSocket({
    liveId: 7,
    after,
    onEvent: (e) => events.push(e.id),
    onState: (s) => states.push(s),
    origin: 'https://shop.example',
    WebSocketImpl: FakeSocket as unknown as typeof WebSocket,
    deflate,
  });
  return { socket, events, states };
}

describe('LiveSocket', () => {
  it('opens after the snapshot’s last event on the page’s origin', () => {
    open(5);
    expect(FakeSocket.all[0]!.url).toBe('wss://shop.example/api/lives/7/events?after=5&batch=true');
  });

  it('resumes after the last event it delivered when the connection drops, skipping repeats', () => {
    const { socket, events, states } = open(5);
    const first = FakeSocket.all[0]!;
    first.onopen?.();
    first.deliver({ id: 6 });
    first.deliver({ id: 7 });
    first.deliver({ id: 7 });
    first.drop();
    expect(states.at(-1)).toBe('reconnecting');
    vi.advanceTimersByTime(BACKOFF_MS[0]!);
    const second = FakeSocket.all[1]!;
    expect(second.url).toContain('after=7');
    // The relay replays from `after`; anything older is not delivered twice.
    second.deliver({ id: 7 });
    second.deliver({ id: 8 });
    expect(events).toEqual([6, 7, 8]);
    expect(socket.lastEventId).toBe(8);
  });

  it('takes a batch of events in one message, in order, skipping the ones it has', () => {
    const { socket, events } = open(5);
    const first = FakeSocket.all[0]!;
    first.deliverBatch([4, 5, 6, 7]);
    first.deliver({ id: 8 });
    first.deliverBatch([8, 9]);
    expect(events).toEqual([6, 7, 8, 9]);
    expect(socket.lastEventId).toBe(9);
  });

  it('asks for compressed batches where it can inflate them, and keeps their order', async () => {
    vi.useRealTimers();
    const { socket, events } = open(5, true);
    const first = FakeSocket.all[0]!;
    expect(first.url).toBe('wss://shop.example/api/lives/7/events?after=5&batch=true&deflate=true');
    first.deliverDeflated([5, 6, 7]);
    // Text behind a compressed message waits for it, then both arrive in order.
    first.deliver({ id: 8 });
    first.deliverDeflated([8, 9]);
    await vi.waitFor(() => expect(events).toEqual([6, 7, 8, 9]));
    expect(socket.lastEventId).toBe(9);
  });

  it('waits longer after each failed attempt, up to the last step, and starts over once open', () => {
    open();
    for (let i = 0; i < BACKOFF_MS.length + 2; i++) {
      FakeSocket.all.at(-1)!.drop();
      const delay = BACKOFF_MS[Math.min(i, BACKOFF_MS.length - 1)]!;
      vi.advanceTimersByTime(delay - 1);
      expect(FakeSocket.all).toHaveLength(i + 1);
      vi.advanceTimersByTime(1);
      expect(FakeSocket.all).toHaveLength(i + 2);
    }
    FakeSocket.all.at(-1)!.onopen?.();
    FakeSocket.all.at(-1)!.drop();
    vi.advanceTimersByTime(BACKOFF_MS[0]!);
    expect(FakeSocket.all).toHaveLength(BACKOFF_MS.length + 4);
  });

  it('stays closed once the page closes it', () => {
    const { socket } = open();
    socket.close();
    FakeSocket.all[0]!.drop();
    vi.advanceTimersByTime(60_000);
    expect(FakeSocket.all).toHaveLength(1);
  });
});
