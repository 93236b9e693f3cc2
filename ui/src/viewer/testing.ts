// Helpers for the viewer's component tests: a fetch that answers by route, and a WebSocket
// that never connects (jsdom's would try the network).
import { vi } from 'vitest';

export type Route = (init: RequestInit | undefined, url: string) => Response | Promise<Response> | undefined;

export function json(body: unknown, status = 200, headers: Record<string, string> = {}): Response {
  return new Response(JSON.stringify(body), { status, headers: { 'content-type': 'application/json', ...headers } });
}

/** Stubs fetch: `routes` maps "METHOD /path" (without query) to an answer; anything else is a 404. */
export function stubFetch(routes: Record<string, Route | unknown>) {
  const calls: { method: string; path: string; init?: RequestInit }[] = [];
  const fetch = vi.fn(async (input: RequestInfo | URL, init?: RequestInit) => {
    const url = String(input);
    const method = init?.method ?? 'GET';
    const path = new URL(url, 'http://relay.test').pathname;
    calls.push({ method, path, init });
    const route = routes[`${method} ${path}`];
    if (route === undefined) return json({ error: { code: 'not_found', message: `${path} not found` } }, 404);
    if (typeof route === 'function') return (await (route as Route)(init, url)) ?? json({}, 200);
    return json(route);
  });
  vi.stubGlobal('fetch', fetch);
  return calls;
}

class SilentSocket {
  onopen = null;
  onmessage = null;
  onclose = null;
  close() {}
}

export function stubSocket() {
  vi.stubGlobal('WebSocket', SilentSocket);
}
