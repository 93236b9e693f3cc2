import { useTranslation } from 'react-i18next';
import { bitratePoints, bitrateScaleMax, lossPercent, type BitrateSample, type OutputStats } from './engineStats';

const BOX = { width: 240, height: 60 };

/** Target against measured kbit/s over the last minute, with the latest figures in its name. */
export function BitrateGraph({ history, output }: { history: BitrateSample[]; output?: OutputStats }) {
  const { t } = useTranslation();
  const max = bitrateScaleMax(history);
  const last = history.at(-1);
  const label = last
    ? t('studio.stats.graph', {
        target: last.targetKbps,
        measured: Math.round(last.measuredKbps),
        loss: lossPercent(output?.loss),
        rtt: output?.rtt_ms != null ? `${Math.round(output.rtt_ms)} ms` : '—',
      })
    : t('studio.stats.graphEmpty');

  return (
    <figure className="bitrate" data-testid="bitrate-graph">
      <div className="bitrate-plot">
        <span className="bitrate-max" data-testid="bitrate-max">
          {max} kbit/s
        </span>
        <svg viewBox={`0 0 ${BOX.width} ${BOX.height}`} preserveAspectRatio="none" role="img" aria-label={label}>
          <polyline
            className="target"
            points={bitratePoints(history, (s) => s.targetKbps, BOX.width, BOX.height, max)}
            fill="none"
            vectorEffect="non-scaling-stroke"
          />
          <polyline
            className="measured"
            points={bitratePoints(history, (s) => s.measuredKbps, BOX.width, BOX.height, max)}
            fill="none"
            vectorEffect="non-scaling-stroke"
          />
        </svg>
      </div>
      <figcaption className="legend">
        <span className="key target">{t('studio.stats.target')}</span>
        <span className="key measured">{t('studio.stats.measured')}</span>
        <span className="muted">{t('studio.stats.window')}</span>
      </figcaption>
    </figure>
  );
}
