import { defineConfig } from 'vitest/config';

// End-to-end suite against an installed cluster (deploy/kind/up.sh runs it): not part of `npm test`, which has
// no cluster with a kubelet; run with SANDBOX_STORAGE_E2E_KUBECONFIG pointing at the cluster.
export default defineConfig({
  test: {
    include: ['test/e2e/**/*.e2e.ts'],
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 180_000,
  },
});
