import { useEffect, useState, type FormEvent } from 'react';
import { useTranslation } from 'react-i18next';
import type { Comment } from '../bindings/Comment';
import { api } from './api';
import { errorText } from './errors';

/** Danmaku lanes over the video; a comment takes the lane that has been free longest. */
const LANES = 4;
const FLIGHT_MS = 8000;
/** More than this many comments at once and the oldest in flight make room. */
const MAX_FLYING = 24;

interface Flying {
  comment: Comment;
  lane: number;
}

/** Comments that arrived live float right to left across the top of the video. */
export function Danmaku({ comments }: { comments: Comment[] }) {
  const [flying, setFlying] = useState<Flying[]>([]);
  const [seen, setSeen] = useState(() => comments.at(-1)?.id ?? 0);
  // New arrivals since the last render join the flight (derived during render, no effect).
  const newest = comments.at(-1)?.id ?? 0;
  if (newest > seen) {
    const added = comments.filter((c) => c.id > seen).slice(-MAX_FLYING);
    setSeen(newest);
    setFlying((now) => {
      const next = [...now];
      for (const [i, comment] of added.entries()) next.push({ comment, lane: (now.length + i) % LANES });
      return next.slice(-MAX_FLYING);
    });
  }
  // A comment staff hid leaves the sky at once.
  const present = new Set(comments.map((c) => c.id));
  return (
    <div className="danmaku" aria-hidden="true">
      {flying.filter(({ comment }) => present.has(comment.id)).map(({ comment, lane }) => (
        <span
          key={comment.id}
          className="danmaku-item"
          style={{ top: `${lane * 1.8 + 0.5}rem`, animationDuration: `${FLIGHT_MS}ms` }}
          onAnimationEnd={() => setFlying((now) => now.filter((f) => f.comment.id !== comment.id))}
        >
          {comment.nickname}：{comment.body}
        </span>
      ))}
    </div>
  );
}

export function CommentList({ comments }: { comments: Comment[] }) {
  const { t } = useTranslation();
  return (
    <section className="comments" aria-label={t('viewer.chat.title')}>
      <ul data-testid="comment-list">
        {comments.slice(-50).map((c) => (
          <li key={c.id}>
            <b>{c.nickname}</b> {c.body}
          </li>
        ))}
      </ul>
    </section>
  );
}

export function CommentInput({ liveId, token }: { liveId: number; token?: string }) {
  const { t } = useTranslation();
  const [body, setBody] = useState('');
  const [feedback, setFeedback] = useState<string>();
  const [sending, setSending] = useState(false);
  useEffect(() => {
    if (!feedback) return;
    const timer = setTimeout(() => setFeedback(undefined), 5000);
    return () => clearTimeout(timer);
  }, [feedback]);

  const send = async (event: FormEvent) => {
    event.preventDefault();
    const text = body.trim();
    if (!text || !token) return;
    setSending(true);
    try {
      await api(`/api/lives/${liveId}/comments`, { token, body: { body: text } });
      setBody('');
      setFeedback(undefined);
    } catch (e) {
      setFeedback(errorText(t, e));
    } finally {
      setSending(false);
    }
  };

  return (
    <form className="comment-form" onSubmit={(e) => void send(e)}>
      <input
        value={body}
        maxLength={200}
        onChange={(e) => setBody(e.target.value)}
        placeholder={t('viewer.chat.placeholder')}
        aria-label={t('viewer.chat.placeholder')}
      />
      <button type="submit" disabled={sending || !body.trim() || !token}>
        {t('viewer.chat.send')}
      </button>
      {feedback && (
        <p className="chat-feedback" role="alert">
          {feedback}
        </p>
      )}
    </form>
  );
}
