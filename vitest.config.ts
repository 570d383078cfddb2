import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'unit',
          include: ['__tests__/unit/**/*.test.ts'],
        },
      },
      {
        // Runs the committed bundles (dist/) as child processes, the way a runner does.
        test: {
          name: 'bundle',
          include: ['__tests__/bundle/**/*.test.ts'],
          testTimeout: 30_000,
        },
      },
      {
        // Real git repositories in temp directories and the local OpenAPI-checked GitHub server.
        test: {
          name: 'git',
          include: ['__tests__/git/**/*.test.ts'],
          testTimeout: 60_000,
        },
      },
      {
        // Against the real environment of scripts/test-env (kube-apiserver, Docker engine, registries).
        test: {
          name: 'integration',
          include: ['__tests__/integration/**/*.itest.ts'],
          globalSetup: ['test/env/global-setup.ts'],
          testTimeout: 300_000,
          hookTimeout: 600_000,
          fileParallelism: false,
        },
      },
    ],
  },
});
