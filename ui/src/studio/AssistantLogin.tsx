import { useState } from 'react';
import { useTranslation } from 'react-i18next';
import type { StudioInfo } from '../bindings/StudioInfo';
import { ApiError } from '../viewer/api';
import { Field } from './Field';
import { command } from './ipc';
import { useSettings } from './settings';

/** Assistant mode: sign in to the anchor's relay with a staff account. */
export function AssistantLogin({ onConnected }: { onConnected: (info: StudioInfo) => void }) {
  const { t } = useTranslation();
  // Until edited, the relay and account used last time (the password is never kept).
  const [typedUrl, setUrl] = useState<string | null>(null);
  const [typedUsername, setUsername] = useState<string | null>(null);
  const [password, setPassword] = useState('');
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<{ field?: string; message: string } | null>(null);
  const [settings] = useSettings();
  const url = typedUrl ?? settings?.relay_url ?? 'http://';
  const username = typedUsername ?? settings?.username ?? '';

  const connect = async () => {
    setBusy(true);
    setError(null);
    try {
      onConnected(await command<StudioInfo>('connect_relay', { url, username, password }));
    } catch (e) {
      if (e instanceof ApiError) {
        setError({
          field: e.field,
          message: e.status === 401 ? t('studio.assistant.badLogin') : e.code === 'network' ? t('studio.assistant.unreachable', { message: e.message }) : e.message,
        });
      } else {
        setError({ message: String(e) });
      }
    } finally {
      setBusy(false);
    }
  };

  return (
    <section className="panel assistant-login" aria-labelledby="assistant-heading">
      <h2 id="assistant-heading">{t('studio.assistant.heading')}</h2>
      <p className="muted">{t('studio.assistant.explain')}</p>
      <form
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          void connect();
        }}
      >
        <Field id="assistant-url" label={t('studio.assistant.url')} error={error?.field === 'url' ? error.message : undefined}>
          {(a) => <input {...a} type="url" autoComplete="url" value={url} onChange={(e) => setUrl(e.target.value)} />}
        </Field>
        <Field id="assistant-username" label={t('studio.assistant.username')}>
          {(a) => <input {...a} autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} />}
        </Field>
        <Field id="assistant-password" label={t('studio.assistant.password')}>
          {(a) => <input {...a} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} />}
        </Field>
        {error && error.field !== 'url' && (
          <p role="alert" className="error" data-testid="assistant-error">
            {error.message}
          </p>
        )}
        <button type="submit" className="primary" disabled={busy} data-testid="assistant-connect">
          {t('studio.assistant.connect')}
        </button>
      </form>
    </section>
  );
}
