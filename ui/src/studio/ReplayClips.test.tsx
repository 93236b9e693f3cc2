import { act, fireEvent, render, screen, within } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { cart, clip, event, product } from '../viewer/fixtures';
import { clipLength, clipsByProduct, ReplayClips } from './ReplayClips';
import { studioTestSetup } from './testSetup';

studioTestSetup();

describe('replay clips', () => {
  it('groups clips per product in cart order, newest first, and formats their length', () => {
    const items = cart(product(1), product(2));
    const groups = clipsByProduct(
      [clip({ id: 1, product_id: 2 }), clip({ id: 2, product_id: 9 }), clip({ id: 3, product_id: 1 }), clip({ id: 4, product_id: 2 })],
      items,
    );
    expect(groups.map((g) => [g.productId, g.clips.map((c) => c.id)])).toEqual([
      [1, [3]],
      [2, [4, 1]],
      [9, [2]],
    ]);
    expect(clipLength(10_930)).toBe('0:11');
    expect(clipLength(75_000)).toBe('1:15');
  });

  it('lists the live\'s clips, adds one the relay announces, and plays it from the relay', async () => {
    mockIPC(
      (cmd, args) => {
        if (cmd !== 'relay_call') return undefined;
        const { path } = args as { path: string };
        if (path === '/api/lives/7/clips') return [clip({ id: 1, product_id: 1, url: '/api/clips/1/video' })];
        return undefined;
      },
      { shouldMockEvents: true },
    );
    render(<ReplayClips liveId={7} relayUrl="http://relay" cart={cart(product(1), product(2))} />);
    const list = await screen.findByTestId('replays');
    await within(list).findByText('商品1');
    expect(within(list).getByRole('heading').textContent).toBe('讲解回放（1）');
    await act(() =>
      emit('relay-event', event('clip.ready', { clip: clip({ id: 2, product_id: 2, url: '/api/clips/2/video', duration_ms: 9_600 }) })),
    );
    const second = await within(list).findByText('商品2');
    expect(within(list).getByRole('heading').textContent).toBe('讲解回放（2）');
    const row = second.closest('li')!;
    const play = within(row).getByRole('button');
    expect(play.textContent).toContain('0:10');
    fireEvent.click(play);
    expect(row.querySelector('video')?.getAttribute('src')).toBe('http://relay/api/clips/2/video');
    // An event of another live is not this list's.
    await act(() => emit('relay-event', { ...event('clip.ready', { clip: clip({ id: 3 }) }), live_id: 8 }));
    expect(within(list).getByRole('heading').textContent).toBe('讲解回放（2）');
  });
});
