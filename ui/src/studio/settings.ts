// The user's saved studio settings (kept by the backend in the data directory, keys apart).
import { useEffect, useState } from 'react';
import type { StudioSettings } from '../bindings/StudioSettings';
import type { SettingsUpdate } from '../bindings/SettingsUpdate';
import { LANGUAGES, setLanguage, type Language } from '../i18n';
import i18n from 'i18next';
import { command } from './ipc';

export const EMPTY_SETTINGS: StudioSettings = { destinations: [], effect_presets: [], next_when_sold_out: false, pin_when_asked: false };

/** The saved settings once read (`null` before), and a setter for what a command returned. */
export function useSettings(): [StudioSettings | null, (s: StudioSettings) => void] {
  const [settings, setSettings] = useState<StudioSettings | null>(null);
  useEffect(() => {
    let active = true;
    command<StudioSettings>('settings')
      .then((s) => {
        if (active) setSettings(s ?? EMPTY_SETTINGS);
      })
      .catch(() => {
        if (active) setSettings(EMPTY_SETTINGS);
      });
    return () => {
      active = false;
    };
  }, []);
  return [settings, setSettings];
}

export function updateSettings(update: SettingsUpdate): Promise<StudioSettings> {
  return command<StudioSettings>('update_settings', { update });
}

/**
 * The studio opens in the user's saved language (kept by the backend, not in the webview's
 * storage, which a reinstall loses).
 */
export async function applySavedLanguage(): Promise<void> {
  try {
    const saved = (await command<StudioSettings>('settings'))?.language;
    if (saved && LANGUAGES.includes(saved as Language) && saved !== i18n.language) {
      setLanguage(saved as Language);
    }
  } catch {
    // No backend (a plain browser): the default language.
  }
}

/** Saves the language chosen in the switch. */
export function saveLanguage(language: Language): void {
  void updateSettings({ language }).catch(() => undefined);
}
