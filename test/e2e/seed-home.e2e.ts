// /sandbox is the home directory the seeder makes, on real Pods in a namespace enforcing Pod Security `restricted`
// (where the seeder runs as the sandbox user and cannot chown the volume root kubelet made): owned by the Pod's
// uid, chmod-able, the seed record outside it; a volume of the earlier layout (the user's files at the volume root,
// seeded by the previous version's seeder) keeps every file; a symlink planted at the home name is not followed;
// and an upgrade that puts the image's new version beside a user's edit says so in a SeedConflicts Event.
import type * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeForKubelet, imageHasShellAnnotation } from '../../src/admission/seed-container.ts';
import { seedScript } from '../../src/admission/seed-script.ts';
import { waitFor } from '../harness/wait.ts';
import { adminGroups, cluster, core, createNamespace, createPolicy, deletePod, execOk, runPod, sandboxPod, waitUntilPolicyApplies } from './setup/cluster-context.ts';

const workspacePolicy = {
  mode: 'workspace',
  workspace: { scope: 'thread', mountPath: '/sandbox', claimNamePrefix: 'sandbox-', size: '1Gi' },
  seed: { enabled: true, path: '/sandbox' },
  isolation: { requesters: { enforce: true, trustedGroups: adminGroups } },
};

let namespace: string;
const cleanups: Array<() => Promise<void>> = [];

