import { useTranslation } from 'react-i18next';
import type { RelayStatus } from '../bindings/RelayStatus';
import { ShareLink } from './ShareLink';

type Badge = 'starting' | 'running' | 'unhealthy' | 'failed' | 'stopped';

function badgeOf(status: RelayStatus): Badge {
  if (status.state === 'running') return status.healthy ? 'running' : 'unhealthy';
  return status.state;
}

export function RelayPanel({ status }: { status: RelayStatus }) {
  const { t } = useTranslation();
  const badge = badgeOf(status);
  return (
    <section className="panel" aria-labelledby="relay-heading">
      <h2 id="relay-heading">{t('studio.relay.heading')}</h2>
      <p>
        <span className={`badge badge-${badge}`} data-testid="relay-state" data-state={badge}>
          {t(`studio.relay.state.${badge}`)}
        </span>
      </p>
      {status.state === 'running' && (
        <dl>
          <dt>{t('studio.relay.url')}</dt>
          <dd>
            <code data-testid="relay-url">{status.url}</code>
          </dd>
          <dt>{t('studio.relay.viewerPage')}</dt>
          <dd>
            <ShareLink url={`${status.url}/`} />
          </dd>
        </dl>
      )}
      {status.state === 'failed' && (
        <p role="alert" data-testid="relay-error">
          {t('studio.relay.error')}: {status.error}
        </p>
      )}
    </section>
  );
}
