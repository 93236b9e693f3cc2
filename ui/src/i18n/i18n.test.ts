import { describe, expect, it } from 'vitest';
import { en } from './en';
import { initialLanguage } from './index';
import { zhCN } from './zh-CN';

function keys(obj: object, prefix = ''): string[] {
  return Object.entries(obj).flatMap(([k, v]) =>
    typeof v === 'object' && v !== null ? keys(v as object, `${prefix}${k}.`) : [`${prefix}${k}`],
  );
}

describe('i18n', () => {
  it('defaults to zh-CN when nothing is saved', () => {
    expect(initialLanguage({ getItem: () => null })).toBe('zh-CN');
  });

  it('keeps a saved supported language and ignores an unknown one', () => {
    expect(initialLanguage({ getItem: () => 'en' })).toBe('en');
    expect(initialLanguage({ getItem: () => 'fr' })).toBe('zh-CN');
  });

  it('has the same keys and no empty string in every language', () => {
    expect(keys(en).sort()).toEqual(keys(zhCN).sort());
    for (const messages of [zhCN, en]) {
      for (const k of keys(messages)) {
        const value = k.split('.').reduce<unknown>((o, p) => (o as Record<string, unknown>)[p], messages);
        expect(value, k).not.toBe('');
      }
    }
  });
});
