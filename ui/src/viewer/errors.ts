import type { TFunction } from 'i18next';
import { ApiError } from './api';

/**
 * What to tell the viewer about a failed request: our words for the codes we know (sold out,
 * too fast, no network), with the relay's own message for the rest.
 */
export function errorText(t: TFunction, error: unknown): string {
  if (error instanceof ApiError) {
    switch (error.code) {
      case 'sold_out':
        return t('viewer.errors.soldOut');
      case 'rate_limited':
        return t('viewer.errors.rateLimited', { seconds: error.retryAfterS ?? 1 });
      case 'network':
        return t('viewer.errors.network');
      case 'unauthorized':
        return t('viewer.errors.session');
      default:
        return t('viewer.errors.server', { message: error.message });
    }
  }
  return t('viewer.errors.server', { message: error instanceof Error ? error.message : String(error) });
}
