import { describe, expect, it } from 'vitest';
import { hlsUrl } from './player';

describe('hlsUrl', () => {
  it('uses the relay itself without a CDN, with a player token that stays for the tab', () => {
    const first = hlsUrl('demo', document, sessionStorage);
    expect(first).toMatch(/^\/hls\/demo\/index\.m3u8\?v=[0-9a-f]{16}$/);
    expect(hlsUrl('demo', document, sessionStorage)).toBe(first);
  });

  it('fetches from the CDN the page names', () => {
    const meta = document.createElement('meta');
    meta.name = 'anchordesk-hls-base';
    meta.content = 'https://cdn.example.com/';
    document.head.append(meta);
    try {
      expect(hlsUrl('a b', document, undefined)).toMatch(/^https:\/\/cdn\.example\.com\/hls\/a%20b\/index\.m3u8\?v=[0-9a-f]{16}$/);
    } finally {
      meta.remove();
    }
  });
});
