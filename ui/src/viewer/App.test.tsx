import { cleanup, render, screen } from '@testing-library/react';
import { afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { initI18n, setLanguage } from '../i18n';
import { App } from './App';

beforeAll(() => {
  initI18n();
});

afterEach(() => {
  cleanup();
  vi.unstubAllGlobals();
  setLanguage('zh-CN');
});

function stubVersion(response: Response | Error) {
  vi.stubGlobal(
    'fetch',
    vi.fn(() => (response instanceof Error ? Promise.reject(response) : Promise.resolve(response))),
  );
}

describe('viewer page', () => {
  it('shows the relay version and the offline state in Chinese', async () => {
    stubVersion(
      new Response(JSON.stringify({ name: 'anchordesk-relay', version: '0.1.0', schema_version: 1, instance_id: 'ab' })),
    );
    render(<App />);
    expect((await screen.findByTestId('relay-version')).textContent).toBe('中继版本 0.1.0');
    expect(screen.getByText('主播暂未开播，敬请期待')).toBeTruthy();
    expect(document.title).toBe('AnchorDesk 直播间');
  });

  it('says the service is unreachable when the relay does not answer', async () => {
    stubVersion(new Error('network down'));
    render(<App />);
    expect((await screen.findByRole('alert')).textContent).toBe('无法连接直播服务，请稍后刷新');
  });

  it('switches to English', async () => {
    stubVersion(new Response('{}', { status: 500 }));
    setLanguage('en');
    render(<App />);
    expect(await screen.findByRole('heading', { level: 1 })).toHaveProperty('textContent', 'AnchorDesk Live Room');
  });
});
