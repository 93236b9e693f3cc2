import { convertFileSrc } from '@tauri-apps/api/core';
import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { useBackendEvent } from './ipc';

export const PREVIEW_EVENT = 'preview-frame';

interface PreviewFrame {
  sequence: number;
  width: number;
  height: number;
}

/** The programme as it leaves the engine, refreshed on each `preview-frame`. */
export function Preview() {
  const { t } = useTranslation();
  const [frame, setFrame] = useState<PreviewFrame | null>(null);
  useBackendEvent<PreviewFrame>(PREVIEW_EVENT, setFrame);
  return (
    <section className="preview" aria-label={t('studio.preview.label')}>
      {frame ? (
        <img
          data-testid="preview"
          data-sequence={frame.sequence}
          src={`${convertFileSrc('frame', 'preview')}?seq=${frame.sequence}`}
          alt={t('studio.preview.label')}
          style={{ aspectRatio: `${frame.width} / ${frame.height}` }}
        />
      ) : (
        <p className="muted">{t('studio.preview.waiting')}</p>
      )}
    </section>
  );
}
