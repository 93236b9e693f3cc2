// What every studio component test needs: strings in zh-CN, and a clean DOM and IPC mock after
// each test.
import { cleanup } from '@testing-library/react';
import { clearMocks } from '@tauri-apps/api/mocks';
import { afterEach, beforeAll } from 'vitest';
import { initI18n } from '../i18n';

export function studioTestSetup(): void {
  beforeAll(() => {
    initI18n();
  });
  afterEach(async () => {
    cleanup();
    // Unmounting unlistens asynchronously; let that finish before the mocks are removed.
    await new Promise((resolve) => setTimeout(resolve, 0));
    clearMocks();
  });
}
