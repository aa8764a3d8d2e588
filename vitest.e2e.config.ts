import { defineConfig } from 'vitest/config';

// End-to-end suite on real Pods, one cluster for the whole run (test/e2e/setup/global-setup.ts): by default the real
// test node on this machine (Linux + root); with SANDBOX_STORAGE_E2E_KUBECONFIG a cluster where the chart is
// installed (deploy/kind/up.sh). Not part of `npm test`.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    globalSetup: ['test/e2e/setup/global-setup.ts'],
    // One node, 2 cores: files one after another.
    fileParallelism: false,
    testTimeout: 300_000,
    hookTimeout: 600_000,
  },
});