beforeAll(async () => {
  const created = await createNamespace('e2e-seed-home', { 'pod-security.kubernetes.io/enforce': 'restricted' });
  namespace = created.name;
  cleanups.push(created.remove);
  cleanups.unshift(await createPolicy(`${namespace}-workspace`, namespace, workspacePolicy));
  await waitUntilPolicyApplies(namespace, sandboxPod({ user: 'probe', thread: 'p' }));
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

/**
 * A Pod of the earlier layout: no seeder of ours (its image "has no shell"), so the workspace's root is at /sandbox,
 * and an init container of its own runs the previous version's seeder (the same script without SEED_HOME) there.
 */
function oldLayoutPod(user: string, afterSeed = 'true'): k8s.V1Pod {
  const pod = sandboxPod({ user, thread: 't1' });
  pod.metadata = { ...pod.metadata, annotations: { [imageHasShellAnnotation]: 'false' } };
  const script = `${seedScript}\n${afterSeed}\n`;
  pod.spec!.initContainers = [
    {
      name: 'previous-seeder',
      image: cluster.images.sandbox1,
      imagePullPolicy: 'IfNotPresent',
      command: ['/bin/sh', '-c', escapeForKubelet(script)],
      env: [
        { name: 'SEED_SOURCE', value: '/sandbox' },
        { name: 'SEED_TARGET', value: '/old-seed-target' },
        { name: 'SEED_SENTINEL', value: '.sandbox-storage-seeded' },
        { name: 'SEED_IMAGE', value: cluster.images.sandbox1 },
      ],
      volumeMounts: [{ name: 'sandbox-storage-workspace', mountPath: '/old-seed-target' }],
      securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
    },
  ];
  return pod;
}

/** Every entry below DIR as "uid type path", sorted. */
const listing = (dir: string, exclude = '') =>
  `cd ${dir} && find . -mindepth 1 ${exclude} -exec stat -c "%u %F %n" {} + | sed "s/regular empty file/regular file/" | sort -k3`;

describe('the home directory at /sandbox, Pod Security restricted', () => {
  it('/sandbox belongs to the Pod\'s user (the seeder made it before the sandbox started): chmod works, the record is outside it', async () => {
    const pod = await runPod(namespace, sandboxPod({ user: 'alice', thread: 't1' }));
    const name = pod.metadata?.name ?? '';
    const live = await core.readNamespacedPod({ namespace, name });
    expect(live.spec?.containers[0]?.volumeMounts).toContainEqual({ name: 'sandbox-storage-workspace', mountPath: '/sandbox', subPath: '.sandbox-storage-home' });
    // git's "dubious ownership" check is this comparison.
    const [owner, self] = (await execOk(namespace, name, 'stat -c %u /sandbox; id -u')).trim().split('\n');
    expect(owner).toBe(self);
    expect(owner).toBe('1000');
    expect(await execOk(namespace, name, 'chmod 700 /sandbox && stat -c %a /sandbox')).toBe('700\n');
    // What the seeder put there is what the sandbox sees (kubelet bound the directory after the seeder ran); the
    // record and the scratch space stay at the volume root, out of the user's reach.
    expect(await execOk(namespace, name, 'cat /sandbox/README.md; ls -A /sandbox | grep -c "^.sandbox-storage" || true')).toBe('sandbox image version 1\n0\n');
    await deletePod(namespace, name);
  });

  it('a volume of the earlier layout (the user\'s files at its root) keeps every file: the user sees the same tree', async () => {
    const old = await runPod(namespace, oldLayoutPod('bea'));
    const oldName = old.metadata?.name ?? '';
    await execOk(namespace, oldName, 'echo "my edit" > /sandbox/README.md; mkdir -p /sandbox/work/deep && echo result > /sandbox/work/deep/r.txt; rm /sandbox/notes/todo.txt; ln -s work/deep /sandbox/shortcut');
    const before = await execOk(namespace, oldName, listing('/sandbox', '! -name ".sandbox-storage-seeded*" ! -path "./lost+found*"'));
    expect(before).toContain('1000 regular file ./work/deep/r.txt');
    expect(await execOk(namespace, oldName, 'ls -A /sandbox')).toContain('.sandbox-storage-seeded');
    await deletePod(namespace, oldName);

    const upgraded = await runPod(namespace, sandboxPod({ user: 'bea', thread: 't1' }));
    const name = upgraded.metadata?.name ?? '';
    expect(await execOk(namespace, name, listing('/sandbox'))).toBe(before);
    expect(await execOk(namespace, name, 'cat /sandbox/README.md /sandbox/shortcut/r.txt; stat -c %u /sandbox')).toBe('my edit\nresult\n1000\n');
    await deletePod(namespace, name);
  });

  it('a symlink planted at the home name (by a Pod that mounts the volume root) is moved aside, never followed', async () => {
    // The earlier layout's Pod plants it: a link to a decoy directory of the volume with a file of its own.
    const old = await runPod(namespace, oldLayoutPod('cem'));
    const oldName = old.metadata?.name ?? '';
    await execOk(namespace, oldName, 'mkdir /sandbox/decoy && echo decoy > /sandbox/decoy/decoy.txt && ln -s decoy /sandbox/.sandbox-storage-home && ls -l /sandbox/.sandbox-storage-home');
    await deletePod(namespace, oldName);

    const pod = await runPod(namespace, sandboxPod({ user: 'cem', thread: 't1' }));
    const name = pod.metadata?.name ?? '';
    // /sandbox is a real directory (not the decoy): the decoy is a directory inside it, the link kept beside it.
    expect(await execOk(namespace, name, 'ls /sandbox/decoy.txt 2>/dev/null | wc -l; cat /sandbox/decoy/decoy.txt; readlink /sandbox/.sandbox-storage-home.displaced; stat -c %u /sandbox')).toBe(
      '0\ndecoy\ndecoy\n1000\n',
    );
    await deletePod(namespace, name);
  });

  it('sandbox:1 → sandbox:2 after the user edited a file both changed: the new version beside it, and a SeedConflicts Event', async () => {
    const v1 = await runPod(namespace, sandboxPod({ user: 'dana', thread: 't1' }));
    await execOk(namespace, v1.metadata?.name ?? '', 'echo "my readme" > /sandbox/README.md');
    await deletePod(namespace, v1.metadata?.name ?? '');
    const v2 = await runPod(namespace, sandboxPod({ user: 'dana', thread: 't1', image: cluster.images.sandbox2 }));
    const name = v2.metadata?.name ?? '';
    expect(await execOk(namespace, name, 'cat /sandbox/README.md /sandbox/README.md.sandbox-storage-new')).toBe('my readme\nsandbox image version 2\n');
    const live = await core.readNamespacedPod({ namespace, name });
    const seedStatus = live.status?.initContainerStatuses?.find((status) => status.name === 'sandbox-storage-seed');
    expect(seedStatus?.state?.terminated?.message).toBe('sandbox-storage-seed-report 1\nbeside=1 unplaced=0 retype=0 moved=0\nbeside: README.md\n');
    const event = await waitFor(
      async () => {
        const events = await core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name},reason=SeedConflicts` });
        return events.items[0] ?? false;
      },
      { description: 'the SeedConflicts Event on the Pod', timeoutMs: 60_000, intervalMs: 250 },
    );
    expect(event.type).toBe('Normal');
    expect(event.message).toBe(
      'the seeder kept 1 file(s) you changed that the image changed too; its new version is beside each as NAME.sandbox-storage-new: "README.md"',
    );
    expect(event.involvedObject.uid).toBe(live.metadata?.uid);
    await deletePod(namespace, name);
  });
});
