import { defineConfig } from 'vitest/config';

// The audit benchmark only (scripts/bench-audit.mjs): never part of `npm test`.
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['bench/**/*.bench-audit.ts'],
    environment: 'node',
    testTimeout: 1_800_000,
    hookTimeout: 120_000,
  },
});
