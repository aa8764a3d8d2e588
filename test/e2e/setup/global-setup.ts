// One cluster for the whole end-to-end run, shared by every test file:
// - default: the real test node on this machine (Linux + root), with the product running as `sandbox-storage run`;
// - SANDBOX_STORAGE_E2E_KUBECONFIG: a cluster where the chart is installed (deploy/kind/up.sh); the test images
//   (test/node/make-images.py) must be loadable there under SANDBOX_STORAGE_E2E_IMAGE_PREFIX.
// Anything else fails the run with one line saying why: a suite that cannot run must not pass.
import type { TestProject } from 'vitest/node';
import { resolveControlPlaneBinDir } from '../../harness/controlplane.ts';
import { realNodeUnavailableReason, startRealNode, testImages } from '../../harness/real-node.ts';
import type { E2eCluster } from './cluster-context.ts';
import { startLocalStack, systemNamespace } from './local-stack.ts';

/** An error whose whole report is its message: the reason, without a stack trace around it. */
function oneLineError(message: string): Error {
  const error = new Error(message);
  error.stack = message;
  return error;
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const installedKubeconfig = process.env.SANDBOX_STORAGE_E2E_KUBECONFIG;
  if (installedKubeconfig) {
    const prefix = process.env.SANDBOX_STORAGE_E2E_IMAGE_PREFIX ?? 'localhost/sandbox-storage-e2e';
    const images = Object.fromEntries(
      Object.entries(testImages).map(([key, reference]) => [key, reference.replace('localhost/sandbox-storage-e2e', prefix)]),
    ) as E2eCluster['images'];
    const cluster: E2eCluster = {
      mode: 'installed',
      kubeconfigPath: installedKubeconfig,
      kubectlPath: `${await resolveControlPlaneBinDir()}/kubectl`,
      systemNamespace: process.env.SANDBOX_STORAGE_E2E_NAMESPACE ?? systemNamespace,
      images,
      hostPathRoot: '/tmp/sandbox-storage-e2e',
    };
    project.provide('e2eCluster', cluster);
    return async () => undefined;
  }

  const unavailable = realNodeUnavailableReason();
  if (unavailable) {
    throw oneLineError(`e2e: ${unavailable}; set SANDBOX_STORAGE_E2E_KUBECONFIG to run the suite against an installed cluster instead`);
  }
  const node = await startRealNode();
  process.stderr.write(`[real node] Ready in ${(node.timings.nodeReadyMs / 1000).toFixed(1)} s (binaries and images ${(node.timings.prerequisitesMs / 1000).toFixed(1)} s)\n`);
  let stack;
  try {
    stack = await startLocalStack(node, testImages.busybox);
  } catch (error) {
    await node.stop();
    throw error;
  }
  const cluster: E2eCluster = {
    mode: 'local-node',
    kubeconfigPath: node.kubeconfigPath,
    kubectlPath: node.kubectlPath,
    systemNamespace,
    images: testImages,
    hostPathRoot: `${node.runDir}/volumes/static`,
  };
  project.provide('e2eCluster', cluster);
  return async () => {
    await stack.stop();
    await node.stop();
    const left = node.leftovers();
    if (Object.values(left).some((entries) => entries.length > 0)) {
      throw new Error(`the real node left things behind: ${JSON.stringify(left)}`);
    }
  };
}
