import { defineConfig } from 'vitest/config';

// Benchmarks only (scripts/bench-scale.mjs): never part of `npm test` (test/**/*.test.ts).
export default defineConfig({
  test: {
    root: new URL('..', import.meta.url).pathname,
    include: ['bench/**/*.bench-run.ts'],
    environment: 'node',
    testTimeout: 600_000,
    hookTimeout: 60_000,
  },
});
