import { resolve } from 'node:path';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vitest/config';

// Two entries: `studio.html` is loaded by the Tauri window, `viewer.html` is embedded in and
// served by the relay at `/` and `/live/{id}`.
export default defineConfig({
  plugins: [react()],
  base: '/',
  build: {
    outDir: 'dist',
    // hls.js (~580 kB) is its own chunk, loaded only when a viewer falls back to HLS.
    chunkSizeWarningLimit: 600,
    emptyOutDir: true,
    rollupOptions: {
      input: {
        studio: resolve(import.meta.dirname, 'studio.html'),
        viewer: resolve(import.meta.dirname, 'viewer.html'),
      },
    },
  },
  test: {
    environment: 'jsdom',
    include: ['src/**/*.test.{ts,tsx}'],
  },
});
