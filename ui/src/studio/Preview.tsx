import { convertFileSrc } from '@tauri-apps/api/core';
import { useEffect, useId, useRef, useState, type RefObject } from 'react';
import { useTranslation } from 'react-i18next';
import { CanvasToggle } from './CanvasToggle';
import { command, useBackendEvent } from './ipc';
import { LayerEditor } from './LayerEditor';
import type { CanvasId } from './scenes';
import type { ScenesModel } from './useScenes';

export const PREVIEW_EVENT = 'preview-frame';

interface PreviewFrame {
  sequence: number;
  width: number;
  height: number;
}

/** Whether the window is shown (not minimised or covered by the desktop's other workspace). */
function usePageVisible(): boolean {
  const [visible, setVisible] = useState(() => document.visibilityState !== 'hidden');
  useEffect(() => {
    const update = () => setVisible(document.visibilityState !== 'hidden');
    document.addEventListener('visibilitychange', update);
    return () => document.removeEventListener('visibilitychange', update);
  }, []);
  return visible;
}

/**
 * The largest box of `ratio` (width / height) inside `area`, followed as the area resizes;
 * null before the first measure (and where nothing measures, as in tests).
 */
export function fitBox(area: { width: number; height: number }, ratio: number): { width: number; height: number } {
  const width = Math.max(0, Math.min(area.width, area.height * ratio));
  return { width: Math.floor(width), height: Math.floor(width / ratio) };
}

function useAreaSize(ref: RefObject<HTMLElement | null>): { width: number; height: number } | null {
  const [size, setSize] = useState<{ width: number; height: number } | null>(null);
  useEffect(() => {
    const node = ref.current;
    if (!node || typeof ResizeObserver === 'undefined') return;
    const measure = () => setSize({ width: node.clientWidth, height: node.clientHeight });
    const observer = new ResizeObserver(measure);
    observer.observe(node);
    // Also after a window resize has been laid out: WebKitGTK was seen to keep the size from
    // before a resize of the window (the preview stayed at the smaller window's width).
    const onResize = () => requestAnimationFrame(measure);
    window.addEventListener('resize', onResize);
    return () => {
      observer.disconnect();
      window.removeEventListener('resize', onResize);
    };
  }, [ref]);
  return size;
}

/**
 * The programme as it leaves the engine, refreshed on each `preview-frame`, with the active
 * scene's layers to select, move and resize over it, and the canvas orientation.
 */
