import qrcode from 'qrcode-generator';
import { useMemo } from 'react';
import { useTranslation } from 'react-i18next';

/** One SVG path of the dark modules: crisp at any size, no HTML injected. */
export function qrPath(text: string): { size: number; path: string } {
  const qr = qrcode(0, 'M');
  qr.addData(text, 'Byte');
  qr.make();
  const size = qr.getModuleCount();
  let path = '';
  for (let row = 0; row < size; row++) {
    for (let col = 0; col < size; col++) {
      if (qr.isDark(row, col)) path += `M${col} ${row}h1v1h-1z`;
    }
  }
  return { size, path };
}

/** A relay on loopback is reachable from this PC only, not from a phone. */
export function isLoopback(url: string): boolean {
  try {
    const host = new URL(url).hostname;
    return host === 'localhost' || host.startsWith('127.') || host === '[::1]';
  } catch {
    return false;
  }
}

/** The link viewers open, with a QR code to scan from a phone. */
export function ShareLink({ url }: { url: string }) {
  const { t } = useTranslation();
  const { size, path } = useMemo(() => qrPath(url), [url]);
  const quiet = 4;
  return (
    <figure className="share-link">
      <svg
        role="img"
        aria-label={t('studio.share.qr', { url })}
        viewBox={`${-quiet} ${-quiet} ${size + 2 * quiet} ${size + 2 * quiet}`}
        width={160}
        height={160}
        shapeRendering="crispEdges"
        data-testid="share-qr"
      >
        <rect x={-quiet} y={-quiet} width={size + 2 * quiet} height={size + 2 * quiet} fill="#fff" />
        <path d={path} fill="#000" />
      </svg>
      <figcaption>
        <a href={url} target="_blank" rel="noreferrer" data-testid="share-url">
          {url}
        </a>
        {isLoopback(url) && <p className="hint">{t('studio.share.loopback')}</p>}
      </figcaption>
    </figure>
  );
}
