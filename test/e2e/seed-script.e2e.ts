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

  it('a script swapped in behind the controller is refused by the hash check in the Pod: nothing of it runs', async () => {
    // Our own gate keeps the Pod after the controller lifted its gate (the ConfigMap was fine then)...
    const body = sandboxPod({ user: 'bob', thread: 't1' });
    body.spec!.schedulingGates = [{ name: testGate }];
    const created = await core.createNamespacedPod({ namespace, body });
    const podName = created.metadata?.name ?? '';
    await waitFor(
      async () => !((await core.readNamespacedPod({ namespace, name: podName })).spec?.schedulingGates ?? []).some((gate) => gate.name === storageSchedulingGate),
      { description: 'the controller to lift its gate', timeoutMs: 60_000 },
    );
    // ...then the script is swapped: marks and name as ours, other content (only the controller's identity can).
    const original = await core.readNamespacedConfigMap({ namespace, name });
    await asController().deleteNamespacedConfigMap({ namespace, name });
    const tampered = 'touch /sandbox-storage/seed-target/pwned\n';
    await asController().createNamespacedConfigMap({
      namespace,
      body: { metadata: { name, labels: original.metadata?.labels ?? {} }, immutable: true, data: { 'seed.sh': tampered } },
    });
    cleanups.unshift(async () => void (await asController().deleteNamespacedConfigMap({ namespace, name }).catch(() => undefined)));
    await kubectl(['patch', 'pod', '-n', namespace, podName, '--type=json', '-p', JSON.stringify([{ op: 'remove', path: '/spec/schedulingGates/0' }])]).then((result) =>
      expect(result.code, result.stderr).toBe(0),
    );

    const terminated = await waitFor(
      async () => {
        const status = (await core.readNamespacedPod({ namespace, name: podName })).status?.initContainerStatuses?.[0];
        return status?.state?.terminated ?? status?.lastState?.terminated;
      },
      { description: 'the seed init container to fail', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(terminated.exitCode).toBe(1);
    expect(terminated.message).toBe(
      `sandbox-storage seed: not run: /sandbox-storage/seed-script/seed.sh is not the seed script of SHA-256 ${seedScriptSha256}\n`,
    );
    const live = await core.readNamespacedPod({ namespace, name: podName });
    expect(live.status?.containerStatuses?.[0]?.state?.running).toBeUndefined();
    // Nothing of the swapped script ran: a Pod of the same volume, once the script is ours again, finds no `pwned`.
    await core.deleteNamespacedPod({ namespace, name: podName, gracePeriodSeconds: 0 });
    await asController().deleteNamespacedConfigMap({ namespace, name });
    await asController().createNamespacedConfigMap({ namespace, body: { metadata: { name, labels: original.metadata?.labels ?? {} }, immutable: true, data: original.data ?? {} } });
    const again = await runPod(namespace, sandboxPod({ user: 'bob', thread: 't1' }));
    expect(await execOk(namespace, again.metadata?.name ?? '', 'ls -a /sandbox; test ! -e /sandbox/pwned && echo clean')).toContain('clean\n');
  });
});
