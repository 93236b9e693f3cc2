// The engine's scene collection as the studio window edits it: one copy shared by the preview
// (drag and resize) and the scenes dock (lists), so an edit in one shows in the other.
import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError } from '../viewer/api';
import { command } from './ipc';
import type { Orientation, SceneCollection } from './scenes';

export interface ScenesModel {
  /** What the window shows: the engine's collection, or an edit on its way there. */
  collection: SceneCollection | null;
  /** Why the collection could not be read. */
  loadError: string | null;
  /** The layer selected in the preview and the dock (an id in the active scene). */
  selected: string | null;
  select: (layerId: string | null) => void;
  /**
   * Shows `next` at once and sends it whole; on a refusal the window goes back to what the
   * engine shows. Resolves to the engine's reason, or null once accepted.
   */
  apply: (next: SceneCollection, fadeMs?: number) => Promise<string | null>;
  /** Restarts the engine on the other canvas; resolves to the refusal, or null. */
  setCanvas: (orientation: Orientation) => Promise<string | null>;
}

function message(e: unknown): string {
  return e instanceof ApiError ? e.message : String(e);
}

export function useScenes(ready: boolean): ScenesModel {
  const [collection, setCollection] = useState<SceneCollection | null>(null);
  const [loadError, setLoadError] = useState<string | null>(null);
  const [selected, setSelected] = useState<string | null>(null);
  // The last collection the engine accepted, and which send is the newest: a refusal arriving
  // after a later edit must not undo that edit.
  const confirmed = useRef<SceneCollection | null>(null);
  const latest = useRef(0);
  const confirmedAt = useRef(0);

  useEffect(() => {
    if (!ready) return;
    let active = true;
    command<SceneCollection>('scenes')
      .then((c) => {
        if (!active) return;
        confirmed.current = c;
        setCollection(c);
        setLoadError(null);
      })
      .catch((e: unknown) => {
        if (active) setLoadError(message(e));
      });
    return () => {
      active = false;
    };
  }, [ready]);

  const apply = useCallback(async (next: SceneCollection, fadeMs = 0) => {
    const seq = ++latest.current;
    setCollection(next);
    try {
      await command('set_scenes', { scenes: next, fadeMs });
      if (seq > confirmedAt.current) {
        confirmed.current = next;
        confirmedAt.current = seq;
      }
      return null;
    } catch (e) {
      if (seq === latest.current) setCollection(confirmed.current);
      return message(e);
    }
  }, []);

  const setCanvas = useCallback(async (orientation: Orientation) => {
    try {
      const next = await command<SceneCollection>('set_canvas', { orientation });
      // Newer than any edit still on its way: those were made on the old canvas.
      const seq = ++latest.current;
      confirmed.current = next;
      confirmedAt.current = seq;
      setCollection(next);
      return null;
    } catch (e) {
      return message(e);
    }
  }, []);

  return { collection, loadError, selected, select: setSelected, apply, setCanvas };
}
