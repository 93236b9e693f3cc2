import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { cart, product, room } from '../viewer/fixtures';
import { App } from './App';
import { studioTestSetup } from './testSetup';

studioTestSetup();

function assistantBackend(login: (args: Record<string, unknown>) => unknown, saved: unknown = null) {
  mockIPC(
    (cmd, args) => {
      switch (cmd) {
        case 'studio_mode':
          return 'assistant';
        case 'settings':
          return saved;
        case 'connect_relay':
          return login(args as Record<string, unknown>);
        case 'relay_call': {
          const path = (args as { path: string }).path;
          const live = room({}, cart(product(1))).live;
          // Every read the console makes gets an answer of its real shape.
          if (path === '/api/lives/3') return { ...live, id: 3 };
          if (path === '/api/lives/3/room') return room({ live: { ...live, id: 3 } });
          if (path === '/api/lives/3/stats') return null;
          return [];
        }
        default:
          return null;
      }
    },
    { shouldMockEvents: true },
  );
}

const fill = (url: string) => {
  fireEvent.change(screen.getByLabelText('中继地址'), { target: { value: url } });
  fireEvent.change(screen.getByLabelText('员工账号'), { target: { value: 'helper' } });
  fireEvent.change(screen.getByLabelText('密码'), { target: { value: 'secret words' } });
  fireEvent.click(screen.getByRole('button', { name: '连接' }));
};

describe('assistant mode', () => {
  it('signs in to a remote relay and opens its console, without engine docks', async () => {
    const logins: Record<string, unknown>[] = [];
    assistantBackend((args) => {
      logins.push(args);
      return { relay_url: 'http://192.168.1.20:8080', live_id: 3, live_title: '店铺直播', stream_name: 'demo' };
    });
    render(<App />);
    await screen.findByLabelText('中继地址');
    fill('http://192.168.1.20:8080');
    expect(await screen.findByTestId('assistant-relay')).toHaveProperty('textContent', '已连接 http://192.168.1.20:8080');
    expect(logins).toEqual([{ url: 'http://192.168.1.20:8080', username: 'helper', password: 'secret words' }]);
    await screen.findByRole('heading', { name: '商品中控' });
    expect(screen.queryByRole('heading', { name: '开播' })).toBeNull();
    expect(screen.queryByRole('heading', { name: '场景与图层' })).toBeNull();
  });

  it('says when the account is wrong, and puts an address error at the field', async () => {
    assistantBackend((args) => {
      if (!String(args.url).startsWith('http')) {
        throw { status: 0, code: 'invalid_field', message: '请输入中继地址', field: 'url' };
      }
      throw { status: 401, code: 'unauthorized', message: 'unauthorized' };
    });
    render(<App />);
    await screen.findByLabelText('中继地址');
    fill('192.168.1.20');
    expect((await screen.findByRole('alert')).textContent).toBe('请输入中继地址');
    expect(screen.getByLabelText('中继地址').getAttribute('aria-invalid')).toBe('true');
    fill('http://192.168.1.20:8080');
    expect((await screen.findByTestId('assistant-error')).textContent).toBe('账号或密码不对');
  });

  it('offers the relay and account used last time, never a password', async () => {
    assistantBackend(() => null, { relay_url: 'http://192.168.1.20:8080', username: 'helper', destinations: [], effect_presets: [] });
    render(<App />);
    await waitFor(() => expect(screen.getByLabelText<HTMLInputElement>('中继地址').value).toBe('http://192.168.1.20:8080'));
    expect(screen.getByLabelText<HTMLInputElement>('员工账号').value).toBe('helper');
    expect(screen.getByLabelText<HTMLInputElement>('密码').value).toBe('');
  });
});
