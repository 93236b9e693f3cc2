// This device's viewer account: made on first visit (`POST /api/viewers`), kept in
// localStorage so "my orders", claimed coupons and lottery entries stay with the phone.
import type { Principal } from '../bindings/Principal';
import type { Session } from '../bindings/Session';
import { api, ApiError } from './api';

const STORAGE_KEY = 'anchordesk.viewer';

export interface ViewerSession {
  token: string;
  id: number;
  nickname: string;
}

function load(): ViewerSession | undefined {
  try {
    const saved = JSON.parse(localStorage.getItem(STORAGE_KEY) ?? 'null') as ViewerSession | null;
    return saved && typeof saved.token === 'string' ? saved : undefined;
  } catch {
    return undefined;
  }
}

function save(session: ViewerSession): void {
  try {
    localStorage.setItem(STORAGE_KEY, JSON.stringify(session));
  } catch {
    // Private mode: the session lasts as long as the page.
  }
}

function fromSession(session: Session): ViewerSession {
  const p = session.principal;
  if (p.kind !== 'viewer') throw new ApiError(403, 'forbidden', 'not a viewer session');
  return { token: session.token, id: p.id, nickname: p.nickname };
}

/** The saved session if the relay still knows it, else a new one. */
export async function ensureViewer(): Promise<ViewerSession> {
  const saved = load();
  if (saved) {
    try {
      const me = await api<Principal>('/api/me', { token: saved.token });
      if (me.kind === 'viewer') return { ...saved, nickname: me.nickname };
    } catch (e) {
      if (!(e instanceof ApiError) || e.status !== 401) throw e;
    }
  }
  const created = fromSession(await api<Session>('/api/viewers', { method: 'POST', body: {} }));
  save(created);
  return created;
}
