import { afterEach, describe, expect, it, vi } from 'vitest';
import { api, ApiError, RETRIES } from './api';

const busy = () =>
  new Response(JSON.stringify({ error: { code: 'busy', message: 'database busy' } }), {
    status: 503,
    headers: { 'retry-after': '2' },
  });
const ok = () => new Response(JSON.stringify({ id: 7 }), { status: 201 });

afterEach(() => {
  vi.useRealTimers();
  vi.unstubAllGlobals();
});

describe('api', () => {
  it('sends an order again after Retry-After when the relay answers 503, with the same key', async () => {
    vi.useFakeTimers();
    const fetch = vi.fn().mockResolvedValueOnce(busy()).mockResolvedValueOnce(ok());
    vi.stubGlobal('fetch', fetch);
    const placed = api<{ id: number }>('/api/orders', { body: { items: [] }, headers: { 'idempotency-key': 'k1' } });
    await vi.advanceTimersByTimeAsync(1999);
    expect(fetch).toHaveBeenCalledTimes(1);
    await vi.advanceTimersByTimeAsync(1);
    await expect(placed).resolves.toEqual({ id: 7 });
    const keys = fetch.mock.calls.map(([, init]) => (init as RequestInit & { headers: Record<string, string> }).headers['idempotency-key']);
    expect(keys).toEqual(['k1', 'k1']);
  });

  it('gives up after its retries, and never repeats a write without a key', async () => {
    vi.useFakeTimers();
    const fetch = vi.fn().mockImplementation(() => Promise.resolve(busy()));
    vi.stubGlobal('fetch', fetch);
    const read = api('/api/lives/1/room').catch((e: unknown) => e);
    await vi.advanceTimersByTimeAsync(RETRIES * 2000);
    const error = await read;
    expect(error).toBeInstanceOf(ApiError);
    expect((error as ApiError).retryAfterS).toBe(2);
    expect(fetch).toHaveBeenCalledTimes(RETRIES + 1);

    fetch.mockClear();
    await expect(api('/api/lives/1/comments', { body: { body: 'hi' } })).rejects.toMatchObject({ status: 503 });
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
