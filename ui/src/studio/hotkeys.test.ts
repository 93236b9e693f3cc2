import { describe, expect, it } from 'vitest';
import { hotkeyAction, isOnScreenKey, type KeyLike } from './hotkeys';

const key = (k: string, extra: Partial<KeyLike> = {}): KeyLike => ({
  key: k,
  ctrlKey: false,
  altKey: false,
  metaKey: false,
  target: document.body,
  ...extra,
});

describe('讲解 hotkeys', () => {
  it('maps 1–9 to pinning product N and 0 to unpin', () => {
    expect(hotkeyAction(key('1'))).toEqual({ kind: 'pin', position: 1 });
    expect(hotkeyAction(key('9'))).toEqual({ kind: 'pin', position: 9 });
    expect(hotkeyAction(key('0'))).toEqual({ kind: 'unpin' });
  });

  it('ignores other keys, modifiers and held-down repeats', () => {
    expect(hotkeyAction(key('a'))).toBeNull();
    expect(hotkeyAction(key('F1'))).toBeNull();
    expect(hotkeyAction(key('1', { ctrlKey: true }))).toBeNull();
    expect(hotkeyAction(key('1', { altKey: true }))).toBeNull();
    expect(hotkeyAction(key('1', { metaKey: true }))).toBeNull();
    expect(hotkeyAction(key('1', { repeat: true }))).toBeNull();
  });

  it('never fires while the user types a number into a field', () => {
    const input = document.createElement('input');
    const textarea = document.createElement('textarea');
    document.body.append(input, textarea);
    expect(hotkeyAction(key('3', { target: input }))).toBeNull();
    expect(hotkeyAction(key('0', { target: textarea }))).toBeNull();
  });
});

describe('上屏 key', () => {
  it('is Space alone, outside fields and off focused controls', () => {
    expect(isOnScreenKey(key(' '))).toBe(true);
    expect(isOnScreenKey(key(' ', { ctrlKey: true }))).toBe(false);
    expect(isOnScreenKey(key(' ', { repeat: true }))).toBe(false);
    expect(isOnScreenKey(key('Enter'))).toBe(false);
    const input = document.createElement('textarea');
    const button = document.createElement('button');
    expect(isOnScreenKey(key(' ', { target: input }))).toBe(false);
    expect(isOnScreenKey(key(' ', { target: button }))).toBe(false);
  });
});
