import { useRef, type KeyboardEvent, type PointerEvent, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { DockId } from './desk';

export interface DockTab {
  id: string;
  label: string;
  content: ReactNode;
}

/**
 * A dock of the studio: tabs over one scrolling panel, collapsible to a strip. Every tab stays
 * mounted while another is shown, so feeds keep what arrived and the console's hotkeys keep
 * working whatever tab is in front.
 */
export function DockArea({
  id,
  label,
  tabs,
  active,
  onActivate,
  collapsed,
  onCollapse,
  side,
}: {
  id: DockId;
  label: string;
  tabs: DockTab[];
  active: string | undefined;
  onActivate: (tab: string) => void;
  collapsed: boolean;
  onCollapse: (collapsed: boolean) => void;
  /** Where the dock sits: what the collapse arrow points to. */
  side: 'left' | 'right' | 'bottom';
}) {
  const { t } = useTranslation();
  const shown = tabs.find((tab) => tab.id === active) ?? tabs[0];
  const list = useRef<HTMLDivElement>(null);
  const arrow = { left: collapsed ? '»' : '«', right: collapsed ? '«' : '»', bottom: collapsed ? '▴' : '▾' }[side];

  // Arrow keys move between tabs, as in any tab list.
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    if (e.key !== 'ArrowLeft' && e.key !== 'ArrowRight') return;
    const at = tabs.findIndex((tab) => tab.id === shown?.id);
    const next = tabs[(at + (e.key === 'ArrowRight' ? 1 : tabs.length - 1)) % tabs.length];
    if (!next) return;
    e.preventDefault();
    onActivate(next.id);
    list.current?.querySelector<HTMLElement>(`[data-tab="${next.id}"]`)?.focus();
  };

  return (
    <section className={`dock-area dock-${side}`} data-dock={id} data-collapsed={collapsed || undefined} aria-label={label}>
      <div className="dock-head">
        <div ref={list} className="tabs" role="tablist" aria-label={label} onKeyDown={onKeyDown} hidden={collapsed && side !== 'bottom'}>
          {tabs.map((tab) => (
            <button
              key={tab.id}
              id={`tab-${id}-${tab.id}`}
              type="button"
              role="tab"
              data-tab={tab.id}
              aria-selected={tab.id === shown?.id}
              aria-controls={`panel-${id}-${tab.id}`}
              tabIndex={tab.id === shown?.id ? 0 : -1}
              onClick={() => {
                onActivate(tab.id);
                if (collapsed) onCollapse(false);
              }}
            >
              {tab.label}
            </button>
          ))}
        </div>
        <button
          type="button"
          className="link dock-toggle"
          data-dock-toggle
          aria-expanded={!collapsed}
          aria-label={t(collapsed ? 'studio.desk.expand' : 'studio.desk.collapse', { dock: label })}
          title={t(collapsed ? 'studio.desk.expand' : 'studio.desk.collapse', { dock: label })}
          onClick={() => onCollapse(!collapsed)}
        >
          {arrow}
        </button>
      </div>
      {collapsed && side !== 'bottom' && (
        <button type="button" className="link dock-strip" onClick={() => onCollapse(false)} aria-hidden="true" tabIndex={-1}>
          {shown?.label}
        </button>
      )}
      {tabs.map((tab) => (
        <div
          key={tab.id}
          id={`panel-${id}-${tab.id}`}
          className="dock-panel"
          role="tabpanel"
          aria-labelledby={`tab-${id}-${tab.id}`}
          hidden={collapsed || tab.id !== shown?.id}
        >
          {tab.content}
        </div>
      ))}
    </section>
  );
}

/**
 * The handle between a dock and the preview: drag it, or focus it and use the arrow keys
 * (Shift for bigger steps). `grow` is +1 when moving right/down makes the dock bigger.
 */
export function Splitter({
  label,
  orientation,
  size,
  min,
  max,
  grow,
  onResize,
}: {
  label: string;
  orientation: 'vertical' | 'horizontal';
  size: number;
  min: number;
  max: number;
  grow: 1 | -1;
  onResize: (size: number) => void;
}) {
  const drag = useRef<{ pointerId: number; from: number; size: number } | null>(null);
  const clamp = (v: number) => Math.round(Math.min(max, Math.max(min, v)));
  const along = (e: { clientX: number; clientY: number }) => (orientation === 'vertical' ? e.clientX : e.clientY);

  const onPointerDown = (e: PointerEvent<HTMLDivElement>) => {
    if (e.button !== 0) return;
    drag.current = { pointerId: e.pointerId, from: along(e), size };
    e.currentTarget.setPointerCapture?.(e.pointerId);
  };
  const onPointerMove = (e: PointerEvent<HTMLDivElement>) => {
    const d = drag.current;
    if (!d || d.pointerId !== e.pointerId) return;
    onResize(clamp(d.size + grow * (along(e) - d.from)));
  };
  const onPointerUp = (e: PointerEvent<HTMLDivElement>) => {
    if (drag.current?.pointerId !== e.pointerId) return;
    drag.current = null;
    e.currentTarget.releasePointerCapture?.(e.pointerId);
  };
  const onKeyDown = (e: KeyboardEvent<HTMLDivElement>) => {
    const keys = orientation === 'vertical' ? ['ArrowLeft', 'ArrowRight'] : ['ArrowUp', 'ArrowDown'];
    const at = keys.indexOf(e.key);
    if (at < 0) return;
    e.preventDefault();
    const step = (e.shiftKey ? 80 : 16) * (at === 1 ? 1 : -1) * grow;
    onResize(clamp(size + step));
  };

  return (
    <div
      className={`splitter splitter-${orientation}`}
      role="separator"
      aria-orientation={orientation}
      aria-label={label}
      aria-valuenow={size}
      aria-valuemin={min}
      aria-valuemax={max}
      tabIndex={0}
      onPointerDown={onPointerDown}
      onPointerMove={onPointerMove}
      onPointerUp={onPointerUp}
      onPointerCancel={() => (drag.current = null)}
      onKeyDown={onKeyDown}
    />
  );
}
