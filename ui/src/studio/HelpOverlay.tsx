import { useEffect } from 'react';
import { useTranslation } from 'react-i18next';
import { isHelpKey, SHORTCUTS } from './hotkeys';
import { Modal } from './Modal';

const GROUPS = ['present', 'preview', 'window'] as const;

/** Opens the shortcut list on `?` anywhere in the studio (not while typing). */
export function useHelpKey(open: () => void): void {
  useEffect(() => {
    const onKey = (event: KeyboardEvent) => {
      if (!isHelpKey(event)) return;
      event.preventDefault();
      open();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [open]);
}

/** Every shortcut of the studio, by what it works on. */
export function HelpOverlay({ onClose }: { onClose: () => void }) {
  const { t } = useTranslation();
  return (
    <Modal title={t('studio.help.heading')} onClose={onClose} className="help" testId="help-overlay">
      {GROUPS.map((group) => (
        <section key={group} aria-labelledby={`help-${group}`}>
          <h3 id={`help-${group}`}>{t(`studio.help.group.${group}`)}</h3>
          <dl className="shortcuts">
            {SHORTCUTS.filter((s) => s.group === group).map((s) => (
              <div key={s.action} className="shortcut">
                <dt>
                  {s.keys.map((k, i) => (k === '…' ? <span key={i}>–</span> : <kbd key={i}>{k}</kbd>))}
                </dt>
                <dd>{t(s.action)}</dd>
              </div>
            ))}
          </dl>
        </section>
      ))}
      <div className="modal-actions">
        <button type="button" className="primary" onClick={onClose}>
          {t('studio.help.done')}
        </button>
      </div>
    </Modal>
  );
}
