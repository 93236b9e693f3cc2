import { fireEvent, render, screen, waitFor, within } from '@testing-library/react';
import { mockIPC } from '@tauri-apps/api/mocks';
import { describe, expect, it } from 'vitest';
import { App } from './App';
import { SHORTCUTS } from './hotkeys';
import { studioTestSetup } from './testSetup';

studioTestSetup();

function studio() {
  // Past its first start: no setup guide over the studio.
  mockIPC(
    (cmd) => {
      if (cmd === 'relay_status') return { state: 'starting' };
      if (cmd === 'settings') return { destinations: [], effect_presets: [], next_when_sold_out: false, pin_when_asked: false, desk: { wizardDone: true } };
      return null;
    },
    { shouldMockEvents: true },
  );
  render(<App />);
}

describe('shortcut help', () => {
  it('opens on ? with every shortcut, and closes on Esc giving focus back', async () => {
    studio();
    const helpButton = await screen.findByTestId('open-help');
    await waitFor(() => expect(screen.getByTestId('open-wizard')).toBeTruthy());
    helpButton.focus();
    fireEvent.keyDown(helpButton, { key: '?', shiftKey: true });
    const dialog = await screen.findByRole('dialog', { name: '快捷键' });
    const rows = within(dialog).getAllByRole('definition');
    expect(rows).toHaveLength(SHORTCUTS.length);
    expect(dialog.textContent).toContain('1–9讲解小黄车中对应编号的商品');
    expect(dialog.textContent).toContain('0取消讲解');
    expect(dialog.textContent).toContain('?打开本列表');
    // A digit pressed over the list never reaches the 讲解 hotkeys (a window listener).
    const reached: string[] = [];
    const listener = (e: KeyboardEvent) => reached.push(e.key);
    window.addEventListener('keydown', listener);
    fireEvent.keyDown(document.activeElement!, { key: '1' });
    window.removeEventListener('keydown', listener);
    expect(reached).toEqual([]);
    fireEvent.keyDown(document.activeElement!, { key: 'Escape' });
    expect(screen.queryByRole('dialog')).toBeNull();
    expect(document.activeElement).toBe(helpButton);
  });

  it('opens from the header, and not while the user types a question mark', async () => {
    studio();
    const field = document.createElement('input');
    document.body.append(field);
    fireEvent.keyDown(field, { key: '?' });
    expect(screen.queryByRole('dialog')).toBeNull();
    field.remove();
    fireEvent.click(await screen.findByTestId('open-help'));
    const dialog = screen.getByRole('dialog', { name: '快捷键' });
    fireEvent.click(within(dialog).getByRole('button', { name: '知道了' }));
    expect(screen.queryByRole('dialog')).toBeNull();
  });
});
