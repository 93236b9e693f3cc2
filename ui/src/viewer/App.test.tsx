import { cleanup, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { afterEach, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { initI18n, setLanguage } from '../i18n';
import { App, currentLive, liveIdFromPath } from './App';
import { cart, clip, product, room, sale } from './fixtures';
import { stubFetch, stubSocket } from './testing';

// The player needs a browser's media stack; its own behaviour is tested in Chromium (e2e).
vi.mock('./player', () => ({
  webrtcAvailable: () => true,
  playWhep: () => new Promise(() => undefined),
  playHls: () => new Promise(() => undefined),
  OfflineError: class extends Error {},
}));

const viewerSession = { token: 't', principal: { kind: 'viewer', id: 9, nickname: '观众9' } };

beforeAll(() => {
  initI18n();
});
beforeEach(() => {
  localStorage.clear();
  stubSocket();
});
afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  setLanguage('zh-CN');
  window.history.replaceState(null, '', '/');
});

describe('viewer page', () => {
  it('reads the live id from /live/{id} and otherwise opens the live on air', () => {
    expect(liveIdFromPath('/live/12')).toBe(12);
    expect(liveIdFromPath('/live/12/')).toBe(12);
    expect(liveIdFromPath('/')).toBeUndefined();
    expect(liveIdFromPath('/live/abc')).toBeUndefined();
    const live = (id: number, status: 'live' | 'ended' | 'scheduled') => ({ ...room().live, id, status });
    expect(currentLive([live(3, 'scheduled'), live(2, 'live'), live(1, 'ended')])?.id).toBe(2);
    expect(currentLive([live(3, 'scheduled'), live(1, 'ended')])?.id).toBe(3);
    expect(currentLive([])).toBeUndefined();
  });

  it('opens the live on air at / with its title, audience and 小黄车', async () => {
    const snapshot = room();
    stubFetch({
      'GET /api/lives': [{ ...snapshot.live, id: 8, status: 'ended' }, snapshot.live],
      'GET /api/lives/7/room': snapshot,
      'POST /api/viewers': viewerSession,
    });
    render(<App />);
    await screen.findByRole('heading', { level: 1, name: '冬季上新专场' });
    expect(screen.getByTestId('viewer-count').textContent).toBe('3 人在看');
    // The title is set by an effect after the render that shows the heading.
    await waitFor(() => expect(document.title).toBe('冬季上新专场 · AnchorDesk 直播间'));
    fireEvent.click(screen.getByRole('button', { name: '小黄车 2' }));
    const drawer = screen.getByRole('dialog', { name: '小黄车' });
    const items = within(drawer).getAllByRole('listitem');
    expect(items.map((li) => li.textContent)).toEqual(['1商品1¥39.90', '2商品2¥39.90']);
  });

  it('shows the pinned product with its flash-sale price, countdown and low stock, and opens it to buy', async () => {
    window.history.replaceState(null, '', '/live/7');
    const snapshot = room(
      {
        live: {
          ...room().live,
          cart: cart(product(1, [[10, '默认', 3]])),
          pin: { id: 1, product_id: 1, selling_point: '今日专享', started_at_ms: 0 },
        },
        flash_sales: [sale({ remaining: 2, ends_at_ms: 1_000_000 + 65_000 })],
      },
    );
    const calls = stubFetch({
      'GET /api/lives/7/room': snapshot,
      'POST /api/viewers': viewerSession,
      'POST /api/lives/7/clicks': {},
    });
    render(<App />);
    const card = await screen.findByTestId('pinned-card');
    // The relay's clock takes a tick to replace the phone's.
    await within(card).findByTestId('sale-countdown');
    expect(card.textContent).toContain('今日专享');
    expect(card.textContent).toContain('¥9.90');
    expect(within(card).getByTestId('sale-countdown').textContent).toMatch(/^距结束 01:0[45]$/);
    expect(card.textContent).toContain('仅剩 2 件');
    // The viewer account exists before the buy button is pressed.
    await vi.waitFor(() => expect(calls.some((c) => c.path === '/api/viewers')).toBe(true));
    fireEvent.click(within(card).getByRole('button', { name: '马上抢' }));
    expect(screen.getByRole('dialog', { name: '商品1' })).toBeTruthy();
    await vi.waitFor(() => expect(calls.some((c) => c.path === '/api/lives/7/clicks')).toBe(true));
  });

  it('plays a product\'s 看讲解 replay from the 小黄车 and buys from it', async () => {
    window.history.replaceState(null, '', '/live/7');
    const snapshot = room({ clips: [clip({ id: 4, product_id: 2, url: '/api/clips/4/video' })] });
    stubFetch({
      'GET /api/lives/7/room': snapshot,
      'POST /api/viewers': viewerSession,
      'POST /api/lives/7/clicks': {},
    });
    render(<App />);
    fireEvent.click(await screen.findByRole('button', { name: '小黄车 2' }));
    const drawer = screen.getByRole('dialog', { name: '小黄车' });
    // Only the product with a clip offers one.
    expect(within(drawer).queryByRole('button', { name: '商品1 的讲解回放' })).toBeNull();
    fireEvent.click(within(drawer).getByRole('button', { name: '商品2 的讲解回放' }));
    const replay = screen.getByRole('dialog', { name: '商品2 的讲解回放' });
    expect(replay.querySelector('video')?.getAttribute('src')).toBe('/api/clips/4/video');
    fireEvent.click(within(replay).getByRole('button', { name: '立即购买' }));
    expect(screen.getByRole('dialog', { name: '商品2' })).toBeTruthy();
  });

  it('says when there is no live, and when the relay cannot be reached', async () => {
    stubFetch({ 'GET /api/lives': [], 'POST /api/viewers': viewerSession });
    render(<App />);
    expect(await screen.findByText('暂无直播')).toBeTruthy();
    cleanup();
    vi.stubGlobal('fetch', vi.fn(() => Promise.reject(new Error('network down'))));
    render(<App />);
    expect((await screen.findByRole('alert')).textContent).toBe('无法连接直播服务，请稍后刷新');
  });

  it('switches to English', async () => {
    window.history.replaceState(null, '', '/live/7');
    stubFetch({ 'GET /api/lives/7/room': room(), 'POST /api/viewers': viewerSession });
    setLanguage('en');
    render(<App />);
    expect((await screen.findByTestId('viewer-count')).textContent).toBe('3 watching');
    expect(screen.getByRole('button', { name: 'Bag 2' })).toBeTruthy();
  });
});
