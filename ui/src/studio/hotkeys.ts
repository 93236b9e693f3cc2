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
