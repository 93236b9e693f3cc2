import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import type { Comment } from '../bindings/Comment';
import { event, room } from '../viewer/fixtures';
import { CommentFeed } from './CommentFeed';
import { studioTestSetup } from './testSetup';

studioTestSetup();

const comment = (id: number, nickname: string, body: string): Comment => ({
  id,
  live_id: 7,
  viewer_id: 100 + id,
  nickname,
  body,
  created_at_ms: id,
});

/** The studio's back end for putting comments on screen: records each `show_comment`; `mode`
 * is what `studio_mode` answers. */
function mockOnScreen() {
  const studio = { shown: [] as unknown[], mode: 'studio' };
  mockIPC(
    (cmd, args) => {
      if (cmd === 'studio_mode') return studio.mode;
      if (cmd === 'show_comment') {
        studio.shown.push(args);
        return null;
      }
      if (cmd === 'relay_call') return room({ comments: [comment(1, '小红', '3号有货吗')] });
      return null;
    },
    { shouldMockEvents: true },
  );
  return studio;
}

describe('comment feed', () => {
  it('follows comments, hides one and mutes its author, with the room figures', async () => {
    const calls: { method: string; path: string; body: unknown }[] = [];
    mockIPC(
      (cmd, args) => {
        if (cmd !== 'relay_call') return undefined;
        const call = args as unknown as (typeof calls)[number];
        calls.push(call);
        if (call.path === '/api/lives/7/room') return room({ comments: [comment(1, '小红', '3号有货吗')] });
        return null;
      },
      { shouldMockEvents: true },
    );
    render(<CommentFeed liveId={7} />);
    const list = await screen.findByTestId('comments');
    await within(list).findByText('3号有货吗');

    await act(() => emit('relay-event', event('comments', { comments: [comment(2, '阿强', '想要链接')] })));
    await within(list).findByText('想要链接');
    await act(() => emit('relay-event', event('likes', { total: 520 })));
    expect(screen.getByTestId('room-figures').textContent).toContain('520 赞');

    fireEvent.click(screen.getByRole('button', { name: '禁言 阿强' }));
    await screen.findByText('已禁言 阿强 10 分钟');
    fireEvent.click(screen.getByRole('button', { name: '隐藏 小红 的评论' }));
    await screen.findByText('评论已隐藏');
    expect(calls.filter((c) => c.method === 'POST')).toEqual([
      { method: 'POST', path: '/api/viewers/102/mute', body: { minutes: 10 } },
      { method: 'POST', path: '/api/comments/1/hide', body: null },
    ]);
    await act(() => emit('relay-event', event('comment.hidden', { comment_id: 1 })));
    await waitFor(() => expect(within(list).queryByText('3号有货吗')).toBeNull());
  });

  it('puts the newest comment on screen with Space and takes it off with Space again', async () => {
    const { shown } = mockOnScreen();
    render(<CommentFeed liveId={7} />);
    await screen.findByRole('button', { name: '把 小红 的评论放到画面上' });
    await act(() => emit('relay-event', event('comments', { comments: [comment(2, '阿强', '想要链接')] })));
    await screen.findByText('想要链接');

    fireEvent.keyDown(window, { key: ' ' });
    await screen.findByText('评论在画面上');
    expect(screen.getByRole('button', { name: '把 阿强 的评论放到画面上' }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.keyDown(window, { key: ' ' });
    await waitFor(() => expect(screen.queryByText('评论在画面上')).toBeNull());
    // Space typed into a field, or on a focused button (its own click), is not 上屏.
    const input = document.createElement('input');
    document.body.append(input);
    fireEvent.keyDown(input, { key: ' ' });
    fireEvent.keyDown(screen.getByRole('button', { name: '隐藏 小红 的评论' }), { key: ' ' });
    input.remove();
    expect(shown).toEqual([
      { nickname: '阿强', body: '想要链接' },
      { nickname: null, body: null },
    ]);
  });

  it('puts a comment on screen in the studio and takes it off; assistants have no video', async () => {
    const studio = mockOnScreen();
    const { shown } = studio;
    const { unmount } = render(<CommentFeed liveId={7} />);
    fireEvent.click(await screen.findByRole('button', { name: '把 小红 的评论放到画面上' }));
    await screen.findByText('评论在画面上');
    expect(screen.getByRole('button', { name: '把 小红 的评论放到画面上' }).getAttribute('aria-pressed')).toBe('true');
    fireEvent.click(screen.getByTestId('comment-off-screen'));
    await waitFor(() => expect(screen.queryByText('评论在画面上')).toBeNull());
    expect(shown).toEqual([
      { nickname: '小红', body: '3号有货吗' },
      { nickname: null, body: null },
    ]);
    unmount();

    studio.mode = 'assistant';
    render(<CommentFeed liveId={7} />);
    await screen.findByText('3号有货吗');
    await waitFor(() => expect(screen.queryByRole('button', { name: '把 小红 的评论放到画面上' })).toBeNull());
  });
});
