/// <reference types="vitest/config" />
// Vite: dev server with /api (and the WebSocket) proxied to a running gateway, production build with one chunk per
// route, and Vitest (jsdom) for components and the API client.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import tailwindcss from '@tailwindcss/vite';

const gateway = process.env.DEVOPSTRACK_GATEWAY_URL ?? 'http://127.0.0.1:8080';

export default defineConfig({
  plugins: [react(), tailwindcss()],
  server: {
    host: '127.0.0.1',
    port: 5173,
    proxy: {
      '/api': { target: gateway, changeOrigin: false, ws: true },
    },
  },
  build: {
    target: 'es2022',
    sourcemap: false,
    manifest: true, // dist/.vite/manifest.json: what `npm run size` reads (the gateway never serves dot-directories)
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 600,
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['./src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    restoreMocks: true,
  },
});
