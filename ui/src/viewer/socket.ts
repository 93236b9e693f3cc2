// The live's events over one WebSocket that resumes where it left off: after a drop it
// reconnects with `after=<last id seen>`, so no event is lost or applied twice. No polling.
// It asks for batches (`batch=true`): the events that committed together arrive as one JSON
// array, which at hundreds of comments a second is the difference between one message and
// dozens per flush, for the relay and for a phone.
import type { Event } from '../bindings/Event';

export type SocketState = 'connecting' | 'open' | 'reconnecting';

export interface LiveSocketOptions {
  liveId: number;
  after: number;
  token?: string;
  onEvent: (event: Event) => void;
  onState?: (state: SocketState) => void;
  /** For tests: the page's origin and WebSocket class. */
  origin?: string;
  WebSocketImpl?: typeof WebSocket;
}

/** Reconnect delays: quick at first, then at most every 10 s (a relay restart, a tunnel). */
export const BACKOFF_MS = [500, 1000, 2000, 5000, 10000];

export class LiveSocket {
  private socket?: WebSocket;
  private last: number;
  private attempt = 0;
  private timer?: ReturnType<typeof setTimeout>;
  private closed = false;
  private readonly options: LiveSocketOptions;

  constructor(options: LiveSocketOptions) {
    this.options = options;
    this.last = options.after;
    this.connect('connecting');
  }

  /** The last event id delivered. */
  get lastEventId(): number {
    return this.last;
  }

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.socket?.close();
  }

  url(): string {
    const origin = this.options.origin ?? window.location.origin;
    const base = origin.replace(/^http/, 'ws');
    const params = new URLSearchParams({ after: String(this.last), batch: 'true' });
    if (this.options.token) params.set('access_token', this.options.token);
    return `${base}/api/lives/${this.options.liveId}/events?${params}`;
  }

  private connect(state: SocketState): void {
    this.options.onState?.(state);
    const Impl = this.options.WebSocketImpl ?? WebSocket;
    const socket = new Impl(this.url());
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.options.onState?.('open');
    };
    socket.onmessage = (message: MessageEvent) => {
      let parsed: Event | Event[];
      try {
        parsed = JSON.parse(String(message.data)) as Event | Event[];
      } catch {
        return;
      }
      for (const event of Array.isArray(parsed) ? parsed : [parsed]) {
        if (event.id <= this.last) continue;
        this.last = event.id;
        this.options.onEvent(event);
      }
    };
    socket.onclose = () => {
      if (this.closed || this.socket !== socket) return;
      const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)]!;
      this.attempt += 1;
      this.options.onState?.('reconnecting');
      this.timer = setTimeout(() => this.connect('reconnecting'), delay);
    };
  }
}
