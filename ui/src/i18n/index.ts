import i18n from 'i18next';
import { initReactI18next } from 'react-i18next';
import { en } from './en';
import { zhCN } from './zh-CN';

export const LANGUAGES = ['zh-CN', 'en'] as const;
export type Language = (typeof LANGUAGES)[number];
export const DEFAULT_LANGUAGE: Language = 'zh-CN';
const STORAGE_KEY = 'anchordesk.lang';

function isLanguage(value: unknown): value is Language {
  return LANGUAGES.includes(value as Language);
}

/** The saved choice, else zh-CN: most of our users read Chinese whatever their OS locale. */
export function initialLanguage(storage: Pick<Storage, 'getItem'> | undefined): Language {
  const saved = storage?.getItem(STORAGE_KEY);
  return isLanguage(saved) ? saved : DEFAULT_LANGUAGE;
}

export function setLanguage(lang: Language): void {
  void i18n.changeLanguage(lang);
  document.documentElement.lang = lang;
  try {
    localStorage.setItem(STORAGE_KEY, lang);
  } catch {
    // Private mode or a full quota: the choice simply is not remembered.
  }
}

/**
 * `storage: null` ignores the browser's remembered choice: the studio keeps the language in
 * the user's settings instead (the webview's storage is shared by every data directory).
 */
export function initI18n({ storage }: { storage?: Pick<Storage, 'getItem'> | null } = {}): typeof i18n {
  const from = storage === undefined ? (typeof localStorage === 'undefined' ? undefined : localStorage) : (storage ?? undefined);
  const lng = initialLanguage(from);
  if (!i18n.isInitialized) {
    void i18n.use(initReactI18next).init({
      resources: { 'zh-CN': { translation: zhCN }, en: { translation: en } },
      lng,
      fallbackLng: DEFAULT_LANGUAGE,
      interpolation: { escapeValue: false },
      initAsync: false,
    });
  }
  return i18n;
}
