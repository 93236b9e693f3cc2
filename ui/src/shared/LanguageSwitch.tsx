import { useTranslation } from 'react-i18next';
import { LANGUAGES, setLanguage, type Language } from '../i18n';

/** `onChange` also gets each choice (the studio saves it in the user's settings). */
export function LanguageSwitch({ onChange }: { onChange?: (lang: Language) => void }) {
  const { t, i18n } = useTranslation();
  return (
    <label className="lang-switch">
      <span>{t('common.language')}</span>
      <select
        value={i18n.language}
        onChange={(e) => {
          const lang = e.target.value as Language;
          setLanguage(lang);
          onChange?.(lang);
        }}
        aria-label={t('common.language')}
      >
        {LANGUAGES.map((lang) => (
          <option key={lang} value={lang}>
            {t(`common.languages.${lang}`)}
          </option>
        ))}
      </select>
    </label>
  );
}
