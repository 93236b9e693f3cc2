import { defineConfig } from 'vitest/config';

// End-to-end tests: a real relay process and a real (Debian) Chromium. Run after `cargo build`.
export default defineConfig({
  test: {
    environment: 'node',
    include: ['e2e/**/*.e2e.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
