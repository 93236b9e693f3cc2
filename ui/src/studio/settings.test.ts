import { mockIPC } from '@tauri-apps/api/mocks';
import i18n from 'i18next';
import { describe, expect, it } from 'vitest';
import { applySavedLanguage, saveLanguage } from './settings';
import { studioTestSetup } from './testSetup';

studioTestSetup();

describe('language setting', () => {
  it('starts in the saved language and saves each change', async () => {
    const saved: unknown[] = [];
    mockIPC((cmd, args) => {
      if (cmd === 'settings') return { language: 'en', destinations: [], effect_presets: [] };
      if (cmd === 'update_settings') saved.push(args);
      return null;
    });
    await applySavedLanguage();
    expect(i18n.language).toBe('en');
    saveLanguage('zh-CN');
    expect(saved.at(-1)).toEqual({ update: { language: 'zh-CN' } });
    await i18n.changeLanguage('zh-CN');
  });
});
