import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { OfflineError, playHls, playWhep, webrtcAvailable, type Playback, type PlayerState } from './player';

export type PlayerMode = 'webrtc' | 'hls';

/** WebRTC that has not shown a frame by then is treated as blocked: switch to HLS. */
const WEBRTC_START_TIMEOUT_MS = 10_000;
/** A picture that has not moved for this long is a dead session: connect again. */
const STALL_MS = 6_000;
const RETRY_MS = 3_000;

/** What tests read: the mode in use and, for WebRTC, the connection's stats. */
declare global {
  interface Window {
    anchordeskPlayer?: { mode: PlayerMode; state: PlayerState; pc?: RTCPeerConnection };
  }
}

export function initialMode(search: string): PlayerMode {
  // `?webrtc=0` is the test (and support) switch for networks that block WebRTC.
  const off = new URLSearchParams(search).get('webrtc') === '0';
  return off || !webrtcAvailable() ? 'hls' : 'webrtc';
}

export function Player({ stream, children }: { stream: string; children?: ReactNode }) {
  const { t } = useTranslation();
  const video = useRef<HTMLVideoElement>(null);
  const [mode, setMode] = useState<PlayerMode>(() => initialMode(window.location.search));
  const [state, setState] = useState<PlayerState>('connecting');
  const [attempt, setAttempt] = useState(0);
  const [muted, setMuted] = useState(true);
  const [fellBack, setFellBack] = useState(false);

  useEffect(() => {
    const element = video.current;
    if (!element) return;
    let playback: Playback | undefined;
    let stopped = false;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const retry = (ms: number) => timers.push(setTimeout(() => setAttempt((n) => n + 1), ms));
    const report = (next: PlayerState) => {
      if (stopped) return;
      setState(next);
      window.anchordeskPlayer = { mode, state: next, pc: playback?.pc };
      if (next === 'offline' || next === 'failed') {
        playback?.close();
        retry(RETRY_MS);
      }
    };
    const onPlaying = () => report('playing');
    element.addEventListener('playing', onPlaying);

    // A picture that stops moving (the anchor's connection dropped, the relay restarted).
    // Frames shown, not currentTime: a WebRTC stream's clock runs on without any frames.
    let lastFrames = -1;
    let lastMoved = Date.now();
    const watchdog = setInterval(() => {
      const frames = element.getVideoPlaybackQuality?.().totalVideoFrames ?? element.currentTime;
      if (frames !== lastFrames) {
        lastFrames = frames;
        lastMoved = Date.now();
      } else if (Date.now() - lastMoved > STALL_MS && !stopped) {
        lastMoved = Date.now();
        report('connecting');
        playback?.close();
        setAttempt((n) => n + 1);
      }
    }, 1000);

    report('connecting');
    const start = mode === 'webrtc' ? playWhep : playHls;
    start(element, stream, report)
      .then((p) => {
        if (stopped) return p.close();
        playback = p;
        window.anchordeskPlayer = { mode, state: 'connecting', pc: p.pc };
        if (mode === 'webrtc') {
          timers.push(
            setTimeout(() => {
              if (!stopped && element.readyState < 2) {
                setFellBack(true);
                setMode('hls');
              }
            }, WEBRTC_START_TIMEOUT_MS),
          );
        }
        void element.play().catch(() => undefined);
      })
      .catch((e: unknown) => {
        if (stopped) return;
        if (e instanceof OfflineError) {
          setState('offline');
          window.anchordeskPlayer = { mode, state: 'offline' };
          retry(e.retryAfterMs);
        } else if (mode === 'webrtc') {
          setFellBack(true);
          setMode('hls');
        } else {
          report('failed');
        }
      });
    return () => {
      stopped = true;
      clearInterval(watchdog);
      timers.forEach(clearTimeout);
      element.removeEventListener('playing', onPlaying);
      playback?.close();
      element.srcObject = null;
    };
  }, [mode, stream, attempt]);

  const switchMode = () => {
    setFellBack(false);
    setMode((m) => (m === 'webrtc' ? 'hls' : 'webrtc'));
  };

  return (
    <div className="player" data-state={state} data-mode={mode}>
      <video ref={video} muted={muted} autoPlay playsInline aria-label={t('viewer.player.video')} />
      {state !== 'playing' && (
        <div className="player-state" role="status">
          {t(`viewer.player.state.${state}`)}
        </div>
      )}
      {children}
      <div className="player-controls">
        {muted && state === 'playing' && (
          <button type="button" className="unmute" onClick={() => setMuted(false)}>
            {t('viewer.player.unmute')}
          </button>
        )}
        <button type="button" className="mode-switch" onClick={switchMode} disabled={mode === 'hls' && !webrtcAvailable()}>
          {mode === 'webrtc' ? t('viewer.player.useHls') : t('viewer.player.useWebrtc')}
        </button>
        {fellBack && <span className="fallback-note">{t('viewer.player.fellBack')}</span>}
      </div>
    </div>
  );
}
