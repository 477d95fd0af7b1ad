import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    environment: 'node',
    // Fetches the real helm binary once (test/ship/helm.ts) for the chart tests.
    globalSetup: ['test/ship/helm-setup.ts'],
    testTimeout: 20000,
    hookTimeout: 20000,
    // The JSON report lets .ci/run print a plain "N passed, N failed" closing line.
    reporters: ['default', 'json'],
    outputFile: { json: '.vitest/report.json' },
  },
});
