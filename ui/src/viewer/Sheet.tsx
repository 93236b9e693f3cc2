import type { ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

/** A bottom sheet over the room (小黄车, product, my orders): a labelled dialog with a close button. */
export function Sheet({
  label,
  heading,
  className,
  onClose,
  children,
}: {
  label: string;
  heading?: ReactNode;
  className?: string;
  onClose: () => void;
  children: ReactNode;
}) {
  const { t } = useTranslation();
  return (
    <div className={className ? `sheet ${className}` : 'sheet'} role="dialog" aria-modal="true" aria-label={label}>
      <header className="sheet-head">
        <h2>{heading ?? label}</h2>
        <button type="button" className="close" onClick={onClose} aria-label={t('viewer.close')}>
          ×
        </button>
      </header>
      {children}
    </div>
  );
}
