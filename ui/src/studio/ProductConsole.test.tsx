import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { emit } from '@tauri-apps/api/event';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import type { Live } from '../bindings/Live';
import { cart, event, product } from '../viewer/fixtures';
import { ProductConsole } from './ProductConsole';
import { studioTestSetup } from './testSetup';

studioTestSetup();

interface Call {
  method: string;
  path: string;
  body: unknown;
}

/** A relay behind mocked IPC: one live with products 1–3 in its cart, product 4 outside. */
function relay(fail?: (call: Call) => unknown) {
  const calls: Call[] = [];
  const live: Live = {
    id: 7,
    title: '测试直播',
    stream_name: 'live-7',
    status: 'live',
    low_stock_threshold: 9,
    next_when_sold_out: false,
    pin_when_asked: false,
    created_at_ms: 1,
    cart: cart(product(1), product(2), product(3)),
  };
  mockIPC(
    (cmd, args) => {
      if (cmd !== 'relay_call') return undefined;
      const call = args as unknown as Call;
      calls.push(call);
      const failure = fail?.(call);
      if (failure) throw failure;
      if (call.path === '/api/products') return [product(1), product(2), product(3), product(4)];
      if (call.path === '/api/lives/7/clips') return [];
      if (call.path === '/api/lives/7/pin' && call.method === 'POST') {
        const productId = (call.body as { product_id: number }).product_id;
        live.pin = { id: 1, product_id: productId, selling_point: '今日直播间专享价', started_at_ms: 2 };
        return structuredClone(live);
      }
      if (call.path === '/api/lives/7/pin' && call.method === 'DELETE') {
        live.pin = undefined;
        return structuredClone(live);
      }
      if (call.path === '/api/lives/7') return structuredClone(live);
      return undefined;
    },
    { shouldMockEvents: true },
  );
  return calls;
}

const pins = (calls: Call[]) =>
  calls.filter((c) => c.path.endsWith('/pin')).map((c) => [c.method, (c.body as { product_id?: number } | null)?.product_id]);

describe('product console', () => {
  it('lists the cart numbered as the anchor calls the products, and the rest of the catalogue', async () => {
    relay();
    render(<ProductConsole liveId={7} relayUrl="http://relay" />);
    const items = await within(await screen.findByTestId('cart')).findAllByRole('listitem');
    expect(items.map((li) => li.querySelector('.position')?.textContent)).toEqual(['1', '2', '3']);
    const catalogue = await screen.findByTestId('catalogue');
    await waitFor(() => expect(within(catalogue).getAllByRole('listitem')).toHaveLength(1));
  });

  it('pins product N with hotkey N and unpins with 0', async () => {
    const calls = relay();
    render(<ProductConsole liveId={7} relayUrl="http://relay" />);
    await within(await screen.findByTestId('cart')).findAllByRole('listitem');
    fireEvent.keyDown(window, { key: '2' });
    await screen.findByText('正在讲解 2 号链接');
    expect(pins(calls)).toEqual([['POST', product(2).id]]);
    fireEvent.keyDown(window, { key: '0' });
    await screen.findByText('已取消讲解');
    expect(pins(calls)).toEqual([
      ['POST', product(2).id],
      ['DELETE', undefined],
    ]);
  });

  it('ignores digits typed into the search field and says when the cart has no product N', async () => {
    const calls = relay();
    render(<ProductConsole liveId={7} relayUrl="http://relay" />);
    await within(await screen.findByTestId('cart')).findAllByRole('listitem');
    fireEvent.keyDown(screen.getByRole('searchbox'), { key: '1' });
    fireEvent.keyDown(window, { key: '9' });
    expect((await screen.findByRole('alert')).textContent).toBe('小黄车里没有 9 号链接');
    expect(pins(calls)).toEqual([]);
  });

  it("shows the relay's own message when a pin is refused", async () => {
    relay((call) =>
      call.method === 'POST' && call.path.endsWith('/pin')
        ? { status: 409, code: 'conflict', message: 'the live has ended; its pin is frozen' }
        : null,
    );
    render(<ProductConsole liveId={7} relayUrl="http://relay" />);
    await within(await screen.findByTestId('cart')).findAllByRole('listitem');
    fireEvent.click(screen.getByRole('button', { name: /讲解 1 号链接/ }));
    expect((await screen.findByRole('alert')).textContent).toBe('the live has ended; its pin is frozen');
  });
});

describe('price and stock during the live', () => {
  it('checks the typed price and stock, then patches the SKU in fen', async () => {
    const calls = relay();
    render(<ProductConsole liveId={7} relayUrl="http://relay" />);
    await within(await screen.findByTestId('cart')).findAllByRole('listitem');
    fireEvent.click(screen.getByRole('button', { name: '修改 商品2 的价格和库存' }));
    const editor = screen.getByTestId(`sku-editor-${product(2).id}`);
    fireEvent.change(within(editor).getByLabelText(/价格/), { target: { value: '29.99.1' } });
    fireEvent.change(within(editor).getByLabelText('库存'), { target: { value: '-3' } });
    fireEvent.click(within(editor).getByRole('button', { name: '保存' }));
    expect(within(editor).getAllByRole('alert').map((a) => a.textContent)).toEqual([
      '请输入正确的金额，最多两位小数',
      '库存是不小于 0 的整数',
    ]);
    expect(calls.filter((c) => c.method === 'PATCH')).toEqual([]);
    fireEvent.change(within(editor).getByLabelText(/价格/), { target: { value: '29.9' } });
    fireEvent.change(within(editor).getByLabelText('库存'), { target: { value: '0' } });
    fireEvent.click(within(editor).getByRole('button', { name: '保存' }));
    await within(editor).findByText('已保存');
    expect(calls.filter((c) => c.method === 'PATCH')).toEqual([
      { method: 'PATCH', path: `/api/products/${product(2).id}/skus/${product(2).skus[0]!.id}`, body: { price_fen: 2990, stock: 0 } },
    ]);
  });

  it('suggests pinning a product viewers keep asking about, pins it on one click, and prompts the anchor', async () => {
    const calls = relay();
    render(<ProductConsole liveId={7} relayUrl="http://relay" />);
    await within(await screen.findByTestId('cart')).findAllByRole('listitem');
    expect(screen.queryByTestId('pin-suggestion')).toBeNull();

    await act(() => emit('relay-event', event('assist.suggested', { product_id: 3, position: 3, viewers: 5 })));
    const suggestion = await screen.findByTestId('pin-suggestion');
    expect(suggestion.textContent).toContain('5 位观众在问 3 号链接');
    expect(suggestion.closest('li')?.dataset.productId).toBe('3');
    expect(pins(calls)).toEqual([]);

    fireEvent.click(within(suggestion).getByRole('button', { name: '讲解它' }));
    await waitFor(() => expect(pins(calls)).toEqual([['POST', 3]]));
    await waitFor(() => expect(screen.queryByTestId('pin-suggestion')).toBeNull());
    const prompter = await screen.findByTestId('prompter');
    expect(prompter.textContent).toContain('商品3');
    expect(prompter.textContent).toContain('今日直播间专享价');
    expect(prompter.textContent).toContain('商品3的介绍');

    // Dismissed suggestions go away without a pin.
    await act(() => emit('relay-event', event('assist.suggested', { product_id: 2, position: 2, viewers: 6 })));
    fireEvent.click(within(await screen.findByTestId('pin-suggestion')).getByRole('button', { name: '忽略' }));
    await waitFor(() => expect(screen.queryByTestId('pin-suggestion')).toBeNull());
    expect(pins(calls)).toEqual([['POST', 3]]);
  });
});
