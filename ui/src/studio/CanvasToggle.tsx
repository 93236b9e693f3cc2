import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import { orientationOf, type Orientation } from './scenes';
import type { ScenesModel } from './useScenes';

const ORIENTATIONS: Orientation[] = ['landscape', 'portrait', 'dual'];

/**
 * Landscape 16:9, portrait 9:16, or both at once (the preview and editor show landscape; the
 * relay gets portrait, platforms and recordings landscape). The engine restarts on the new
 * canvas, so it refuses while anything is live or recording; the refusal shows here.
 */
export function CanvasToggle({ model }: { model: ScenesModel }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const collection = model.collection;
  if (!collection) return null;
  const current = orientationOf(collection);

  const choose = async (orientation: Orientation) => {
    setBusy(true);
    setError(null);
    setError(await model.setCanvas(orientation));
    setBusy(false);
  };

  return (
    <div className="canvas-toggle">
      <div className="segmented" role="group" aria-label={t('studio.canvas.label')} aria-busy={busy}>
        {ORIENTATIONS.map((o) => (
          <button
            key={o}
            type="button"
            data-orientation={o}
            aria-pressed={o === current}
            className={o === current ? 'primary' : undefined}
            disabled={busy}
            onClick={() => {
              if (o !== current) void choose(o);
            }}
          >
            {t(`studio.canvas.${o}`)}
          </button>
        ))}
      </div>
      {busy && <span className="muted">{t('studio.canvas.restarting')}</span>}
      {current === 'dual' && !busy && (
        <span className="muted" data-testid="canvas-routing">
          {t('studio.canvas.routing')}
        </span>
      )}
      {error && (
        <p role="alert" className="error" data-testid="canvas-error">
          {error}
        </p>
      )}
    </div>
  );
}
