// The relay's HTTP API as the viewer page uses it: JSON in and out, errors as `ApiError` with
// the server's code, field and message (ErrorBody), and the viewer's bearer token.
import type { ErrorBody } from '../bindings/ErrorBody';

export class ApiError extends Error {
  readonly status: number;
  /** `invalid_field`, `sold_out`, `rate_limited`, … or `network` when there was no answer. */
  readonly code: string;
  readonly field?: string;
  /** From `Retry-After`, on 429 and 503. */
  readonly retryAfterS?: number;

  constructor(status: number, code: string, message: string, field?: string, retryAfterS?: number) {
    super(message);
    this.status = status;
    this.code = code;
    this.field = field;
    this.retryAfterS = retryAfterS;
  }
}

export interface RequestOptions {
  method?: string;
  token?: string;
  body?: unknown;
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

const DEVICE_KEY = 'anchordesk.device';
let device: string | undefined;

/** This browser's id, kept in localStorage: the relay counts coupon claims and lottery entries
 * per address and device, so people sharing an address (one Wi-Fi) each get their own. */
export function deviceId(): string {
  if (device) return device;
  try {
    device = localStorage.getItem(DEVICE_KEY) ?? undefined;
  } catch {
    // Private mode: an id for this page only.
  }
  if (!device || !/^[A-Za-z0-9_-]{8,64}$/.test(device)) {
    device = Array.from(crypto.getRandomValues(new Uint8Array(16)), (b) => b.toString(16).padStart(2, '0')).join('');
    try {
      localStorage.setItem(DEVICE_KEY, device);
    } catch {
      // As above.
    }
  }
  return device;
}

/** Retries of an idempotent request the relays could not answer, and the longest wait for one. */
export const RETRIES = 3;
const MAX_RETRY_WAIT_MS = 10_000;

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { 'x-anchordesk-device': deviceId(), ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  const method = options.method ?? (options.body === undefined ? 'GET' : 'POST');
  // Safe to send again: reads, and writes the relay deduplicates by their Idempotency-Key (an
  // order placed twice is one order). With several relays behind a proxy, the retry may reach
  // another relay.
  const idempotent = ['GET', 'HEAD', 'PUT', 'DELETE'].includes(method) || 'idempotency-key' in headers;
  for (let attempt = 0; ; attempt++) {
    const retry = idempotent && attempt < RETRIES;
    let response: Response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: options.body === undefined ? undefined : JSON.stringify(options.body),
        signal: options.signal,
      });
    } catch (e) {
      if (options.signal?.aborted) throw e;
      // No answer at all (the phone is offline): the page says so and the buyer retries.
      throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
    }
    if (response.ok) {
      const text = await response.text();
      return (text ? JSON.parse(text) : undefined) as T;
    }
    const error = await errorFrom(response);
    // 503 + Retry-After: the database was busy and nothing was done; 502/504: a proxy lost
    // the relay it had sent the request to.
    const wait =
      error.status === 503 && error.retryAfterS !== undefined
        ? error.retryAfterS * 1000
        : error.status === 502 || error.status === 504
          ? 1000
          : undefined;
    if (retry && wait !== undefined && (await pause(Math.min(wait, MAX_RETRY_WAIT_MS), options.signal))) continue;
    throw error;
  }
}

/** Waits `ms`; false when `signal` aborted meanwhile. */
function pause(ms: number, signal?: AbortSignal): Promise<boolean> {
  return new Promise((done) => {
    if (signal?.aborted) return done(false);
    const timer = setTimeout(() => done(true), ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(timer);
      done(false);
    });
  });
}

export async function errorFrom(response: Response): Promise<ApiError> {
  const retry = Number(response.headers.get('retry-after'));
  const retryAfterS = Number.isFinite(retry) && retry > 0 ? retry : undefined;
  try {
    const body = (await response.json()) as ErrorBody;
    const { code, message, field } = body.error;
    return new ApiError(response.status, code, message, field ?? undefined, retryAfterS);
  } catch {
    return new ApiError(response.status, 'http', `HTTP ${response.status}`, undefined, retryAfterS);
  }
}
