// The studio window's arrangement (dock sizes, collapsed docks, chosen tabs), its theme and
// whether the first-start wizard was done, kept in the user's settings (`desk`) so a
// reinstall or another data directory does not mix them up. The backend stores the object as
// the window wrote it; everything read back is checked here, field by field.
import { useCallback, useEffect, useRef, useState } from 'react';
import type { StudioSettings } from '../bindings/StudioSettings';
import { command } from './ipc';
import { updateSettings } from './settings';

export type Theme = 'dark' | 'light';
export const THEMES: Theme[] = ['dark', 'light'];

/** The docks that can be resized or collapsed; each name is also its key in `sizes`. */
export type DockId = 'left' | 'right' | 'bottom' | 'assistantLeft' | 'assistantRight';

export interface DeskSettings {
  theme: Theme;
  /** Width (side docks) or height (bottom dock) in CSS pixels, before fitting the window. */
  sizes: Partial<Record<DockId, number>>;
  collapsed: DockId[];
  /** The tab shown in each dock. */
  tabs: Partial<Record<DockId, string>>;
  /** The first-start wizard was completed or skipped. */
  wizardDone: boolean;
}

export const DEFAULT_DESK: DeskSettings = { theme: 'dark', sizes: {}, collapsed: [], tabs: {}, wizardDone: false };

const DOCKS: DockId[] = ['left', 'right', 'bottom', 'assistantLeft', 'assistantRight'];

/** Sizes a dock starts at, and the least and most it may take (a share of the window's side). */
export const DOCK_SIZES: Record<DockId, { initial: number; min: number; maxShare: number }> = {
  left: { initial: 380, min: 300, maxShare: 0.42 },
  right: { initial: 320, min: 260, maxShare: 0.35 },
  bottom: { initial: 250, min: 140, maxShare: 0.55 },
  assistantLeft: { initial: 520, min: 360, maxShare: 0.55 },
  assistantRight: { initial: 360, min: 260, maxShare: 0.4 },
};

function isDock(value: unknown): value is DockId {
  return DOCKS.includes(value as DockId);
}

/** What was saved, with anything unknown or out of shape replaced by the default. */
export function parseDesk(saved: unknown): DeskSettings {
  if (!saved || typeof saved !== 'object') return DEFAULT_DESK;
  const s = saved as Record<string, unknown>;
  const sizes: DeskSettings['sizes'] = {};
  if (s.sizes && typeof s.sizes === 'object') {
    for (const [dock, size] of Object.entries(s.sizes as Record<string, unknown>)) {
      if (isDock(dock) && typeof size === 'number' && Number.isFinite(size) && size > 0) sizes[dock] = Math.round(size);
    }
  }
  const tabs: DeskSettings['tabs'] = {};
  if (s.tabs && typeof s.tabs === 'object') {
    for (const [dock, tab] of Object.entries(s.tabs as Record<string, unknown>)) {
      if (isDock(dock) && typeof tab === 'string') tabs[dock] = tab;
    }
  }
  return {
    theme: THEMES.includes(s.theme as Theme) ? (s.theme as Theme) : DEFAULT_DESK.theme,
    sizes,
    collapsed: Array.isArray(s.collapsed) ? [...new Set(s.collapsed.filter(isDock))] : [],
    tabs,
    wizardDone: s.wizardDone === true,
  };
}

/**
 * The size `dock` is shown at in a window whose side (width for side docks, height for the
 * bottom one) is `extent`: the saved size, else the initial one, within the dock's bounds.
 * The bounds give way to the window's own size, so a dock never pushes the preview out.
 */
export function dockSize(desk: DeskSettings, dock: DockId, extent: number): number {
  const { initial, min, maxShare } = DOCK_SIZES[dock];
  const max = Math.max(min, Math.floor(extent * maxShare));
  return Math.min(max, Math.max(min, desk.sizes[dock] ?? initial));
}

/** How long changes gather before one save: a drag of a splitter is one write, not hundreds. */
export const SAVE_DELAY_MS = 400;

export interface DeskModel {
  desk: DeskSettings;
  /** Whether the saved arrangement has been read (the wizard waits for it). */
  loaded: boolean;
  change: (edit: (desk: DeskSettings) => DeskSettings) => void;
}

/** The saved arrangement and a setter that saves each change (gathered over SAVE_DELAY_MS). */
export function useDesk(): DeskModel {
  const [desk, setDesk] = useState<DeskSettings>(DEFAULT_DESK);
  const [loaded, setLoaded] = useState(false);
  const pending = useRef<ReturnType<typeof setTimeout> | null>(null);
  const toSave = useRef<DeskSettings | null>(null);
  // Changed before the saved one arrived: the user's change wins over the read.
  const changed = useRef(false);

  useEffect(() => {
    let active = true;
    command<StudioSettings>('settings')
      .then((s) => {
        if (active && !changed.current) setDesk(parseDesk(s?.desk));
      })
      .catch(() => undefined)
      .finally(() => {
        if (active) setLoaded(true);
      });
    return () => {
      active = false;
    };
  }, []);

  const flush = useCallback(() => {
    pending.current = null;
    const next = toSave.current;
    toSave.current = null;
    // Not saved (no backend, or refused): the window keeps the arrangement for this session.
    if (next) void updateSettings({ desk: next }).catch(() => undefined);
  }, []);

  useEffect(
    () => () => {
      if (pending.current) {
        clearTimeout(pending.current);
        flush();
      }
    },
    [flush],
  );

  const change = useCallback(
    (edit: (desk: DeskSettings) => DeskSettings) => {
      changed.current = true;
      setDesk((current) => {
        const next = edit(current);
        toSave.current = next;
        return next;
      });
      if (pending.current) clearTimeout(pending.current);
      pending.current = setTimeout(flush, SAVE_DELAY_MS);
    },
    [flush],
  );

  return { desk, loaded, change };
}

export function toggled<T>(list: T[], item: T): T[] {
  return list.includes(item) ? list.filter((x) => x !== item) : [...list, item];
}
