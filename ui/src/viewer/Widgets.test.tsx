import { act, cleanup, fireEvent, render, screen } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initI18n } from '../i18n';
import { LikeButton } from './Likes';
import { Sheet } from './Sheet';
import { stubFetch } from './testing';

beforeAll(() => {
  initI18n();
});
afterEach(() => {
  cleanup();
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('sheet', () => {
  it('takes focus, closes on Escape and gives focus back', () => {
    const opener = document.createElement('button');
    document.body.append(opener);
    opener.focus();
    const onClose = vi.fn();
    const { unmount } = render(
      <Sheet label="小黄车" onClose={onClose}>
        <p>内容</p>
      </Sheet>,
    );
    expect(document.activeElement).toBe(screen.getByRole('button', { name: '关闭' }));
    fireEvent.keyDown(document, { key: 'Escape' });
    expect(onClose).toHaveBeenCalledOnce();
    unmount();
    expect(document.activeElement).toBe(opener);
    opener.remove();
  });
});

describe('likes', () => {
  it('sends a second of taps as one count, never more than 100 a request, and the rest when the page goes away', async () => {
    vi.useFakeTimers();
    const calls = stubFetch({ 'POST /api/lives/7/likes': {} });
    render(<LikeButton liveId={7} token="t" total={10} />);
    const like = screen.getByRole('button', { name: /点赞/ });
    for (let i = 0; i < 130; i++) fireEvent.click(like);
    expect(screen.getByTestId('like-count').textContent).toBe('140');
    expect(like.getAttribute('aria-label')).toBe('点赞，共 140');
    await act(() => vi.advanceTimersByTimeAsync(1000));
    const counts = () => calls.map((c) => JSON.parse(String(c.init!.body)).count);
    expect(counts()).toEqual([100, 30]);
    fireEvent.click(like);
    fireEvent.click(like);
    window.dispatchEvent(new Event('pagehide'));
    expect(counts()).toEqual([100, 30, 2]);
    expect(calls.at(-1)!.init!.keepalive).toBe(true);
  });
});
