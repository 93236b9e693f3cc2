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
  // Compact under the feeds: the state and address always in sight, the viewer link and its
  // QR code one click away.
  return (
    <section className="panel relay-panel" aria-labelledby="relay-heading">
      <div className="row">
        <h2 id="relay-heading">{t('studio.relay.heading')}</h2>
        <span className={`badge badge-${badge}`} data-testid="relay-state" data-state={badge}>
          {t(`studio.relay.state.${badge}`)}
        </span>
      </div>
      {status.state === 'running' && (
        <>
          <p className="relay-url">
            {t('studio.relay.url')} <code data-testid="relay-url">{status.url}</code>
          </p>
          <details>
            <summary>{t('studio.relay.viewerPage')}</summary>
            <ShareLink url={`${status.url}/`} />
          </details>
        </>
      )}
      {status.state === 'failed' && (
        <p role="alert" className="error" data-testid="relay-error">
          {t('studio.relay.error')}: {status.error}
        </p>
      )}
    </section>
  );
}
