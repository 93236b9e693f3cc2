import { cleanup, render, screen } from '@testing-library/react';
import jsQR from 'jsqr';
import { afterEach, beforeAll, describe, expect, it } from 'vitest';
import { initI18n } from '../i18n';
import { isLoopback, qrPath, ShareLink } from './ShareLink';

beforeAll(() => {
  initI18n();
});
afterEach(cleanup);

/** Paints the path's modules (4 px each, 4 modules of quiet zone) and reads it back with a decoder. */
function decode(path: string, size: number): string | undefined {
  const scale = 4;
  const side = (size + 8) * scale;
  const pixels = new Uint8ClampedArray(side * side * 4).fill(255);
  for (const [, x, y] of path.matchAll(/M(\d+) (\d+)h1v1h-1z/g)) {
    for (let dy = 0; dy < scale; dy++) {
      for (let dx = 0; dx < scale; dx++) {
        const px = (Number(x) + 4) * scale + dx;
        const py = (Number(y) + 4) * scale + dy;
        pixels.fill(0, (py * side + px) * 4, (py * side + px) * 4 + 3);
      }
    }
  }
  return jsQR(pixels, side, side)?.data;
}

describe('share link', () => {
  it('draws a QR code that a scanner reads back as the viewer link', () => {
    const url = 'http://192.168.1.20:8080/live/12';
    const { size, path } = qrPath(url);
    expect(size).toBeGreaterThanOrEqual(21);
    expect(decode(path, size)).toBe(url);
  });

  it('warns that a loopback link only opens on this PC', () => {
    expect(isLoopback('http://127.0.0.1:43210/')).toBe(true);
    expect(isLoopback('http://localhost:8080/')).toBe(true);
    expect(isLoopback('http://192.168.1.20:8080/')).toBe(false);
    render(<ShareLink url="http://127.0.0.1:43210/" />);
    expect(screen.getByTestId('share-url').getAttribute('href')).toBe('http://127.0.0.1:43210/');
    expect(screen.getByRole('img').getAttribute('aria-label')).toBe('观众页面二维码：http://127.0.0.1:43210/');
    expect(screen.getByText(/当前只有本机能打开/)).toBeTruthy();
    cleanup();
    render(<ShareLink url="http://192.168.1.20:8080/" />);
    expect(screen.queryByText(/当前只有本机能打开/)).toBeNull();
  });
});
