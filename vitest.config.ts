import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 30_000,
    // expect.poll waits for a condition, not for a time: its default deadline (1 s) failed tests on
    // a loaded machine; this one only names the condition that never came, inside the test's timeout.
    expect: { poll: { timeout: 20_000, interval: 20 } },
    pool: 'forks',
  },
});
