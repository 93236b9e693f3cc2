// 讲解 hotkeys: 1–9 pin cart product N, 0 unpins. Never while the user types in a field, and
// never with a modifier held (those belong to the system and the webview).

export type HotkeyAction = { kind: 'pin'; position: number } | { kind: 'unpin' };

export interface KeyLike {
  key: string;
  ctrlKey: boolean;
  altKey: boolean;
  metaKey: boolean;
  repeat?: boolean;
  target: EventTarget | null;
}

function isTyping(target: EventTarget | null): boolean {
  if (!target || typeof (target as Element).closest !== 'function') return false;
  const element = target as HTMLElement;
  return (
    element.isContentEditable ||
    element.closest('input, textarea, select, [contenteditable="true"]') !== null
  );
}

export function hotkeyAction(event: KeyLike): HotkeyAction | null {
  if (event.ctrlKey || event.altKey || event.metaKey || event.repeat) return null;
  if (!/^[0-9]$/.test(event.key) || isTyping(event.target)) return null;
  const digit = Number(event.key);
  return digit === 0 ? { kind: 'unpin' } : { kind: 'pin', position: digit };
}

/**
 * Space puts the newest comment on screen (上屏), or takes it off if it is already there.
 * Not while typing, and not on a focused button or link: there Space is that control's click.
 */
export function isOnScreenKey(event: KeyLike): boolean {
  if (event.key !== ' ' || event.ctrlKey || event.altKey || event.metaKey || event.repeat) return false;
  if (isTyping(event.target)) return false;
  const target = event.target as HTMLElement | null;
  return !(typeof target?.closest === 'function' && target.closest('button, a, [role="button"], summary') !== null);
}

/** `?` (Shift+/ on most layouts) opens the shortcut list, unless the user is typing. */
export function isHelpKey(event: KeyLike): boolean {
  return event.key === '?' && !event.ctrlKey && !event.altKey && !event.metaKey && !isTyping(event.target);
}

/**
 * Every shortcut the studio answers, as the help overlay lists them: the keys (shown as
 * written) and the i18n key of what they do. Kept beside the handlers so a new one is listed.
 */
export const SHORTCUTS: { group: 'present' | 'preview' | 'window'; keys: string[]; action: string }[] = [
  { group: 'present', keys: ['1', '…', '9'], action: 'studio.help.pin' },
  { group: 'present', keys: ['0'], action: 'studio.help.unpin' },
  { group: 'present', keys: ['Space'], action: 'studio.help.onScreen' },
  { group: 'preview', keys: ['←', '↑', '→', '↓'], action: 'studio.help.nudge' },
  { group: 'preview', keys: ['Shift', '←↑→↓'], action: 'studio.help.nudgeFar' },
  { group: 'preview', keys: ['Shift', '↘'], action: 'studio.help.keepAspect' },
  { group: 'preview', keys: ['Esc'], action: 'studio.help.deselect' },
  { group: 'window', keys: ['?'], action: 'studio.help.open' },
  { group: 'window', keys: ['Esc'], action: 'studio.help.close' },
  { group: 'window', keys: ['Enter'], action: 'studio.help.confirm' },
];
