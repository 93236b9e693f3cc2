import { createContext, useCallback, useContext, useEffect, useMemo, useRef, useState, type ReactNode } from 'react';
import { useTranslation } from 'react-i18next';

/** How long a removal can be taken back. */
export const UNDO_MS = 8000;

export interface UndoOffer {
  /** What was done, e.g. "已移除 3号 …". */
  message: string;
  /** Puts it back; resolves to the reason it could not, or null. */
  undo: () => Promise<string | null>;
}

interface Toast extends UndoOffer {
  id: number;
  error?: string;
}

type Offer = (offer: UndoOffer) => void;

// Without a provider (a dock tested on its own) a removal is simply not offered back.
const UndoContext = createContext<Offer>(() => undefined);

/** Offers an undo for what was just removed, as a toast with 撤销 for UNDO_MS. */
export function useUndo(): Offer {
  return useContext(UndoContext);
}

function UndoToast({ toast, onDone }: { toast: Toast; onDone: (id: number, error?: string) => void }) {
  const { t } = useTranslation();
  const [busy, setBusy] = useState(false);
  const done = useRef(onDone);
  useEffect(() => {
    done.current = onDone;
  });
  useEffect(() => {
    if (toast.error) return;
    const timer = setTimeout(() => done.current(toast.id), UNDO_MS);
    return () => clearTimeout(timer);
  }, [toast.id, toast.error]);

  return (
    <li className="toast" data-testid="undo-toast">
      <span>{toast.error ?? toast.message}</span>
      {toast.error ? (
        <button type="button" className="link" onClick={() => onDone(toast.id)}>
          {t('studio.undo.dismiss')}
        </button>
      ) : (
        <button
          type="button"
          className="primary"
          disabled={busy}
          onClick={() => {
            setBusy(true);
            void toast.undo().then((error) => onDone(toast.id, error ?? undefined));
          }}
        >
          {t('studio.undo.undo')}
        </button>
      )}
    </li>
  );
}

/** Holds the undo toasts of the window's docks and shows them over the bottom of the studio. */
export function UndoProvider({ children }: { children: ReactNode }) {
  const [toasts, setToasts] = useState<Toast[]>([]);
  const next = useRef(0);
  const offer = useCallback<Offer>((o) => {
    const id = ++next.current;
    // The newest three: older removals are past taking back at a glance.
    setToasts((current) => [...current.slice(-2), { ...o, id }]);
  }, []);
  const finish = useCallback((id: number, error?: string) => {
    setToasts((current) =>
      error ? current.map((toast) => (toast.id === id ? { ...toast, error } : toast)) : current.filter((toast) => toast.id !== id),
    );
  }, []);
  const value = useMemo(() => offer, [offer]);
  return (
    <UndoContext.Provider value={value}>
      {children}
      <ol className="toasts" role="status" aria-live="polite">
        {toasts.map((toast) => (
          <UndoToast key={toast.id} toast={toast} onDone={finish} />
        ))}
      </ol>
    </UndoContext.Provider>
  );
}
