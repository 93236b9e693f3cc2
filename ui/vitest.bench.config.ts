import { resolve } from 'node:path';
import { defineConfig } from 'vitest/config';

// Browser benchmarks (bench/viewer): a real relay and Chromium, run by `make bench-viewer`.
export default defineConfig({
  test: {
    environment: 'node',
    globals: true,
    dir: resolve(import.meta.dirname, '../bench/viewer'),
    include: ['**/*.ts'],
    testTimeout: 600_000,
    hookTimeout: 60_000,
    fileParallelism: false,
  },
});
