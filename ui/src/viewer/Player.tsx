import { useEffect, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import { OfflineError, playHls, playWhep, webrtcAvailable, type Playback, type PlayerState } from './player';

export type PlayerMode = 'webrtc' | 'hls';

/** WebRTC that has not shown a frame by then is treated as blocked: switch to HLS. */
const WEBRTC_START_TIMEOUT_MS = 10_000;
/** A picture that has not moved for this long is a dead session: connect again. */
const STALL_MS = 6_000;
/** A WebRTC picture that stopped while the relay also answers no ICE check (Chromium checks
 * every 2.5 s or so) for this long: the relay is gone, connect again through the load
 * balancer to another one without waiting for the stall above. A publisher that pauses
 * leaves the relay answering. */
const RELAY_SILENT_MS = 3_500;
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
  const [needsTap, setNeedsTap] = useState(false);
  // WebRTC that has played once in this page is worth reconnecting; WebRTC that never
  // showed a frame is blocked on this network, and HLS takes over.
  const webrtcPlayed = useRef(false);

  useEffect(() => {
    const element = video.current;
    if (!element) return;
    let playback: Playback | undefined;
    let stopped = false;
    let playing = false;
    const timers: ReturnType<typeof setTimeout>[] = [];
    const again = (ms: number) => timers.push(setTimeout(() => setAttempt((n) => n + 1), ms));
    const fallBack = () => {
      setFellBack(true);
      setMode('hls');
    };
    const report = (next: PlayerState) => {
      if (stopped) return;
      setState(next);
      window.anchordeskPlayer = { mode, state: next, pc: playback?.pc };
      if (next === 'failed' && mode === 'webrtc' && !webrtcPlayed.current) return fallBack();
      if (next === 'offline' || next === 'failed') {
        playback?.close();
        again(RETRY_MS);
      }
    };
    const onPlaying = () => {
      playing = true;
      if (mode === 'webrtc') webrtcPlayed.current = true;
      setNeedsTap(false);
      report('playing');
    };
    element.addEventListener('playing', onPlaying);
    const onPageHide = () => playback?.close();
    window.addEventListener('pagehide', onPageHide);

    // A picture that stops moving once it played (the anchor's connection dropped, the relay
    // restarted). Frames shown, not currentTime: a WebRTC stream's clock runs on without
    // frames. Not while paused or in a background tab, where nothing is drawn.
    let lastFrames = -1;
    let lastMoved = Date.now();
    let lastChecks = -1;
    let lastAnswered = Date.now();
    const restart = () => {
      playing = false;
      report('connecting');
      playback?.close();
      setAttempt((n) => n + 1);
    };
    const watchdog = setInterval(() => {
      const frames = element.getVideoPlaybackQuality?.().totalVideoFrames ?? element.currentTime;
      if (!playing || element.paused || document.hidden || frames !== lastFrames) {
        lastFrames = frames;
        lastMoved = Date.now();
      } else if (Date.now() - lastMoved > STALL_MS && !stopped) {
        return restart();
      }
      const pc = playback?.pc;
      if (!pc || !playing) return;
      void pc.getStats().then((stats) => {
        let answered = 0;
        stats.forEach((report: { type: string; responsesReceived?: number }) => {
          if (report.type === 'candidate-pair') answered += report.responsesReceived ?? 0;
        });
        const now = Date.now();
        if (answered !== lastChecks) {
          lastChecks = answered;
          lastAnswered = now;
        } else if (!stopped && playing && now - lastMoved > RELAY_SILENT_MS && now - lastAnswered > RELAY_SILENT_MS) {
          restart();
        }
      });
    }, 1000);

    report('connecting');
    const start = mode === 'webrtc' ? playWhep : playHls;
    start(element, stream, report)
      .then((p) => {
        if (stopped) return p.close();
        playback = p;
        window.anchordeskPlayer = { mode, state: 'connecting', pc: p.pc };
        if (mode === 'webrtc') {
          // A first start gets longer before HLS takes over; a reconnect of a stream that
          // played is retried as soon as it would have counted as stalled.
          const limit = webrtcPlayed.current ? STALL_MS : WEBRTC_START_TIMEOUT_MS;
          timers.push(
            setTimeout(() => {
              if (stopped || playing) return;
              if (webrtcPlayed.current) report('failed');
              else fallBack();
            }, limit),
          );
        }
        element.play().catch((e: unknown) => {
          // Autoplay refused (iOS low-power mode, a strict browser setting): ask for a tap.
          if (!stopped && e instanceof DOMException && e.name === 'NotAllowedError') setNeedsTap(true);
        });
      })
      .catch((e: unknown) => {
        if (stopped) return;
        if (e instanceof OfflineError) {
          setState('offline');
          window.anchordeskPlayer = { mode, state: 'offline' };
          again(e.retryAfterMs);
        } else if (mode === 'webrtc' && !webrtcPlayed.current) {
          fallBack();
        } else {
          report('failed');
        }
      });
    return () => {
      stopped = true;
      clearInterval(watchdog);
      timers.forEach(clearTimeout);
      element.removeEventListener('playing', onPlaying);
      window.removeEventListener('pagehide', onPageHide);
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
      {needsTap && (
        <button type="button" className="tap-to-play" onClick={() => void video.current?.play()}>
          {t('viewer.player.tapToPlay')}
        </button>
      )}
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
