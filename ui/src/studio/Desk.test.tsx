import { act, fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { mockIPC } from '@tauri-apps/api/mocks';
import { beforeEach, describe, expect, it } from 'vitest';
import { cart, product, room } from '../viewer/fixtures';
import { App } from './App';
import { DEFAULT_DESK, dockSize, parseDesk, SAVE_DELAY_MS, type DeskSettings } from './desk';
import { studioTestSetup } from './testSetup';

studioTestSetup();

/** A studio backend whose saved settings hold `desk`; returns each saved `desk`. */
function backend(desk?: unknown, mode: 'studio' | 'assistant' = 'studio'): DeskSettings[] {
  const saved: DeskSettings[] = [];
  mockIPC(
    (cmd, args) => {
      if (cmd === 'studio_mode') return mode;
      if (cmd === 'relay_status') return { state: 'running', url: 'http://127.0.0.1:4000', healthy: true };
      if (cmd === 'studio_info' && mode === 'studio') return { relay_url: 'http://127.0.0.1:4000', live_id: 3, live_title: '店铺直播', stream_name: 'demo' };
      if (cmd === 'connect_relay') return { relay_url: 'http://192.168.1.20:8080', live_id: 3, live_title: '店铺直播', stream_name: 'demo' };
      if (cmd === 'relay_call') {
        // Every read the docks make gets an answer of its real shape.
        const path = (args as { path: string }).path;
        const live = { ...room({}, cart(product(1))).live, id: 3 };
        if (path === '/api/lives/3') return live;
        if (path === '/api/lives/3/room') return room({ live });
        if (path === '/api/lives/3/stats') return null;
        return [];
      }
      if (cmd === 'settings') return { destinations: [], effect_presets: [], next_when_sold_out: false, pin_when_asked: false, desk };
      if (cmd === 'update_settings') {
        const update = (args as { update: { desk?: DeskSettings } }).update;
        if (update.desk) saved.push(update.desk);
        return null;
      }
      return null;
    },
    { shouldMockEvents: true },
  );
  return saved;
}

const waitForSave = () => act(() => new Promise((resolve) => setTimeout(resolve, SAVE_DELAY_MS + 50)));

describe('saved desk arrangement', () => {
  beforeEach(() => {
    // The smallest window the docks are laid out for.
    Object.assign(window, { innerWidth: 1366, innerHeight: 768 });
  });

  it('keeps only what it knows from the settings, and fits dock sizes to the window', () => {
    expect(parseDesk(undefined)).toEqual(DEFAULT_DESK);
    const desk = parseDesk({ theme: 'neon', sizes: { left: 420.4, right: -5, centre: 9 }, collapsed: ['bottom', 'bottom', 'nope'], tabs: { left: 'sales', right: 3 }, wizardDone: 'yes' });
    expect(desk).toEqual({ theme: 'dark', sizes: { left: 420 }, collapsed: ['bottom'], tabs: { left: 'sales' }, wizardDone: false });
    expect(dockSize(desk, 'left', 1920)).toBe(420);
    // At 1366 px the left dock may take at most 42 % (573 px); a huge saved size gives way.
    expect(dockSize({ ...desk, sizes: { left: 2000 } }, 'left', 1366)).toBe(573);
    expect(dockSize(desk, 'right', 1366)).toBe(320);
    expect(dockSize({ ...desk, sizes: { right: 10 } }, 'right', 1366)).toBe(260);
  });

  it('opens the docks as saved: sizes, collapsed dock, chosen tab and theme', async () => {
    backend({ theme: 'light', sizes: { left: 400, bottom: 200 }, collapsed: ['right'], tabs: { left: 'sales', bottom: 'audio' } });
    render(<App />);
    const desk = await screen.findByTestId('desk');
    await waitFor(() => expect(desk.style.gridTemplateColumns).toBe('400px auto minmax(0, 1fr) auto 2.25rem'));
    expect(document.documentElement.dataset.theme).toBe('light');
    expect(screen.getByRole('tab', { name: '营销工具' }).getAttribute('aria-selected')).toBe('true');
    expect(screen.getByRole('tab', { name: '音频' }).getAttribute('aria-selected')).toBe('true');
    const right = desk.querySelector('[data-dock=right]')!;
    expect(right.getAttribute('data-collapsed')).toBe('true');
    expect(within(right as HTMLElement).getByRole('button', { name: '展开「订单与互动」' }).getAttribute('aria-expanded')).toBe('false');
    expect((desk.querySelector('.centre') as HTMLElement).style.gridTemplateRows).toBe('minmax(0, 1fr) auto 200px');
  });

  it('saves a resize, a tab change, a collapse and the theme in the settings', async () => {
    const saved = backend(undefined);
    render(<App />);
    const desk = await screen.findByTestId('desk');
    expect(document.documentElement.dataset.theme).toBe('dark');

    const splitter = screen.getByRole('separator', { name: '调整「商品与营销」的大小' });
    expect(splitter.getAttribute('aria-valuenow')).toBe('380');
    fireEvent.keyDown(splitter, { key: 'ArrowRight', shiftKey: true });
    fireEvent.keyDown(splitter, { key: 'ArrowRight' });
    expect(splitter.getAttribute('aria-valuenow')).toBe('476');
    fireEvent.click(screen.getByRole('tab', { name: '评论' }));
    fireEvent.click(screen.getByRole('button', { name: '收起「开播与画面」' }));
    fireEvent.click(screen.getByTestId('theme-toggle'));
    expect(document.documentElement.dataset.theme).toBe('light');
    expect(saved).toEqual([]);
    await waitForSave();
    // Gathered into one write.
    expect(saved).toHaveLength(1);
    expect(saved[0]).toEqual({ theme: 'light', sizes: { left: 476 }, collapsed: ['bottom'], tabs: { right: 'comments' }, wizardDone: false });
    expect(desk.style.gridTemplateColumns).toBe('476px auto minmax(0, 1fr) auto 320px');
  });

  it('keeps every tab mounted: a hidden feed still holds its place', async () => {
    backend(undefined);
    render(<App />);
    await screen.findByTestId('desk');
    const scenesPanel = document.getElementById('panel-bottom-scenes')!;
    expect(scenesPanel.hidden).toBe(true);
    expect(scenesPanel.querySelector('#scenes-heading')).not.toBeNull();
    fireEvent.click(screen.getByRole('tab', { name: '场景与图层' }));
    expect(scenesPanel.hidden).toBe(false);
    expect(document.getElementById('panel-bottom-live')!.hidden).toBe(true);
  });

  it('gives the assistant the console and the feeds across the window, without media docks', async () => {
    backend(undefined, 'assistant');
    render(<App />);
    fireEvent.change(await screen.findByLabelText('中继地址'), { target: { value: 'http://192.168.1.20:8080' } });
    fireEvent.change(screen.getByLabelText('员工账号'), { target: { value: 'helper' } });
    fireEvent.change(screen.getByLabelText('密码'), { target: { value: 'secret words' } });
    fireEvent.click(screen.getByRole('button', { name: '连接' }));
    const desk = await screen.findByTestId('desk');
    expect(desk.classList.contains('desk-assistant')).toBe(true);
    expect(desk.style.gridTemplateColumns).toBe('520px auto minmax(0, 1fr) auto 360px');
    // The comments take the middle of the window, not a tab.
    expect(desk.querySelector('.feed-column [data-testid=comments]')).not.toBeNull();
    expect(screen.getByRole('tab', { name: '商品中控' }).getAttribute('aria-selected')).toBe('true');
    expect(screen.queryByRole('region', { name: '节目预览' })).toBeNull();
    expect(screen.queryByTestId('go-live')).toBeNull();
    expect(screen.queryByTestId('header-live')).toBeNull();
  });
});
