import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, deviceId } from './api';

afterEach(() => {
  vi.unstubAllGlobals();
});

describe('device id', () => {
  it('is one id per browser, in the form the relay accepts, sent with every request', async () => {
    const id = deviceId();
    expect(id).toMatch(/^[A-Za-z0-9_-]{8,64}$/);
    expect(deviceId()).toBe(id);
    expect(localStorage.getItem('anchordesk.device')).toBe(id);
    const fetch = vi.fn().mockResolvedValue(new Response('{}', { status: 200 }));
    vi.stubGlobal('fetch', fetch);
    await api('/api/coupons/1/claim', { method: 'POST', token: 't' });
    const init = fetch.mock.calls[0]![1] as RequestInit & { headers: Record<string, string> };
    expect(init.headers['x-anchordesk-device']).toBe(id);
  });
});
