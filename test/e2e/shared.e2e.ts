// Shared mode on real Pods: each sandbox sees only its identity's subPaths of one shared volume, whose directories a
// directory-preparation Pod creates, owned by the sandbox user, before the sandbox starts; in an ordinary and in a
// `restricted` namespace (where nothing of the sandbox runs as root, so only the preparation can make them writable).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { waitFor } from '../harness/wait.ts';
import { adminGroups, core, createNamespace, createPolicy, deletePod, exec, execOk, runPod, sandboxPod, waitUntilPolicyApplies } from './setup/cluster-context.ts';
import { createSharedVolume, sharedPolicy } from './setup/shared-volume.ts';

const variants: Array<{ title: string; namespaceLabels: Record<string, string> }> = [
  { title: 'an ordinary namespace', namespaceLabels: {} },
  { title: 'a namespace enforcing Pod Security restricted', namespaceLabels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
];

for (const variant of variants) {
  describe(`shared mode with subPaths in ${variant.title}`, () => {
    let namespace: string;
    const cleanups: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      const created = await createNamespace('e2e-shared', variant.namespaceLabels);
      namespace = created.name;
      cleanups.push(created.remove);
      const volume = await createSharedVolume(namespace);
      cleanups.unshift(volume.remove);
      cleanups.unshift(await createPolicy(`${namespace}-shared`, namespace, sharedPolicy(volume, adminGroups)));
      await waitUntilPolicyApplies(namespace, sandboxPod({ user: 'probe', thread: 'p' }));
    });

    afterAll(async () => {
      for (const cleanup of cleanups) await cleanup();
    });

    it('prepares the identity directories with a real preparation Pod, owned by the sandbox user', async () => {
      const pod = await runPod(namespace, sandboxPod({ user: 'alice', thread: 't1' }));
      const name = pod.metadata?.name ?? '';
      const prepared = await waitFor(
        async () => (await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name}` })).items.find((event) => event.reason === 'DirectoriesPrepared'),
        { description: 'a DirectoriesPrepared Event on the sandbox Pod', timeoutMs: 30_000, intervalMs: 250 },
      );
      expect(prepared.type).toBe('Normal');
      // kubelet would have created a missing subPath as root: uid 1000 means the preparation Pod made it.
      expect(await execOk(namespace, name, 'stat -c %u /sandbox /skills; id -u; echo work > /sandbox/a.txt && cat /sandbox/a.txt')).toBe('1000\n1000\n1000\nwork\n');
      // The skills directory is mounted read-only.
      const write = await exec(namespace, name, 'touch /skills/x');
      expect(write.code).not.toBe(0);
      expect(write.stderr).toMatch(/Read-only file system/);
    });

    it('keeps the data across Pods and shows another thread and another user none of it', async () => {
      const first = await runPod(namespace, sandboxPod({ user: 'bob', thread: 't1' }));
      await execOk(namespace, first.metadata?.name ?? '', 'echo "bob t1" > /sandbox/note.txt');
      await deletePod(namespace, first.metadata?.name ?? '');
      const again = await runPod(namespace, sandboxPod({ user: 'bob', thread: 't1' }));
      expect(await execOk(namespace, again.metadata?.name ?? '', 'cat /sandbox/note.txt')).toBe('bob t1\n');
      for (const [user, thread] of [['bob', 't2'], ['carol', 't1']] as const) {
        const other = await runPod(namespace, sandboxPod({ user, thread }));
        // Its /sandbox is seeded from the image like any other, but holds nothing of bob's thread t1.
        expect(await execOk(namespace, other.metadata?.name ?? '', 'cat /sandbox/README.md; ls -A /sandbox | grep -c note.txt || true')).toBe('sandbox image version 1\n0\n');
        await deletePod(namespace, other.metadata?.name ?? '');
      }
    });
  });
}
