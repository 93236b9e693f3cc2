import { useEffect, useRef, type ReactNode } from 'react';
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
  const close = useRef<HTMLButtonElement>(null);
  const onCloseRef = useRef(onClose);
  useEffect(() => {
    onCloseRef.current = onClose;
  });
  // Focus moves into the sheet, Escape closes it, and focus goes back where it was.
  useEffect(() => {
    const before = document.activeElement instanceof HTMLElement ? document.activeElement : null;
    close.current?.focus();
    const onKey = (e: KeyboardEvent) => {
      if (e.key === 'Escape') onCloseRef.current();
    };
    document.addEventListener('keydown', onKey);
    return () => {
      document.removeEventListener('keydown', onKey);
      before?.focus();
    };
  }, []);
  return (
    <div className={className ? `sheet ${className}` : 'sheet'} role="dialog" aria-modal="true" aria-label={label}>
      <header className="sheet-head">
        <h2>{heading ?? label}</h2>
        <button ref={close} type="button" className="close" onClick={onClose} aria-label={t('viewer.close')}>
          ×
        </button>
      </header>
      {children}
    </div>
  );
}
