import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { mockIPC } from '@tauri-apps/api/mocks';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { Live } from '../bindings/Live';
import { cart, product } from '../viewer/fixtures';
import { ProductConsole } from './ProductConsole';
import type { Layer, SceneCollection } from './scenes';
import { mockEngine, SceneEditors } from './testScenes';
import { studioTestSetup } from './testSetup';
import { UNDO_MS, UndoProvider, useUndo } from './Undo';

studioTestSetup();

const layer = (id: string, name: string): Layer => ({
  id,
  name,
  source: { kind: 'image', path: `/tmp/${id}.png` },
  rect: { x: 0, y: 0, width: 100, height: 100 },
  opacity: 1,
  visible: true,
});

const scenes: SceneCollection = {
  version: 1,
  canvas: { width: 1280, height: 720, fps: 30 },
  scenes: [{ id: 'main', name: '主场景', layers: [layer('camera', '摄像头'), layer('logo', '台标'), layer('banner', '横幅')] }],
};

const layerIds = (c: SceneCollection | undefined) => c?.scenes[0]!.layers.map((l) => l.id);

afterEach(() => {
  vi.useRealTimers();
});

describe('undo', () => {
  it('puts a removed layer back where it was, among the layers as they are by then', async () => {
    const { sent } = mockEngine(scenes);
    render(
      <UndoProvider>
        <SceneEditors preview={false} />
      </UndoProvider>,
    );
    fireEvent.click(await screen.findByRole('button', { name: '删除 台标' }));
    await waitFor(() => expect(layerIds(sent.at(-1)?.scenes)).toEqual(['camera', 'banner']));
    const toast = await screen.findByTestId('undo-toast');
    expect(toast.textContent).toContain('已删除图层「台标」');
    // Another edit meanwhile stays: the undo works on the scenes as they are then.
    fireEvent.click(screen.getByRole('button', { name: '删除 横幅' }));
    await waitFor(() => expect(layerIds(sent.at(-1)?.scenes)).toEqual(['camera']));
    fireEvent.click(within(screen.getAllByTestId('undo-toast')[0]!).getByRole('button', { name: '撤销' }));
    await waitFor(() => expect(layerIds(sent.at(-1)?.scenes)).toEqual(['camera', 'logo']));
    await waitFor(() => expect(screen.getAllByTestId('undo-toast')).toHaveLength(1));
  });

  it('puts a product removed from the cart back at its number', async () => {
    const calls: { method: string; path: string; body: unknown }[] = [];
    const live: Live = { id: 7, title: '测试直播', stream_name: 'live-7', status: 'live', low_stock_threshold: 9, next_when_sold_out: false, pin_when_asked: false, created_at_ms: 1, cart: cart(product(1), product(2), product(3)) };
    mockIPC(
      (cmd, args) => {
        if (cmd !== 'relay_call') return undefined;
        const call = args as unknown as { method: string; path: string; body: unknown };
        calls.push(call);
        if (call.path === '/api/lives/7/cart/2' && call.method === 'DELETE') {
          live.cart = cart(product(1), product(3));
          return structuredClone(live);
        }
        if (call.path === '/api/lives/7/cart' && call.method === 'PUT') {
          const ids = (call.body as { product_ids: number[] }).product_ids;
          live.cart = cart(...ids.map((id) => product(id)));
          return structuredClone(live);
        }
        if (call.path === '/api/lives/7') return structuredClone(live);
        return [];
      },
      { shouldMockEvents: true },
    );
    render(
      <UndoProvider>
        <ProductConsole liveId={7} relayUrl="http://relay" />
      </UndoProvider>,
    );
    const remove = await screen.findByRole('button', { name: '把 商品2 移出小黄车' });
    fireEvent.click(remove);
    const toast = await screen.findByTestId('undo-toast');
    expect(toast.textContent).toContain('已从小黄车移除 2 号');
    await waitFor(() => expect(within(screen.getByTestId('cart')).getAllByRole('listitem')).toHaveLength(2));
    fireEvent.click(within(toast).getByRole('button', { name: '撤销' }));
    await waitFor(() => expect(calls.filter((c) => c.method === 'PUT').map((c) => c.body)).toEqual([{ product_ids: [1, 2, 3] }]));
    await waitFor(() => expect(within(screen.getByTestId('cart')).getAllByRole('listitem')).toHaveLength(3));
    await waitFor(() => expect(screen.queryByTestId('undo-toast')).toBeNull());
  });

  it('offers the undo for a few seconds only, and says when it could not be done', async () => {
    vi.useFakeTimers();
    let offer: ReturnType<typeof useUndo> = () => undefined;
    function Offerer() {
      offer = useUndo();
      return null;
    }
    render(
      <UndoProvider>
        <Offerer />
      </UndoProvider>,
    );
    act(() => offer({ message: '已删除图层「台标」', undo: () => Promise.resolve(null) }));
    expect(screen.getByTestId('undo-toast')).toBeTruthy();
    act(() => vi.advanceTimersByTime(UNDO_MS - 100));
    expect(screen.getByTestId('undo-toast')).toBeTruthy();
    act(() => vi.advanceTimersByTime(200));
    expect(screen.queryByTestId('undo-toast')).toBeNull();

    act(() => offer({ message: '已删除图层「横幅」', undo: () => Promise.resolve('引擎拒绝了') }));
    await act(async () => {
      fireEvent.click(screen.getByRole('button', { name: '撤销' }));
    });
    expect(screen.getByTestId('undo-toast').textContent).toContain('引擎拒绝了');
    // The failure stays until dismissed.
    act(() => vi.advanceTimersByTime(UNDO_MS * 2));
    fireEvent.click(screen.getByRole('button', { name: '关闭' }));
    expect(screen.queryByTestId('undo-toast')).toBeNull();
  });
});
