// The user's saved studio settings (kept by the backend in the data directory, keys apart).
import { useEffect, useState } from 'react';
import type { StudioSettings } from '../bindings/StudioSettings';
import type { SettingsUpdate } from '../bindings/SettingsUpdate';
import { LANGUAGES, setLanguage, type Language } from '../i18n';
import i18n from 'i18next';
import { command } from './ipc';

export const EMPTY_SETTINGS: StudioSettings = { destinations: [], effect_presets: [] };

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
 * The studio's language follows the user's saved choice (not the webview's storage, which a
 * reinstall loses), and each change from the language switch is saved.
 */
export async function syncLanguage(): Promise<void> {
  try {
    const saved = (await command<StudioSettings>('settings'))?.language;
    if (saved && LANGUAGES.includes(saved as Language) && saved !== i18n.language) {
      setLanguage(saved as Language);
    }
  } catch {
    // No backend (a plain browser): the switch still works for this visit.
  }
  i18n.on('languageChanged', (language) => {
    void updateSettings({ language }).catch(() => undefined);
  });
}
