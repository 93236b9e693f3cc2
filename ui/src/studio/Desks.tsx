// The two arrangements of the studio window: the anchor's desk (preview in the middle, docks
// around it) and the assistant's (console and feeds across the window, no media).
import { useEffect, useState, type CSSProperties, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';
import type { RelayStatus } from '../bindings/RelayStatus';
import type { StudioInfo } from '../bindings/StudioInfo';
import { AssistantLogin } from './AssistantLogin';
import { AudioMixer } from './AudioMixer';
import { CommentFeed } from './CommentFeed';
import { Dashboard } from './Dashboard';
import { DOCK_SIZES, dockSize, toggled, type DeskSettings, type DockId } from './desk';
import { Destinations } from './Destinations';
import { DockArea, Splitter, type DockTab } from './DockArea';
import type { BitrateSample, EngineStats } from './engineStats';
import { GoLive } from './GoLive';
import { OrderFeed } from './OrderFeed';
import { Preview } from './Preview';
import { ProductConsole } from './ProductConsole';
import { RelayPanel } from './RelayPanel';
import { SaleTools } from './SaleTools';
import { ScenesDock } from './ScenesDock';
import type { ScenesModel } from './useScenes';

type Change = (edit: (desk: DeskSettings) => DeskSettings) => void;

function useWindowSize(): { width: number; height: number } {
  const [size, setSize] = useState(() => ({ width: window.innerWidth, height: window.innerHeight }));
  useEffect(() => {
    const update = () => setSize({ width: window.innerWidth, height: window.innerHeight });
    window.addEventListener('resize', update);
    return () => window.removeEventListener('resize', update);
  }, []);
  return size;
}

/** A dock's props and its splitter's, wired to the saved arrangement. */
function useDock(desk: DeskSettings, change: Change, id: DockId, extent: number) {
  const { t } = useTranslation();
  const size = dockSize(desk, id, extent);
  const collapsed = desk.collapsed.includes(id);
  const { min, maxShare } = DOCK_SIZES[id];
  return {
    size,
    collapsed,
    area: {
      id,
      active: desk.tabs[id],
      onActivate: (tab: string) => change((d) => ({ ...d, tabs: { ...d.tabs, [id]: tab } })),
      collapsed,
      onCollapse: (on: boolean) => change((d) => (d.collapsed.includes(id) === on ? d : { ...d, collapsed: toggled(d.collapsed, id) })),
    },
    splitter: {
      label: t('studio.desk.resize', { dock: t(`studio.desk.dock.${id}`) }),
      size,
      min,
      max: Math.max(min, Math.floor(extent * maxShare)),
      onResize: (next: number) => change((d) => ({ ...d, sizes: { ...d.sizes, [id]: next } })),
    },
  };
}

function Waiting({ children }: { children: ReactNode }) {
  return <p className="panel muted">{children}</p>;
}

/** Collapsed side docks keep a strip this wide, to open them again. */
const STRIP = '2.25rem';

export function StudioDesk({
  desk,
  change,
  info,
  relay,
  stats,
  bitrate,
  scenes,
}: {
  desk: DeskSettings;
  change: Change;
  info: StudioInfo | null;
  relay: RelayStatus;
  stats: EngineStats | null;
  bitrate: BitrateSample[];
  scenes: ScenesModel;
}) {
  const { t } = useTranslation();
  const win = useWindowSize();
  const left = useDock(desk, change, 'left', win.width);
  const right = useDock(desk, change, 'right', win.width);
  const bottom = useDock(desk, change, 'bottom', win.height);
  const engineReady = stats !== null;

  const leftTabs: DockTab[] = [
    {
      id: 'console',
      label: t('studio.desk.tab.console'),
      content: info ? <ProductConsole liveId={info.live_id} relayUrl={info.relay_url} /> : <Waiting>{t('studio.connecting')}</Waiting>,
    },
    { id: 'sales', label: t('studio.desk.tab.sales'), content: info ? <SaleTools liveId={info.live_id} /> : <Waiting>{t('studio.connecting')}</Waiting> },
  ];
  const bottomTabs: DockTab[] = [
    {
      id: 'live',
      label: t('studio.desk.tab.live'),
      content: (
        <div className="dock-columns">
          <GoLive stats={stats} history={bitrate} ready={info !== null} />
          <Destinations stats={stats} ready={engineReady} />
        </div>
      ),
    },
    { id: 'scenes', label: t('studio.desk.tab.scenes'), content: <ScenesDock model={scenes} ready={engineReady} /> },
    { id: 'audio', label: t('studio.desk.tab.audio'), content: <AudioMixer ready={engineReady} /> },
  ];
  const rightTabs: DockTab[] = info
    ? [
        { id: 'orders', label: t('studio.desk.tab.orders'), content: <OrderFeed liveId={info.live_id} /> },
        { id: 'comments', label: t('studio.desk.tab.comments'), content: <CommentFeed liveId={info.live_id} /> },
        { id: 'dashboard', label: t('studio.desk.tab.dashboard'), content: <Dashboard liveId={info.live_id} /> },
      ]
    : [{ id: 'orders', label: t('studio.desk.tab.orders'), content: <Waiting>{t('studio.connecting')}</Waiting> }];

  const columns: CSSProperties = {
    gridTemplateColumns: [left.collapsed ? STRIP : `${left.size}px`, 'auto', 'minmax(0, 1fr)', 'auto', right.collapsed ? STRIP : `${right.size}px`].join(' '),
  };
  const rows: CSSProperties = { gridTemplateRows: bottom.collapsed ? 'minmax(0, 1fr) auto auto' : `minmax(0, 1fr) auto ${bottom.size}px` };

  return (
    <main className="desk" style={columns} data-testid="desk">
      <DockArea {...left.area} label={t('studio.desk.dock.left')} side="left" tabs={leftTabs} />
      {left.collapsed ? <span /> : <Splitter {...left.splitter} orientation="vertical" grow={1} />}
      <div className="centre" style={rows}>
        <div className="stage-area">
          <Preview model={scenes} />
        </div>
        {bottom.collapsed ? <span /> : <Splitter {...bottom.splitter} orientation="horizontal" grow={-1} />}
        <DockArea {...bottom.area} label={t('studio.desk.dock.bottom')} side="bottom" tabs={bottomTabs} />
      </div>
      {right.collapsed ? <span /> : <Splitter {...right.splitter} orientation="vertical" grow={-1} />}
      <div className="side-column">
        <DockArea {...right.area} label={t('studio.desk.dock.right')} side="right" tabs={rightTabs} />
        {!right.collapsed && <RelayPanel status={relay} />}
      </div>
    </main>
  );
}

export function AssistantDesk({
  desk,
  change,
  info,
  onConnected,
}: {
  desk: DeskSettings;
  change: Change;
  info: StudioInfo | null;
  onConnected: (info: StudioInfo) => void;
}) {
  const { t } = useTranslation();
  const win = useWindowSize();
  const left = useDock(desk, change, 'assistantLeft', win.width);
  const right = useDock(desk, change, 'assistantRight', win.width);
  if (!info) {
    return (
      <main className="desk desk-login">
        <AssistantLogin onConnected={onConnected} />
      </main>
    );
  }
  const leftTabs: DockTab[] = [
    { id: 'console', label: t('studio.desk.tab.console'), content: <ProductConsole liveId={info.live_id} relayUrl={info.relay_url} /> },
    { id: 'sales', label: t('studio.desk.tab.sales'), content: <SaleTools liveId={info.live_id} /> },
  ];
  const rightTabs: DockTab[] = [
    { id: 'orders', label: t('studio.desk.tab.orders'), content: <OrderFeed liveId={info.live_id} /> },
    { id: 'dashboard', label: t('studio.desk.tab.dashboard'), content: <Dashboard liveId={info.live_id} /> },
  ];
  const columns: CSSProperties = {
    gridTemplateColumns: [left.collapsed ? STRIP : `${left.size}px`, 'auto', 'minmax(0, 1fr)', 'auto', right.collapsed ? STRIP : `${right.size}px`].join(' '),
  };
  return (
    <main className="desk desk-assistant" style={columns} data-testid="desk">
      <DockArea {...left.area} label={t('studio.desk.dock.left')} side="left" tabs={leftTabs} />
      {left.collapsed ? <span /> : <Splitter {...left.splitter} orientation="vertical" grow={1} />}
      <div className="feed-column">
        <CommentFeed liveId={info.live_id} />
      </div>
      {right.collapsed ? <span /> : <Splitter {...right.splitter} orientation="vertical" grow={-1} />}
      <div className="side-column">
        <DockArea {...right.area} label={t('studio.desk.dock.right')} side="right" tabs={rightTabs} />
        <p className="panel muted" data-testid="assistant-relay">
          {t('studio.assistant.connected', { url: info.relay_url })}
        </p>
      </div>
    </main>
  );
}
