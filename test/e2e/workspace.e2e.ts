// Workspace mode on real Pods, in an ordinary namespace and in one enforcing the `restricted` Pod Security level:
// the sandbox runs with /sandbox seeded from its image, owned by its user and writable; the data outlives the Pod;
// other threads and other users see none of it; a new image version is merged without losing the user's edits.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { workspaceClaimName } from '../../src/naming/identity-names.ts';
import { waitFor } from '../harness/wait.ts';
import { adminGroups, cluster, core, createNamespace, createPolicy, deletePod, execOk, runPod, sandboxPod, waitUntilPolicyApplies } from './setup/cluster-context.ts';
import { storageSchedulingGate } from '../../src/labels.ts';

const claimPrefix = 'sandbox-';
const workspacePolicy = {
  mode: 'workspace',
  workspace: { scope: 'thread', mountPath: '/sandbox', claimNamePrefix: claimPrefix, size: '1Gi' },
  seed: { enabled: true, path: '/sandbox' },
  isolation: { requesters: { enforce: true, trustedGroups: adminGroups } },
};

/** Every entry below /sandbox as "uid type path" (type: f, d, l), sorted; the seed record excluded. */
const listing = 'cd /sandbox && find . -mindepth 1 ! -name ".sandbox-storage-seeded*" -exec stat -c "%u %F %n" {} + | sed "s/regular empty file/regular file/" | sort -k3';

