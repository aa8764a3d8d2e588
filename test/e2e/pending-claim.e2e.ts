// A workspace PVC that cannot be provisioned (its StorageClass does not exist): the sandbox Pod never starts, and
// the binder's reason reaches a Warning Event on the Pod, where `kubectl describe pod` shows it.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait.ts';
import { core, createNamespace, createPolicy, sandboxPod, waitUntilPolicyApplies } from './setup/cluster-context.ts';

let namespace: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  const created = await createNamespace('e2e-pending');
  namespace = created.name;
  cleanups.push(created.remove);
  cleanups.unshift(
    await createPolicy(`${namespace}-workspace`, namespace, {
      mode: 'workspace',
      workspace: { scope: 'thread', mountPath: '/sandbox', claimNamePrefix: 'sandbox-', size: '1Gi', storageClassName: 'no-such-class' },
      provisioning: { pendingWarningSeconds: 3 },
    }),
  );
  await waitUntilPolicyApplies(namespace, sandboxPod({ user: 'probe', thread: 'p' }));
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

describe('a workspace PVC that stays Pending', () => {
  it('keeps the sandbox from starting and reports the reason on the Pod', async () => {
    const created = await core.createNamespacedPod({ namespace, body: sandboxPod({ user: 'alice', thread: 't1' }) });
    const name = created.metadata?.name ?? '';
    const warning = await waitFor(
      async () => (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).items.find((event) => event.reason === 'WorkspacePending' && /no-such-class/.test(event.message ?? '') && /not found/.test(event.message ?? '')),
      { description: 'a WorkspacePending Event naming the missing StorageClass', timeoutMs: 120_000, intervalMs: 500 },
    );
    expect(warning.type).toBe('Warning');
    const pod = await core.readNamespacedPod({ namespace, name });
    expect(pod.status?.phase).toBe('Pending');
    expect(pod.spec?.nodeName ?? '').toBe('');
  });
});
