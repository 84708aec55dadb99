import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['tests/**/*.test.ts'],
    // The bot that tests spawn (`node bin/scalebot.js`) runs the compiled build: built here once, if stale.
    globalSetup: ['tests/build/global-setup.ts'],
    // Real Prometheus, sshd and PostgreSQL processes start inside tests: give them room on a 2-core machine.
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    maxWorkers: 2,
  },
});
