// One cluster for the whole end-to-end run, shared by every test file:
// - default: the real test node on this machine (Linux + root), with the product running as `sandbox-storage run`;
// - SANDBOX_STORAGE_E2E_MODE=chart: the same node with the chart installed as a cluster admin installs it (the
//   project's image built locally, `helm install`, two replicas on the node's network); at the end `helm uninstall`
//   must leave the PVCs and a user's data in place;
// - SANDBOX_STORAGE_E2E_KUBECONFIG: a cluster where the chart is installed (deploy/kind/up.sh); the test images
//   (test/node/make-images.py) must be loadable there under SANDBOX_STORAGE_E2E_IMAGE_PREFIX.
// Anything else fails the run with one line saying why: a suite that cannot run must not pass.
import type { TestProject } from 'vitest/node';
import { resolveControlPlaneBinDir } from '../../harness/controlplane.ts';
import { release } from '../../harness/helm.ts';
import { realNodeUnavailableReason, startRealNode, testImages } from '../../harness/real-node.ts';
import { startChartStack } from './chart-stack.ts';
import type { E2eCluster } from './cluster-context.ts';
import { startLocalStack, systemNamespace } from './local-stack.ts';
import { writeUserData } from './uninstall-check.ts';

/** Who may create sandbox Pods for any user on the local node (its admin), as in cluster-context.ts. */
const localAdminGroups = ['system:masters'];
const localModes = ['process', 'chart'] as const;

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

  const localMode = process.env.SANDBOX_STORAGE_E2E_MODE || 'process';
  if (!(localModes as readonly string[]).includes(localMode)) {
    throw oneLineError(`e2e: SANDBOX_STORAGE_E2E_MODE must be one of ${localModes.join(', ')} (the product as a host process, or the chart installed on the node), got ${JSON.stringify(localMode)}`);
  }
  const unavailable = realNodeUnavailableReason();
  if (unavailable) {
    throw oneLineError(`e2e: ${unavailable}; set SANDBOX_STORAGE_E2E_KUBECONFIG to run the suite against an installed cluster instead`);
  }
  const node = await startRealNode();
  process.stderr.write(`[real node] Ready in ${(node.timings.nodeReadyMs / 1000).toFixed(1)} s (binaries and images ${(node.timings.prerequisitesMs / 1000).toFixed(1)} s)\n`);
  const log = (line: string) => process.stderr.write(`[real node] ${line}\n`);
  let stop: () => Promise<void>;
  try {
    if (localMode === 'chart') {
      const chart = await startChartStack(node, log);
      const { imageMs, installMs, readyMs } = chart.timings;
      log(`chart: image ${(imageMs / 1000).toFixed(1)} s, helm install ${(installMs / 1000).toFixed(1)} s, ready ${(readyMs / 1000).toFixed(1)} s after install`);
      stop = async () => {
        try {
          const check = await writeUserData(node, testImages.sandbox1, localAdminGroups);
          await chart.uninstall();
          await check.verify();
          log('helm uninstall kept the workspace PVC and the file a sandbox wrote into it');
        } finally {
          await chart.stop();
        }
      };
    } else {
      const stack = await startLocalStack(node, testImages.busybox);
      stop = () => stack.stop();
    }
  } catch (error) {
    await node.stop();
    throw error;
  }
  const cluster: E2eCluster = {
    mode: localMode === 'chart' ? 'local-chart' : 'local-node',
    kubeconfigPath: node.kubeconfigPath,
    kubectlPath: node.kubectlPath,
    systemNamespace: localMode === 'chart' ? release.namespace : systemNamespace,
    images: testImages,
    hostPathRoot: `${node.runDir}/volumes/static`,
  };
  project.provide('e2eCluster', cluster);
  return async () => {
    try {
      await stop();
    } finally {
      await node.stop();
    }
    const left = node.leftovers();
    if (Object.values(left).some((entries) => entries.length > 0)) {
      throw new Error(`the real node left things behind: ${JSON.stringify(left)}`);
    }
  };
}
