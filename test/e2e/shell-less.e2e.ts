// Sandbox images without a shell. The shell seeder cannot run in them: a Pod that says so gets a clear admission
// warning and runs unseeded. The imageVolume seeder mounts the image as an image volume (KEP-4639), which needs
// runtime support (containerd >= 2.1, CRI-O >= 1.31): where the node lacks it, the Pod must not start unseeded.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { imageHasShellAnnotation, seedContainerName } from '../../src/admission/seed-container.ts';
import { waitFor } from '../harness/wait.ts';
import { cluster, core, createNamespace, createPolicy, kubectl, runPod, sandboxPod, waitUntilPolicyApplies } from './setup/cluster-context.ts';

let namespace: string;
let imageVolumeNamespace: string;
let runtime = '';
const cleanups: Array<() => Promise<void>> = [];
const workspace = { scope: 'thread', mountPath: '/sandbox', claimNamePrefix: 'sandbox-', size: '1Gi' };

function shellLessPod(user: string): k8s.V1Pod {
  const pod = sandboxPod({ user, thread: 't1', image: cluster.images.shellLess });
  const container = pod.spec?.containers[0] as k8s.V1Container;
  // The image's own entrypoint (catatonit): there is no sleep, no sh.
  delete container.command;
  return pod;
}

/** containerd before 2.1 has no image volumes. */
function lacksImageVolumes(runtimeVersion: string): boolean {
  const match = /^containerd:\/\/v?(\d+)\.(\d+)/.exec(runtimeVersion);
  return match !== null && (Number(match[1]) < 2 || (Number(match[1]) === 2 && Number(match[2]) < 1));
}

beforeAll(async () => {
  const shell = await createNamespace('e2e-shell-less');
  namespace = shell.name;
  cleanups.push(shell.remove);
  cleanups.unshift(await createPolicy(`${namespace}-shell`, namespace, { mode: 'workspace', workspace, seed: { enabled: true, path: '/sandbox' } }));
  const volume = await createNamespace('e2e-image-volume');
  imageVolumeNamespace = volume.name;
  cleanups.push(volume.remove);
  cleanups.unshift(
    await createPolicy(`${imageVolumeNamespace}-image-volume`, imageVolumeNamespace, {
      mode: 'workspace',
      workspace,
      seed: { enabled: true, path: '/sandbox', source: 'imageVolume', seederImage: cluster.images.busybox },
    }),
  );
  await waitUntilPolicyApplies(namespace, sandboxPod({ user: 'probe', thread: 'p' }));
  await waitUntilPolicyApplies(imageVolumeNamespace, sandboxPod({ user: 'probe', thread: 'p' }));
  const nodes = await core.listNode();
  runtime = nodes.items[0]?.status?.nodeInfo?.containerRuntimeVersion ?? '';
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe('shell-less sandbox images', () => {
  it('warns at admission that a Pod declaring a shell-less image is not seeded by the shell seeder, and runs it', async () => {
    const pod = shellLessPod('alice');
    pod.metadata = { ...pod.metadata, name: 'shell-less-alice', annotations: { [imageHasShellAnnotation]: 'false' } };
    delete pod.metadata.generateName;
    const created = await kubectl(['create', '-n', namespace, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...pod }));
    expect(created.code).toBe(0);
    expect(created.stderr).toContain('Warning: sandbox-storage: /sandbox is not seeded');
    expect(created.stderr).toContain('spec.seed.source: imageVolume');
    await waitFor(async () => (await core.readNamespacedPod({ namespace, name: 'shell-less-alice' })).status?.phase === 'Running', {
      description: 'the unseeded shell-less Pod to run',
      timeoutMs: 120_000,
      intervalMs: 250,
    });
  });

  it('with the imageVolume seeder, on a runtime without image volumes: the Pod does not start unseeded', async (context) => {
    if (!lacksImageVolumes(runtime)) context.skip(`runtime ${runtime} has image volumes: the next test covers it`);
    const created = await core.createNamespacedPod({ namespace: imageVolumeNamespace, body: shellLessPod('bob') });
    const name = created.metadata?.name ?? '';
    const seed = await waitFor(
      async () => {
        const live = await core.readNamespacedPod({ namespace: imageVolumeNamespace, name });
        return live.status?.initContainerStatuses?.find((status) => status.name === seedContainerName)?.state?.waiting?.reason === 'CreateContainerError' ? live : undefined;
      },
      { description: 'the seed container to fail creation', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(seed.status?.phase).toBe('Pending');
    expect(seed.status?.containerStatuses?.[0]?.state?.running).toBeUndefined();
  });

  it('with the imageVolume seeder, on a runtime with image volumes: seeds a shell-less image', async (context) => {
    if (lacksImageVolumes(runtime)) context.skip(`runtime ${runtime} has no image volume support (containerd >= 2.1 needed)`);
    const pod = await runPod(imageVolumeNamespace, shellLessPod('carol'));
    expect(pod.metadata?.name).toBeDefined();
  });
});

// The node's runtime is known only after beforeAll; report a runtime without image volumes where it is decided.
afterAll(() => {
  if (lacksImageVolumes(runtime)) {
    process.stderr.write(
      `shell-less e2e: ${runtime} has no image volume support (containerd >= 2.1 needed): imageVolume seeding was not run; ` +
        'the product does not detect this itself, the seed init container just fails with CreateContainerError\n',
    );
  }
});
