// The live's events over one WebSocket that resumes where it left off: after a drop it
// reconnects with `after=<last id seen>`, so no event is lost or applied twice. No polling.
// It asks for batches (`batch=true`): the events that committed together arrive as one JSON
// array, which at hundreds of comments a second is the difference between one message and
// dozens per flush, for the relay and for a phone. Where the browser can inflate them it asks
// for those arrays compressed (`deflate=true`, binary messages): an eighth of the bytes, for a
// phone's data plan and for a relay sending to thousands of viewers.
import type { Event } from '../bindings/Event';

export type SocketState = 'connecting' | 'open' | 'reconnecting';

export interface LiveSocketOptions {
  liveId: number;
  after: number;
  token?: string;
  onEvent: (event: Event) => void;
  onState?: (state: SocketState) => void;
  /** For tests: the page's origin and WebSocket class, and whether to ask for compression. */
  origin?: string;
  WebSocketImpl?: typeof WebSocket;
  deflate?: boolean;
}

/** Whether this browser reads compressed batches (Chrome 103+, Safari 16.4+, Firefox 113+). */
export function canInflate(): boolean {
  return typeof DecompressionStream !== 'undefined';
}

/** A raw DEFLATE message (RFC 1951) as the text it compresses. */
export async function inflate(data: ArrayBuffer): Promise<string> {
  const body = new Response(data).body!.pipeThrough(new DecompressionStream('deflate-raw'));
  return new Response(body).text();
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
  private readonly deflate: boolean;
  /** Compressed messages inflate asynchronously; this chain keeps them in arrival order. */
  private decoding: Promise<void> = Promise.resolve();
  private inflating = 0;

  constructor(options: LiveSocketOptions) {
    this.options = options;
    this.deflate = options.deflate ?? canInflate();
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
    if (this.deflate) params.set('deflate', 'true');
    if (this.options.token) params.set('access_token', this.options.token);
    return `${base}/api/lives/${this.options.liveId}/events?${params}`;
  }

  private connect(state: SocketState): void {
    this.options.onState?.(state);
    const Impl = this.options.WebSocketImpl ?? WebSocket;
    const socket = new Impl(this.url());
    socket.binaryType = 'arraybuffer';
    this.socket = socket;
    socket.onopen = () => {
      this.attempt = 0;
      this.options.onState?.('open');
    };
    socket.onmessage = (message: MessageEvent) => {
      const data = message.data as string | ArrayBuffer;
      if (typeof data !== 'string') {
        this.inflating += 1;
        this.decoding = this.decoding
          .then(() => inflate(data))
          .then(
            (text) => this.deliver(text),
            () => undefined,
          )
          .finally(() => {
            this.inflating -= 1;
          });
      } else if (this.inflating === 0) {
        this.deliver(data);
      } else {
        // Text behind compressed messages still waits its turn.
        this.decoding = this.decoding.then(() => this.deliver(data));
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

  private deliver(text: string): void {
    let parsed: Event | Event[];
    try {
      parsed = JSON.parse(text) as Event | Event[];
    } catch {
      return;
    }
    for (const event of Array.isArray(parsed) ? parsed : [parsed]) {
      if (event.id <= this.last) continue;
      this.last = event.id;
      this.options.onEvent(event);
    }
  }
}
