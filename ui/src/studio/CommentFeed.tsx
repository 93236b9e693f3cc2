import { useEffect, useLayoutEffect, useRef, useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { Event } from '../bindings/Event';
import type { Room } from '../bindings/Room';
import { ApiError } from '../viewer/api';
import { applyEvent, fromRoom, type RoomState } from '../viewer/room';
import { isOnScreenKey } from './hotkeys';
import { command, RELAY_EVENT, relayCall, useBackendEvent, useRelayRead } from './ipc';
import { useStudioMode } from './useStudio';

/** How long "mute" silences a viewer. */
export const MUTE_MINUTES = 10;

/**
 * Comments as they come, newest at the bottom, with the room's likes and viewers; staff hide
 * a comment (it disappears from every page) or mute its author for ten minutes. In the
 * studio (not assistant mode) a comment can be put on screen, in the outgoing video.
 */
export function CommentFeed({ liveId }: { liveId: number }) {
  const { t } = useTranslation();
  const [room, setRoom] = useState<RoomState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [notice, setNotice] = useState<string | null>(null);
  const [onScreen, setOnScreen] = useState<number | null>(null);
  const withVideo = useStudioMode() === 'studio';

  useRelayRead<Room>(
    `/api/lives/${liveId}/room`,
    (r) => setRoom((current) => current ?? fromRoom(r, Date.now())),
    setError,
  );

  useBackendEvent<Event>(RELAY_EVENT, (event) => {
    if (event.live_id !== liveId) return;
    setRoom((current) => (current ? applyEvent(current, event) : current));
  });

  const act = async (path: string, body: unknown, done: string) => {
    setError(null);
    try {
      await relayCall('POST', path, body);
      setNotice(done);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };

  const putOnScreen = async (comment: { id: number; nickname: string; body: string } | null) => {
    setError(null);
    try {
      await command('show_comment', comment ? { nickname: comment.nickname, body: comment.body } : { nickname: null, body: null });
      setOnScreen(comment?.id ?? null);
    } catch (e) {
      setError(e instanceof ApiError ? e.message : String(e));
    }
  };

  const comments = room?.comments.slice(-100) ?? [];

  // Space: the newest comment on screen, or off it if it is already there (the same
  // one-listener-newest-state pattern as the 讲解 hotkeys).
  const onSpace = useRef<(event: KeyboardEvent) => void>(() => undefined);
  useLayoutEffect(() => {
    onSpace.current = (event) => {
      if (!withVideo || !isOnScreenKey(event)) return;
      const newest = comments.at(-1);
      if (!newest) return;
      event.preventDefault();
      void putOnScreen(onScreen === newest.id ? null : newest);
    };
  });
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => onSpace.current(event);
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, []);

  return (
    <section className="panel feed comments" aria-labelledby="comments-heading">
      <h2 id="comments-heading">{t('studio.comments.heading')}</h2>
      <p className="muted" data-testid="room-figures">
        {t('studio.comments.viewers', { count: room?.viewers ?? 0 })} · {t('studio.comments.likes', { count: room?.likes ?? 0 })}
      </p>
      {error && (
        <p role="alert" className="error">
          {error}
        </p>
      )}
      {notice && !error && (
        <p role="status" className="notice">
          {notice}
        </p>
      )}
      {onScreen !== null && (
        <p className="row">
          <span className="badge badge-live">{t('studio.comments.onScreenNow')}</span>
          <button type="button" className="link" data-testid="comment-off-screen" onClick={() => void putOnScreen(null)}>
            {t('studio.comments.offScreen')}
          </button>
        </p>
      )}
      {comments.length === 0 && <p className="muted">{t('studio.comments.empty')}</p>}
      <ul className="comment-list" data-testid="comments" aria-live="polite">
        {comments.map((c) => (
          <li key={c.id} data-comment-id={c.id} data-on-screen={onScreen === c.id || undefined}>
            <span className="who">{c.nickname}</span>
            <span className="body">{c.body}</span>
            {withVideo && (
              <button
                type="button"
                className="link"
                aria-label={t('studio.comments.onScreenN', { nickname: c.nickname })}
                aria-pressed={onScreen === c.id}
                onClick={() => void putOnScreen(onScreen === c.id ? null : c)}
              >
                {t('studio.comments.onScreen')}
              </button>
            )}
            <button
              type="button"
              className="link"
              aria-label={t('studio.comments.hideN', { nickname: c.nickname })}
              onClick={() => void act(`/api/comments/${c.id}/hide`, null, t('studio.comments.hidden'))}
            >
              {t('studio.comments.hide')}
            </button>
            <button
              type="button"
              className="link"
              aria-label={t('studio.comments.muteN', { nickname: c.nickname })}
              onClick={() =>
                void act(
                  `/api/viewers/${c.viewer_id}/mute`,
                  { minutes: MUTE_MINUTES },
                  t('studio.comments.muted', { nickname: c.nickname, minutes: MUTE_MINUTES }),
                )
              }
            >
              {t('studio.comments.mute')}
            </button>
          </li>
        ))}
      </ul>
    </section>
  );
}
