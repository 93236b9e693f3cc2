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

export async function api<T>(path: string, options: RequestOptions = {}): Promise<T> {
  const headers: Record<string, string> = { ...options.headers };
  if (options.token) headers.authorization = `Bearer ${options.token}`;
  if (options.body !== undefined) headers['content-type'] = 'application/json';
  let response: Response;
  try {
    response = await fetch(path, {
      method: options.method ?? (options.body === undefined ? 'GET' : 'POST'),
      headers,
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: options.signal,
    });
  } catch (e) {
    if (options.signal?.aborted) throw e;
    throw new ApiError(0, 'network', e instanceof Error ? e.message : String(e));
  }
  if (response.ok) {
    const text = await response.text();
    return (text ? JSON.parse(text) : undefined) as T;
  }
  throw await errorFrom(response);
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