const variants: Array<{ title: string; namespaceLabels: Record<string, string> }> = [
  { title: 'an ordinary namespace', namespaceLabels: {} },
  { title: 'a namespace enforcing Pod Security restricted', namespaceLabels: { 'pod-security.kubernetes.io/enforce': 'restricted' } },
];
for (const variant of variants) {
  describe(`workspace mode in ${variant.title}`, () => {
    let namespace: string;
    const cleanups: Array<() => Promise<void>> = [];

    beforeAll(async () => {
      const created = await createNamespace('e2e-workspace', variant.namespaceLabels);
      namespace = created.name;
      cleanups.push(created.remove);
      cleanups.unshift(await createPolicy(`${namespace}-workspace`, namespace, workspacePolicy));
      await waitUntilPolicyApplies(namespace, sandboxPod({ user: 'probe', thread: 'p' }));
    });

    afterAll(async () => {
      for (const cleanup of cleanups) await cleanup();
    });

    it('holds the Pod behind the scheduling gate until its PVC exists, then runs it with /sandbox seeded, owned by its user and writable', async () => {
      const created = await core.createNamespacedPod({ namespace, body: sandboxPod({ user: 'alice', thread: 't1' }) });
      const name = created.metadata?.name ?? '';
      expect((created.spec?.schedulingGates ?? []).map((gate) => gate.name)).toContain(storageSchedulingGate);
      await waitFor(async () => ((await core.readNamespacedPod({ namespace, name })).spec?.schedulingGates ?? []).length === 0, {
        description: 'the scheduling gate to be removed',
        timeoutMs: 60_000,
      });
      // The gate went only once the PVC was there.
      const claim = await core.readNamespacedPersistentVolumeClaim({ namespace, name: workspaceClaimName(claimPrefix, { scope: 'thread', user: 'alice', thread: 't1' }) });
      expect(claim.metadata?.name).toBeDefined();
      await deletePod(namespace, name);

      const pod = await runPod(namespace, sandboxPod({ user: 'alice', thread: 't1' }));
      const podName = pod.metadata?.name ?? '';
      const files = await execOk(namespace, podName, listing);
      expect(files.trim().split('\n')).toEqual(
        expect.arrayContaining([
          '1000 regular file ./.profile',
          '1000 directory ./.config',
          '1000 regular file ./.config/agent/settings.json',
          '1000 regular file ./README.md',
          '1000 directory ./bin',
          '1000 regular file ./bin/run-task',
          '1000 symbolic link ./latest',
          '1000 regular file ./notes/todo.txt',
          '1000 regular file ./vendor/root-owned.txt',
          '1000 regular file ./vendor/other-owner.txt',
        ]),
      );
      // Everything, whatever its owner in the image, belongs to the Pod's runAsUser.
      expect(files.trim().split('\n').filter((line) => !line.startsWith('1000 '))).toEqual([]);
      expect(await execOk(namespace, podName, 'readlink /sandbox/latest; /sandbox/bin/run-task; cat /sandbox/README.md')).toBe(
        'README.md\ntask ran\nsandbox image version 1\n',
      );
      // The image's owner-only directory stays owner-only. (A setgid bit may come on top: subdirectories inherit it
      // from a volume root that kubelet gave to the fsGroup.)
      const configMode = Number.parseInt((await execOk(namespace, podName, 'stat -c %a /sandbox/.config')).trim(), 8);
      expect((configMode & 0o777).toString(8)).toBe('700');
      expect(await execOk(namespace, podName, 'id -u; echo mine > /sandbox/mine.txt && cat /sandbox/mine.txt')).toBe('1000\nmine\n');
    });

    it('keeps what the user wrote across delete and recreate of the Pod', async () => {
      const before = await runPod(namespace, sandboxPod({ user: 'bea', thread: 't1' }));
      await execOk(namespace, before.metadata?.name ?? '', 'mkdir -p /sandbox/work && echo "kept across pods" > /sandbox/work/result.txt');
      await deletePod(namespace, before.metadata?.name ?? '');
      const after = await runPod(namespace, sandboxPod({ user: 'bea', thread: 't1' }));
      expect(await execOk(namespace, after.metadata?.name ?? '', 'cat /sandbox/work/result.txt; stat -c %u /sandbox/work/result.txt')).toBe('kept across pods\n1000\n');
    });

    it('shows another thread of the user, and another user, none of it', async () => {
      const owner = await runPod(namespace, sandboxPod({ user: 'cem', thread: 't1' }));
      await execOk(namespace, owner.metadata?.name ?? '', 'echo secret > /sandbox/private.txt');
      for (const [user, thread] of [['cem', 't2'], ['dana', 't1']] as const) {
        const other = await runPod(namespace, sandboxPod({ user, thread }));
        // Seeded from the image like any workspace, but its own: no file of cem's thread t1.
        expect(await execOk(namespace, other.metadata?.name ?? '', 'cat /sandbox/README.md; ls -A /sandbox | grep -c private.txt || true')).toBe('sandbox image version 1\n0\n');
        await deletePod(namespace, other.metadata?.name ?? '');
      }
      await deletePod(namespace, owner.metadata?.name ?? '');
    });

    it('merges image version 2: adds its new files, updates untouched ones, keeps edits and deletions', async () => {
      const v1 = await runPod(namespace, sandboxPod({ user: 'eli', thread: 't1' }));
      await execOk(namespace, v1.metadata?.name ?? '', 'echo "my edit" > /sandbox/edit-me.txt && rm /sandbox/notes/todo.txt');
      await deletePod(namespace, v1.metadata?.name ?? '');
      const v2 = await runPod(namespace, sandboxPod({ user: 'eli', thread: 't1', image: cluster.images.sandbox2 }));
      const name = v2.metadata?.name ?? '';
      const state = await execOk(
        namespace,
        name,
        'cd /sandbox; cat added-in-v2.txt README.md edit-me.txt; tools/new-tool; for f in notes/todo.txt obsolete.txt; do [ -e "$f" ] && echo "$f present" || echo "$f absent"; done; stat -c %u added-in-v2.txt tools/new-tool',
      );
      expect(state).toBe(
        [
          'new in version 2',
          'sandbox image version 2',
          'my edit',
          'new tool',
          // Deleted by the user: not resurrected, although version 2 changed it.
          'notes/todo.txt absent',
          // Dropped by the image: left in place (it may hold the user's work).
          'obsolete.txt present',
          '1000',
          '1000',
          '',
        ].join('\n'),
      );
    });
  });
}
