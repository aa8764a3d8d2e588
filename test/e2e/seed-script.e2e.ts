// The seed script by reference on real Pods (configMap delivery, the default): the seed init container runs the
// script from the ConfigMap the controller created, and a script swapped in behind the controller's back is refused
// by the hash check inside the Pod — the init container fails with the reason as its termination message, and
// nothing of the swapped script runs.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { seedScriptConfigMapName, seedScriptVolumeName } from '../../src/admission/seed-script-delivery.ts';
import { seedScriptSha256 } from '../../src/admission/seed-script.ts';
import { seedContainerName } from '../../src/admission/seed-container.ts';
import { storageSchedulingGate } from '../../src/labels.ts';
import { impersonating } from '../harness/isolation.ts';
import { waitFor } from '../harness/wait.ts';
import { adminGroups, cluster, core, createNamespace, createPolicy, execOk, kubeConfig, kubectl, runPod, sandboxPod, waitUntilPolicyApplies } from './setup/cluster-context.ts';

const policy = {
  mode: 'workspace',
  workspace: { scope: 'thread', mountPath: '/sandbox', claimNamePrefix: 'sandbox-', size: '1Gi' },
  seed: { enabled: true, path: '/sandbox' },
  isolation: { requesters: { enforce: true, trustedGroups: adminGroups } },
};
const name = seedScriptConfigMapName();
/** Only the controller's own ServiceAccount may touch the ConfigMap (the validating webhook refuses cluster-admin). */
const asController = () =>
  impersonating(kubeConfig, { username: `system:serviceaccount:${cluster.systemNamespace}:sandbox-storage-webhook`, group: 'system:serviceaccounts' }).makeApiClient(k8s.CoreV1Api);
const testGate = 'e2e.sandbox-storage.io/hold';

describe('seed script delivered by ConfigMap', () => {
  let namespace: string;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    const created = await createNamespace('e2e-seed-script');
    namespace = created.name;
    cleanups.push(created.remove);
    cleanups.unshift(await createPolicy(`${namespace}-workspace`, namespace, policy));
    await waitUntilPolicyApplies(namespace, sandboxPod({ user: 'probe', thread: 'p' }));
  });

  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('the seed init container runs the script from the ConfigMap the controller created', async () => {
    const pod = await runPod(namespace, sandboxPod({ user: 'alice', thread: 't1' }));
    const podName = pod.metadata?.name ?? '';
    expect(pod.spec?.volumes).toContainEqual(expect.objectContaining({ name: seedScriptVolumeName, configMap: expect.objectContaining({ name }) }));
    const seed = pod.spec?.initContainers?.find((container) => container.name === seedContainerName);
    expect(JSON.stringify(seed?.command)).toContain(seedScriptSha256);
    expect(JSON.stringify(seed?.command).length).toBeLessThan(1_000);
    const configMap = await core.readNamespacedConfigMap({ namespace, name });
    expect(configMap.immutable).toBe(true);
    const live = await core.readNamespacedPod({ namespace, name: podName });
    expect(live.status?.initContainerStatuses?.[0]?.state?.terminated?.exitCode).toBe(0);
    const logs = await kubectl(['logs', '-n', namespace, podName, '-c', seedContainerName]);
    expect(logs.stdout).toMatch(/^sandbox-storage seed: first seed of volume at .*: added [1-9]\d*, /m);
    expect(await execOk(namespace, podName, 'cat /sandbox/README.md')).toBe('sandbox image version 1\n');
  });

});

// A namespace of its own: kubelet keeps an immutable ConfigMap it already mounted for other Pods of the node (it stops
// watching immutable objects), so the swap is seen only by a Pod whose ConfigMap the node has not mounted yet.
describe('seed script swapped behind the controller', () => {
  let namespace: string;
  const cleanups: Array<() => Promise<void>> = [];

  beforeAll(async () => {
    const created = await createNamespace('e2e-seed-swap');
    namespace = created.name;
    cleanups.push(created.remove);
    cleanups.unshift(await createPolicy(`${namespace}-workspace`, namespace, policy));
    await waitUntilPolicyApplies(namespace, sandboxPod({ user: 'probe', thread: 'p' }));
  });

  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('is refused by the hash check in the Pod: the seed container fails with the reason, the sandbox never starts', async () => {
    // Our own gate keeps the Pod off the node after the controller lifted its gate (the ConfigMap was fine then)...
    const body = sandboxPod({ user: 'bob', thread: 't1' });
    body.spec!.schedulingGates = [{ name: testGate }];
    const created = await core.createNamespacedPod({ namespace, body });
    const podName = created.metadata?.name ?? '';
    cleanups.unshift(async () => void (await core.deleteNamespacedPod({ namespace, name: podName, gracePeriodSeconds: 0 }).catch(() => undefined)));
    await waitFor(
      async () => !((await core.readNamespacedPod({ namespace, name: podName })).spec?.schedulingGates ?? []).some((gate) => gate.name === storageSchedulingGate),
      { description: 'the controller to lift its gate', timeoutMs: 60_000 },
    );
    // ...then the script is swapped: name and marks as ours, other content (only the controller's identity can).
    const original = await core.readNamespacedConfigMap({ namespace, name });
    expect(original.data?.['seed.sh']).toBeDefined();
    await asController().deleteNamespacedConfigMap({ namespace, name });
    await asController().createNamespacedConfigMap({
      namespace,
      body: { metadata: { name, labels: original.metadata?.labels ?? {} }, immutable: true, data: { 'seed.sh': 'touch /sandbox-storage/seed-target/pwned\n' } },
    });
    cleanups.unshift(async () => void (await asController().deleteNamespacedConfigMap({ namespace, name }).catch(() => undefined)));
    const released = await kubectl(['patch', 'pod', '-n', namespace, podName, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/schedulingGates/0' }])]);
    expect(released.code, released.stderr).toBe(0);

    const terminated = await waitFor(
      async () => {
        const status = (await core.readNamespacedPod({ namespace, name: podName })).status?.initContainerStatuses?.[0];
        return status?.state?.terminated ?? status?.lastState?.terminated;
      },
      { description: 'the seed init container to end', timeoutMs: 120_000, intervalMs: 500 },
    );
    const refusal = `sandbox-storage seed: not run: /sandbox-storage/seed-script/seed.sh is not the seed script of SHA-256 ${seedScriptSha256}\n`;
    expect(terminated.message).toBe(refusal);
    expect(terminated.exitCode).toBe(1);
    // The wrapper's refusal is all the container said: it exits before running any of the file.
    const logsOf = async (...extra: string[]) => (await kubectl(['logs', '-n', namespace, podName, '-c', seedContainerName, ...extra])).stdout;
    // The container may already be waiting to restart: then the log is the previous run's.
    expect((await logsOf()) || (await logsOf('--previous'))).toBe(refusal);
    const live = await core.readNamespacedPod({ namespace, name: podName });
    expect(live.status?.containerStatuses?.[0]?.state?.running).toBeUndefined();
  });
});
