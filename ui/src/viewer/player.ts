// Plays a live stream into a <video>: WHEP (WebRTC, sub-second) when the browser can, else
// HLS (hls.js, or the browser's own on iOS Safari). Both report the same few states.
import { errorFrom } from './api';

export type PlayerState = 'connecting' | 'playing' | 'offline' | 'failed';

export interface Playback {
  close(): void;
  /** The WebRTC connection, for stats (WHEP only). */
  pc?: RTCPeerConnection;
}

/** The stream is not being published: try again after this long. */
export class OfflineError extends Error {
  readonly retryAfterMs: number;
  constructor(retryAfterMs: number) {
    super('stream offline');
    this.retryAfterMs = retryAfterMs;
  }
}

export function webrtcAvailable(): boolean {
  return typeof RTCPeerConnection !== 'undefined';
}

/** Resolves once ICE gathering is done, or after `ms` with what has been gathered. */
function gathered(pc: RTCPeerConnection, ms: number): Promise<void> {
  return new Promise((done) => {
    if (pc.iceGatheringState === 'complete') return done();
    const timer = setTimeout(done, ms);
    pc.addEventListener('icegatheringstatechange', () => {
      if (pc.iceGatheringState === 'complete') {
        clearTimeout(timer);
        done();
      }
    });
  });
}

/**
 * WHEP: one recvonly offer, the relay's answer, and the session URL to DELETE on close.
 * Throws `OfflineError` when nobody publishes (503), any other error when WebRTC cannot work.
 */
export async function playWhep(
  video: HTMLVideoElement,
  stream: string,
  onState: (state: PlayerState) => void,
): Promise<Playback> {
  const pc = new RTCPeerConnection();
  let session: string | null = null;
  let closed = false;
  const close = () => {
    if (closed) return;
    closed = true;
    pc.close();
    // keepalive: the relay still hears of it when the page is going away.
    if (session) void fetch(session, { method: 'DELETE', keepalive: true }).catch(() => undefined);
  };
  try {
    pc.addTransceiver('video', { direction: 'recvonly' });
    pc.addTransceiver('audio', { direction: 'recvonly' });
    const media = new MediaStream();
    pc.addEventListener('track', (event) => {
      media.addTrack(event.track);
      video.srcObject = media;
    });
    pc.addEventListener('connectionstatechange', () => {
      if (pc.connectionState === 'failed') onState('failed');
    });
    await pc.setLocalDescription(await pc.createOffer());
    await gathered(pc, 2000);
    const response = await fetch(`/whep/${encodeURIComponent(stream)}`, {
      method: 'POST',
      headers: { 'content-type': 'application/sdp' },
      body: pc.localDescription!.sdp,
    });
    if (response.status === 503 || response.status === 404) {
      const error = await errorFrom(response);
      throw new OfflineError((error.retryAfterS ?? 2) * 1000);
    }
    if (response.status !== 201) throw await errorFrom(response);
    const location = response.headers.get('location');
    session = location ? new URL(location, window.location.href).toString() : null;
    await pc.setRemoteDescription({ type: 'answer', sdp: await response.text() });
    return { close, pc };
  } catch (e) {
    close();
    throw e;
  }
}

/**
 * The playlist's URL: on the CDN the relay names (`hls_base_url`, in a meta tag of the page)
 * or the relay itself, with this tab's player token. The token lets the relay count HLS
 * viewers apart behind a CDN (which must forward it and leave it out of its cache key);
 * segment URLs are relative to the playlist and go without it.
 */
export function hlsUrl(stream: string, doc: Document = document, storage: Storage | undefined = sessionStorageOrNone()): string {
  const base = doc.querySelector<HTMLMetaElement>('meta[name="anchordesk-hls-base"]')?.content.replace(/\/+$/, '') ?? '';
  return `${base}/hls/${encodeURIComponent(stream)}/index.m3u8?v=${playerToken(storage)}`;
}

const PLAYER_TOKEN_KEY = 'anchordesk.player';
let pageToken: string | undefined;

/** A random id per browser tab (kept across reloads), unrelated to the viewer's account. */
function playerToken(storage: Storage | undefined): string {
  const saved = storage?.getItem(PLAYER_TOKEN_KEY) ?? pageToken;
  if (saved && /^[A-Za-z0-9_-]{8,64}$/.test(saved)) return saved;
  const token = Array.from(crypto.getRandomValues(new Uint8Array(8)), (b) => b.toString(16).padStart(2, '0')).join('');
  pageToken = token;
  try {
    storage?.setItem(PLAYER_TOKEN_KEY, token);
  } catch {
    // Storage full or refused: this page keeps its own.
  }
  return token;
}

function sessionStorageOrNone(): Storage | undefined {
  try {
    return window.sessionStorage;
  } catch {
    return undefined;
  }
}

interface HlsLike {
  loadSource(url: string): void;
  attachMedia(video: HTMLVideoElement): void;
  on(event: string, handler: (event: string, data: { fatal?: boolean; response?: { code?: number } }) => void): void;
  destroy(): void;
}

/**
 * HLS through hls.js, loaded only when needed (it is most of a player's weight), or the
 * browser's own player where it has one. A fatal error reports `offline` for a missing
 * playlist (nobody publishes) and `failed` otherwise; the caller retries.
 */
export async function playHls(
  video: HTMLVideoElement,
  stream: string,
  onState: (state: PlayerState) => void,
): Promise<Playback> {
  const url = hlsUrl(stream);
  const { default: Hls } = await import('hls.js');
  if (!Hls.isSupported()) {
    if (video.canPlayType('application/vnd.apple.mpegurl')) {
      video.src = url;
      return { close: () => video.removeAttribute('src') };
    }
    throw new Error('no HLS support in this browser');
  }
  const hls = new Hls({ liveSyncDurationCount: 2, manifestLoadingMaxRetry: 1 }) as unknown as HlsLike;
  hls.on(Hls.Events.ERROR, (_event, data) => {
    if (!data.fatal) return;
    const code = data.response?.code;
    onState(code === 404 || code === 503 ? 'offline' : 'failed');
  });
  hls.loadSource(url);
  hls.attachMedia(video);
  return { close: () => hls.destroy() };
}