export function Preview({ model }: { model: ScenesModel }) {
  const { t } = useTranslation();
  const hintId = useId();
  const [frame, setFrame] = useState<PreviewFrame | null>(null);
  const [refusal, setRefusal] = useState<string | null>(null);
  // A hidden window loads no frames: each is a JPEG decode and repaint in WebKit, most of
  // the window's CPU (bench/README.md, studio-window).
  const visible = usePageVisible();
  const area = useRef<HTMLDivElement>(null);
  const areaSize = useAreaSize(area);
  useBackendEvent<PreviewFrame>(PREVIEW_EVENT, (next) => {
    if (document.visibilityState !== 'hidden') setFrame(next);
  });
  const collection = model.collection;
  const dual = Boolean(collection?.second_canvas);
  // With two canvases, the one whose layout is edited (and previewed).
  const [chosenCanvas, setChosenCanvas] = useState<CanvasId>('first');
  const editCanvas: CanvasId = dual ? chosenCanvas : 'first';
  const editedSize = editCanvas === 'second' ? collection?.second_canvas : collection?.canvas;
  // The frame's own size wins: after a canvas switch the old frames keep coming for a moment.
  const size = frame ?? editedSize;

  const chooseCanvas = async (canvas: CanvasId) => {
    setRefusal(null);
    try {
      await command('set_preview_canvas', { canvas });
      setChosenCanvas(canvas);
    } catch (e) {
      setRefusal(e instanceof Error ? e.message : String(e));
    }
  };

  return (
    <section className="preview" aria-label={t('studio.preview.label')}>
      {collection && (
        <div className="preview-bar">
          <CanvasToggle model={model} />
          {dual && (
            <div className="segmented" role="group" aria-label={t('studio.canvas.edit')}>
              {(['first', 'second'] as const).map((c) => (
                <button
                  key={c}
                  type="button"
                  data-edit-canvas={c}
                  aria-pressed={c === editCanvas}
                  className={c === editCanvas ? 'primary' : undefined}
                  onClick={() => {
                    if (c !== editCanvas) void chooseCanvas(c);
                  }}
                >
                  {t(c === 'first' ? 'studio.canvas.editFirst' : 'studio.canvas.editSecond')}
                </button>
              ))}
            </div>
          )}
        </div>
      )}
      <div className="stage-fit" ref={area}>
        {size ? (
          <div
            className="stage"
            style={
              areaSize
                ? fitBox(areaSize, size.width / size.height)
                : { aspectRatio: `${size.width} / ${size.height}`, width: '100%' }
            }
          >
            {frame ? (
              <img
                data-testid="preview"
                data-paused={!visible || undefined}
                data-sequence={frame.sequence}
                src={`${convertFileSrc('frame', 'preview')}?seq=${frame.sequence}`}
                alt={t('studio.preview.label')}
                draggable={false}
              />
            ) : (
              <p className="muted">{t('studio.preview.waiting')}</p>
            )}
            {collection && (
              <LayerEditor model={model} collection={collection} canvasId={editCanvas} onRefusal={setRefusal} describedBy={hintId} />
            )}
          </div>
        ) : (
          <p className="muted">{t('studio.preview.waiting')}</p>
        )}
      </div>
      {dual && (
        <CanvasMonitor
          canvas={editCanvas === 'first' ? 'second' : 'first'}
          paused={!visible}
          onChoose={(c) => void chooseCanvas(c)}
        />
      )}
      {collection && (
        // Read by screen readers with the editor; the help overlay (?) shows the keys.
        <p id={hintId} className="sr-only">
          {t('studio.preview.hint')}
        </p>
      )}
      {refusal && (
        <p role="alert" className="error" data-testid="preview-error">
          {refusal}
        </p>
      )}
    </section>
  );
}

/** How often the monitor of the other canvas takes a new picture. */
export const MONITOR_REFRESH_MS = 1000;

/**
 * In 横竖双屏, the canvas that is not previewed, as a small picture refreshed about once a
 * second over the preview's corner: both outputs stay in sight while one is edited. A click
 * makes it the edited one.
 */
export function CanvasMonitor({
  canvas,
  paused,
  onChoose,
}: {
  canvas: CanvasId;
  paused: boolean;
  onChoose: (canvas: CanvasId) => void;
}) {
  const { t } = useTranslation();
  const [tick, setTick] = useState(0);
  const [loaded, setLoaded] = useState(false);
  useEffect(() => {
    if (paused) return undefined;
    const timer = setInterval(() => setTick((n) => n + 1), MONITOR_REFRESH_MS);
    return () => clearInterval(timer);
  }, [paused]);
  const label = t(canvas === 'first' ? 'studio.canvas.monitorFirst' : 'studio.canvas.monitorSecond');
  return (
    <button
      type="button"
      className={`canvas-monitor canvas-monitor-${canvas}`}
      data-testid="canvas-monitor"
      data-canvas={canvas}
      data-loaded={loaded || undefined}
      aria-label={label}
      title={label}
      onClick={() => onChoose(canvas)}
    >
      <img
        src={`${convertFileSrc(`canvas-${canvas}`, 'preview')}?t=${tick}`}
        alt=""
        draggable={false}
        onLoad={() => setLoaded(true)}
        // Before the canvas's first frame the picture is missing; the next tick tries again.
        onError={() => setLoaded(false)}
      />
      <span className="caption">{label}</span>
    </button>
  );
}
