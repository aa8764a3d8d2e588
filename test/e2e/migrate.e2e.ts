// `sandbox-storage migrate` on real Pods and real data: a legacy `threads/{thread}/user-data` layout with a mapping
// file and per-user claims found by name are moved into a shared policy's layout. Awkward ids and names, symlinks
// (inside and out of the tree), modes, owners, hard links, a larger tree and a user whose target already has data;
// sandbox Pods under the new policy then see exactly their own data; a second run changes nothing; a run killed
// halfway and rerun ends verified; the source is byte for byte what it was.
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import * as k8s from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { migrationPlanLabel, storageSchedulingGate } from '../../src/labels.ts';
import { migrationHoldKey } from '../../src/policy/migration-hold.ts';
import { recordsConfigMapName } from '../../src/kube/migration-records.ts';
import type { MigrationPlan } from '../../src/migrate/plan-file.ts';
import { release } from '../harness/helm.ts';
import { waitFor } from '../harness/wait.ts';
import { adminGroups, cluster, core, createNamespace, createPolicy, deletePod, execOk, kubectl, runPod, sandboxPod, waitUntilPolicyApplies } from './setup/cluster-context.ts';
import { copyScript } from '../../src/migrate/scripts.ts';
import { createSharedVolume, sharedPolicy } from './setup/shared-volume.ts';

const cli = new URL('../../src/cli.ts', import.meta.url).pathname;

interface CliResult {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function migrate(args: string[], options: { onSpawn?: (kill: () => void) => void } = {}): Promise<CliResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, 'migrate', ...args, `--kubeconfig=${cluster.kubeconfigPath}`], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString('utf8')));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString('utf8')));
    child.once('error', reject);
    child.once('close', (code, signal) => resolve({ code, signal, stdout, stderr }));
    options.onSpawn?.(() => child.kill('SIGKILL'));
  });
}

const jsonLines = (text: string) => text.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as Record<string, unknown>);

/** A claim on a static hostPath PV of its own (legacy data as a platform had it). */
async function createStaticClaim(namespace: string, claimName: string): Promise<() => Promise<void>> {
  const id = randomBytes(3).toString('hex');
  const pvName = `e2e-legacy-${id}`;
  await core.createPersistentVolume({
    body: {
      metadata: { name: pvName },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteMany'],
        persistentVolumeReclaimPolicy: 'Retain',
        storageClassName: '',
        claimRef: { namespace, name: claimName },
        hostPath: { path: `${cluster.hostPathRoot}/legacy-${namespace}-${id}`, type: 'DirectoryOrCreate' },
      },
    },
  });
  await core.createNamespacedPersistentVolumeClaim({
    namespace,
    body: { metadata: { name: claimName }, spec: { accessModes: ['ReadWriteMany'], storageClassName: '', volumeName: pvName, resources: { requests: { storage: '1Gi' } } } },
  });
  await waitFor(async () => (await core.readNamespacedPersistentVolumeClaim({ namespace, name: claimName })).status?.phase === 'Bound', {
    description: `PVC ${namespace}/${claimName} Bound`,
    timeoutMs: 60_000,
    intervalMs: 250,
  });
  return async () => {
    await core.deleteNamespacedPersistentVolumeClaim({ namespace, name: claimName }).catch(() => undefined);
    await core.deletePersistentVolume({ name: pvName }).catch(() => undefined);
  };
}

/** A root busybox Pod (container "sandbox", for exec) mounting claims by path; not a sandbox, so nothing is injected. */
function helperPod(mounts: Record<string, string>): k8s.V1Pod {
  const entries = Object.entries(mounts);
  return {
    metadata: { generateName: 'migrate-helper-' },
    spec: {
      terminationGracePeriodSeconds: 1,
      containers: [
        {
          name: 'sandbox',
          image: cluster.images.busybox,
          imagePullPolicy: 'IfNotPresent',
          command: ['sleep', '3600'],
          volumeMounts: entries.map(([path], index) => ({ name: `v${index}`, mountPath: path })),
        },
      ],
      volumes: entries.map(([, claimName], index) => ({ name: `v${index}`, persistentVolumeClaim: { claimName } })),
    },
  };
}

/** Every entry below DIR, never following links: type, mode, owner, size and mtime of files, content hashes, link targets, shared inodes. */
const manifest = (dir: string, exclude = '') => `cd '${dir}' && {
  find . ! -path './.sandbox-storage-migrated*' ${exclude} -exec stat -c '%F|%a|%u:%g|%n' {} + | sort
  find . -type f ! -path './.sandbox-storage-migrated*' ${exclude} -exec stat -c '%s|%Y|%n' {} + | sort
  find . -type f ! -path './.sandbox-storage-migrated*' ${exclude} -exec sha256sum {} + | sort -k 2
  find . -type l ${exclude} -exec sh -c 'for l; do echo "$l -> $(readlink "$l")"; done' sh {} + | sort
  find . -type f -links +1 ${exclude} -exec stat -c '%h|%n' {} + | sort
}`;

const legacyData = String.raw`set -eu
umask 022
t=/legacy/threads
mkdir -p "$t/t1/user-data/private" "$t/T_2/user-data" "$t/big/user-data" "$t/full/user-data" "$t/unmapped/user-data" /legacy/other
cd "$t/t1/user-data"
echo 'alice notes' > notes.txt && chmod 0640 notes.txt && chown 1000:1000 notes.txt
ln notes.txt hard-link
ln -s notes.txt relative-link
ln -s /etc/passwd absolute-link
ln -s ../../T_2/user-data/mine.txt escaping-link
echo secret > private/key && chmod 0600 private/key && chown -R 1000:1000 private && chmod 0700 private
echo odd > "we ird 'quoted' -n \$x.txt"
printf '#!/bin/sh\necho hi\n' > run.sh && chmod 0755 run.sh
mkfifo pipe
touch -d '2001-02-03 04:05:06' notes.txt
chown 1000:1000 .
echo 'Al.ice data' > "$t/T_2/user-data/mine.txt"
echo 'not migrated' > "$t/unmapped/user-data/lost.txt"
echo 'erin legacy' > "$t/full/user-data/old.txt"
echo 'not in the layout' > /legacy/other/x
cd "$t/big/user-data"
i=0
while [ $i -lt 40 ]; do
  mkdir "d$i"
  j=0
  while [ $j -lt 25 ]; do head -c 40000 /dev/urandom > "d$i/f$j"; j=$((j + 1)); done
  i=$((i + 1))
done
mkdir -p /share/users/erin/threads/full/user-data
echo 'erin new' > /share/users/erin/threads/full/user-data/already.txt
echo 'bob from his own claim' > /bob/bob.txt && ln -s bob.txt /bob/link
mkdir -p /dave/deep/er && echo dave > /dave/deep/er/d.txt
`;

describe('migrate on the real node', () => {
  let namespace: string;
  let policyName: string;
  let helper: string;
  let work: string;
  const cleanups: Array<() => Promise<void>> = [];
  let sourceBefore = '';
  let helperMounts: Record<string, string> = {};
  const startHelper = async () => (helper = (await runPod(namespace, helperPod(helperMounts))).metadata?.name ?? '');

  beforeAll(async () => {
    work = mkdtempSync(join(tmpdir(), 'migrate-e2e-'));
    cleanups.push(async () => rmSync(work, { recursive: true, force: true }));
    const created = await createNamespace('e2e-migrate');
    namespace = created.name;
    cleanups.unshift(created.remove);
    const volume = await createSharedVolume(namespace);
    cleanups.unshift(volume.remove);
    for (const claim of ['legacy-threads', 'legacy-user-bob', 'legacy-user-dave']) cleanups.unshift(await createStaticClaim(namespace, claim));
    policyName = `${namespace}-shared`;
    // The operator running migrate mounts claims' roots: like the platform's gateway, it is an exemption.
    const spec = sharedPolicy(volume, adminGroups);
    spec.isolation = { ...(spec.isolation as object), exemptions: { groups: adminGroups } };
    cleanups.unshift(await createPolicy(policyName, namespace, spec));
    await waitUntilPolicyApplies(namespace, sandboxPod({ user: 'probe', thread: 'p' }));
    helperMounts = { '/legacy': 'legacy-threads', '/bob': 'legacy-user-bob', '/dave': 'legacy-user-dave', '/share': volume.claimName };
    await startHelper();
    await execOk(namespace, helper, legacyData);
    sourceBefore = await execOk(namespace, helper, `${manifest('/legacy')}; ${manifest('/bob')}; ${manifest('/dave')}`);
    writeFileSync(join(work, 'mapping.csv'), 'thread,user\nt1,alice\nT_2,Al.ice\nbig,frank\nfull,erin\n');
  });

  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('plans every identity with its target from the policy, and names each conflict', async () => {
    const result = await migrate([
      'plan', `--namespace=${namespace}`, `--to=${policyName}`, '--from-claim=legacy-threads', '--from-path=threads/{thread}/user-data',
      `--mapping=${join(work, 'mapping.csv')}`, `--image=${cluster.images.busybox}`, `--output=${join(work, 'plan.yaml')}`,
    ]);
    expect(result.code, result.stderr).toBe(1);
    const plan = parseYaml(readFileSync(join(work, 'plan.yaml'), 'utf8')) as MigrationPlan;
    const byThread = Object.fromEntries(plan.items.map((item) => [item.thread, item]));
    expect(Object.keys(byThread).sort()).toEqual(['T_2', 'big', 'full', 't1', 'unmapped']);
    expect(byThread.t1).toMatchObject({ user: 'alice', target: { claim: 'sandbox-data', path: 'users/alice/threads/t1/user-data' }, conflicts: [] });
    expect(byThread.T_2).toMatchObject({ user: 'Al.ice', target: { path: 'users/_al.ice/threads/_t__2/user-data' }, conflicts: [] });
    expect(byThread.big?.files).toBe(40 * 26);
    expect(byThread.big?.kib).toBeGreaterThanOrEqual(40 * 25 * 39);
    expect(byThread.full?.conflicts).toEqual(['target sandbox-data:users/erin/threads/full/user-data is not empty (1 entries); nothing is written over data']);
    expect(byThread.unmapped?.conflicts).toEqual(['mapping missing: the mapping file has no user for thread "unmapped"']);
    expect(result.stdout).toMatch(/users\/alice\/threads\/t1\/user-data\s+10\s+\d+\s+to copy/);
  });

  it('refuses to start while a Pod of an identity to copy runs', async () => {
    const pod = await runPod(namespace, {
      metadata: { generateName: 'alice-busy-', labels: { 'sandbox-storage.io/user': 'alice', 'sandbox-storage.io/thread': 't1' } },
      spec: { terminationGracePeriodSeconds: 1, containers: [{ name: 'sandbox', image: cluster.images.busybox, imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }] },
    });
    const refused = await migrate(['run', `--plan=${join(work, 'plan.yaml')}`, `--image=${cluster.images.busybox}`]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain(`refusing to start: Pods use the data of identities to copy`);
    expect(refused.stderr).toContain(`alice/t1: ${pod.metadata?.name}`);
    await deletePod(namespace, pod.metadata?.name ?? '');
    const copies = await core.listNamespacedPod({ namespace, labelSelector: migrationPlanLabel });
    expect(copies.items).toEqual([]);
  });

  it('copies, verifies and records each identity; a second run changes nothing; the source is unchanged', async () => {
    const first = await migrate(['run', `--plan=${join(work, 'plan.yaml')}`, `--image=${cluster.images.busybox}`, '--parallel=2']);
    expect(first.code, first.stderr).toBe(1); // two identities have conflicts
    const lines = jsonLines(first.stdout);
    const byThread = Object.fromEntries(lines.map((line) => [line.thread, line]));
    expect(Object.fromEntries(lines.map((line) => [line.thread, line.result]))).toEqual({ t1: 'copied', T_2: 'copied', big: 'copied', full: 'conflict', unmapped: 'conflict' });
    expect(byThread.t1?.entries).toBe(10);
    expect(byThread.big?.entries).toBe(40 * 26);

    // Exactly the source's tree at each target (the share's directories are made by the copy, owned as the source's root).
    for (const [from, to] of [['threads/t1/user-data', 'users/alice/threads/t1/user-data'], ['threads/T_2/user-data', 'users/_al.ice/threads/_t__2/user-data'], ['threads/big/user-data', 'users/frank/threads/big/user-data']]) {
      expect(await execOk(namespace, helper, manifest(`/share/${to}`)), to).toBe(await execOk(namespace, helper, manifest(`/legacy/${from}`)));
    }
    expect(await execOk(namespace, helper, 'cat /share/users/erin/threads/full/user-data/already.txt; ls -A /share/users/erin/threads/full/user-data')).toBe('erin new\nalready.txt\n');

    const shareAfterFirst = await execOk(namespace, helper, manifest('/share', "! -path './users/*/threads/*/user-data/.sandbox-storage-migrated'"));
    const second = await migrate(['run', `--plan=${join(work, 'plan.yaml')}`, `--image=${cluster.images.busybox}`]);
    expect(second.code).toBe(1);
    expect(Object.fromEntries(jsonLines(second.stdout).map((line) => [line.thread, line.result]))).toEqual({ t1: 'skipped', T_2: 'skipped', big: 'skipped', full: 'conflict', unmapped: 'conflict' });
    expect(await execOk(namespace, helper, manifest('/share', "! -path './users/*/threads/*/user-data/.sandbox-storage-migrated'"))).toBe(shareAfterFirst);

    const status = await migrate(['status', `--plan=${join(work, 'plan.yaml')}`]);
    expect(status.code).toBe(1);
    expect(status.stdout).toMatch(/: 3 of 5 done, 0 failed, 0 copying, 0 pending, 2 with conflicts\n$/);
    expect(await execOk(namespace, helper, `${manifest('/legacy')}; ${manifest('/bob')}; ${manifest('/dave')}`)).toBe(sourceBefore);

    // For the note: a plain tar | tar of the larger tree, the copy script on it in the same running Pod (copy, both
    // manifests, renames, record), and the whole copy Pod of the run (start, copy, verify, end).
    const timed = async (run: () => Promise<unknown>) => {
      const started = Date.now();
      await run();
      return Date.now() - started;
    };
    const plain = await timed(() => execOk(namespace, helper, 'mkdir /share/bench && (cd /legacy/threads/big/user-data && tar -cf - .) | (cd /share/bench && tar -xpf -)'));
    const env = ['MIGRATE_SOURCE_ROOT=/legacy', 'MIGRATE_SOURCE_PATH=threads/big/user-data', 'MIGRATE_TARGET_ROOT=/share', 'MIGRATE_TARGET_PATH=bench-copy', 'MIGRATE_PLAN=benchbenchbenchbench', 'MIGRATE_KEY=benchbenchbenchbench', 'MIGRATE_RECORD=.sandbox-storage-migrated', 'MIGRATE_RESULT_FILE=/dev/null'];
    const script = await timed(async () => {
      const ran = await kubectl(['exec', '-i', '-n', namespace, helper, '-c', 'sandbox', '--', 'env', ...env, 'sh', '-s'], copyScript);
      expect(ran.code, ran.stderr).toBe(0);
    });
    await execOk(namespace, helper, 'rm -rf /share/bench /share/bench-copy');
    console.log(`throughput, ${byThread.big?.entries} entries (39 MiB): plain tar | tar ${plain} ms; copy script ${script} ms (${(script / plain).toFixed(1)}x); its copy Pod in the run ${byThread.big?.ms} ms`);
  });

  it('sandbox Pods under the new policy see exactly their own data, adopted by the seeder without overwriting', async () => {
    const alice = await runPod(namespace, sandboxPod({ user: 'alice', thread: 't1' }));
    const name = alice.metadata?.name ?? '';
    expect(await execOk(namespace, name, 'cat /sandbox/notes.txt /sandbox/private/key; readlink /sandbox/relative-link; readlink /sandbox/absolute-link; stat -c "%a %u" /sandbox/notes.txt /sandbox/private')).toBe(
      'alice notes\nsecret\nnotes.txt\n/etc/passwd\n640 1000\n700 1000\n',
    );
    const entries = (await execOk(namespace, name, 'ls -A /sandbox')).split('\n').filter(Boolean);
    const image = (await execOk(namespace, helper, 'ls -A /legacy/threads/t1/user-data')).split('\n').filter(Boolean);
    // Alice's own entries, the records, and what the image adds: nothing of another identity.
    expect(entries).toEqual(expect.arrayContaining([...image, '.sandbox-storage-migrated', '.sandbox-storage-seeded']));
    expect(entries).not.toContain('mine.txt');
    expect(entries).not.toContain('already.txt');
    // The seeder kept every migrated entry exactly as it was (the directory itself is the preparation's to own).
    const added = await seederAdditions(namespace, name, image);
    expect(await execOk(namespace, helper, manifest('/share/users/alice/threads/t1/user-data', `! -path . ! -path './.sandbox-storage-seeded*' ${added}`))).toBe(
      await execOk(namespace, helper, manifest('/legacy/threads/t1/user-data', '! -path .')),
    );
    await deletePod(namespace, name);

    const dotted = sandboxPod({ user: 'Al.ice', thread: 'T_2' });
    dotted.metadata = { ...dotted.metadata, generateName: 'sandbox-al-ice-' };
    const other = await runPod(namespace, dotted);
    expect(await execOk(namespace, other.metadata?.name ?? '', 'cat /sandbox/mine.txt; ls -A /sandbox | grep -c notes.txt || true')).toBe('Al.ice data\n0\n');
    await deletePod(namespace, other.metadata?.name ?? '');
  });

  it('claims found by name: a run killed halfway and rerun ends verified and complete', async () => {
    const planFile = join(work, 'by-claim.json');
    // The helper mounts bob's and dave's own claims: while it runs, run would (rightly) refuse.
    await deletePod(namespace, helper);
    const planned = await migrate([
      'plan', `--namespace=${namespace}`, `--to=${policyName}`, '--from-claim-pattern=legacy-user-{user}', '--thread=main', `--image=${cluster.images.busybox}`, '--format=json', `--output=${planFile}`,
    ]);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = JSON.parse(readFileSync(planFile, 'utf8')) as MigrationPlan;
    expect(plan.items.map((item) => [item.user, item.target?.path])).toEqual([['bob', 'users/bob/threads/main/user-data'], ['dave', 'users/dave/threads/main/user-data']]);

    // Killed once its first copy Pod exists: that Pod runs on, and the rerun takes it over.
    const killed = await migrate(['run', `--plan=${planFile}`, `--image=${cluster.images.busybox}`, '--parallel=1'], {
      onSpawn: (kill) =>
        void waitFor(async () => (await core.listNamespacedPod({ namespace, labelSelector: `${migrationPlanLabel}=${plan.metadata.id}` })).items.length > 0, {
          description: 'the first copy Pod',
          timeoutMs: 120_000,
          intervalMs: 50,
        }).then(kill),
    });
    expect(killed.signal).toBe('SIGKILL');
    const interrupted = await migrate(['status', `--plan=${planFile}`]);
    expect(interrupted.stdout).toMatch(/0 of 2 done, 0 failed, 1 copying, 1 pending/);
    const rerun = await migrate(['run', `--plan=${planFile}`, `--image=${cluster.images.busybox}`]);
    expect(rerun.code, rerun.stderr).toBe(0);
    expect(jsonLines(rerun.stdout).map((line) => [line.user, line.result]).sort()).toEqual([['bob', expect.stringMatching(/^(copied|done)$/)], ['dave', 'copied']]);
    await startHelper();
    expect(await execOk(namespace, helper, manifest('/share/users/bob/threads/main/user-data'))).toBe(await execOk(namespace, helper, manifest('/bob')));
    expect(await execOk(namespace, helper, manifest('/share/users/dave/threads/main/user-data'))).toBe(await execOk(namespace, helper, manifest('/dave')));
    expect(await execOk(namespace, helper, `${manifest('/legacy')}; ${manifest('/bob')}; ${manifest('/dave')}`)).toBe(sourceBefore);
  });

  it('another policy: its own subPath layout (encoded ids) into the new one', async () => {
    cleanups.unshift(await createStaticClaim(namespace, 'old-data'));
    const oldPolicy = `${namespace}-old`;
    cleanups.unshift(
      await createPolicy(oldPolicy, namespace, {
        mode: 'shared',
        podSelector: { matchLabels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/layout': 'old' } },
        shared: { claimName: 'old-data', mounts: [{ subPath: 'users/{user}/home', mountPath: '/sandbox' }] },
        isolation: { exemptions: { groups: adminGroups } },
      }),
    );
    const old = await runPod(namespace, helperPod({ '/old': 'old-data' }));
    const oldHelper = old.metadata?.name ?? '';
    // Bob_2 is `_bob__2` on disk; `Users` is no directory the old policy could have made (not canonical), so not an identity.
    await execOk(namespace, oldHelper, 'mkdir -p /old/users/_bob__2/home/sub /old/users/Users/home && echo b2 > /old/users/_bob__2/home/sub/f && ln -s sub/f /old/users/_bob__2/home/l && echo x > /old/users/Users/home/x');
    const before = await execOk(namespace, oldHelper, manifest('/old'));
    await deletePod(namespace, oldHelper);
    const planFile = join(work, 'from-policy.yaml');
    const planned = await migrate(['plan', `--namespace=${namespace}`, `--to=${policyName}`, `--from-policy=${oldPolicy}`, '--thread=main', `--image=${cluster.images.busybox}`, `--output=${planFile}`]);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = parseYaml(readFileSync(planFile, 'utf8')) as MigrationPlan;
    expect(plan.items.map((item) => [item.user, item.source, item.target?.path])).toEqual([['Bob_2', { claim: 'old-data', path: 'users/_bob__2/home' }, 'users/_bob__2/threads/main/user-data']]);
    const ran = await migrate(['run', `--plan=${planFile}`, `--image=${cluster.images.busybox}`]);
    expect(ran.code, ran.stderr).toBe(0);
    const check = await runPod(namespace, helperPod({ '/old': 'old-data' }));
    expect(await execOk(namespace, helper, manifest('/share/users/_bob__2/threads/main/user-data'))).toBe(await execOk(namespace, check.metadata?.name ?? '', manifest('/old/users/_bob__2/home')));
    expect(await execOk(namespace, check.metadata?.name ?? '', manifest('/old'))).toBe(before);
    await deletePod(namespace, check.metadata?.name ?? '');
  });

  it('another policy: workspace PVCs the controller made (proven by its key) into shared subPaths', async () => {
    const wsPolicy = `${namespace}-ws`;
    cleanups.unshift(
      await createPolicy(wsPolicy, namespace, {
        mode: 'workspace',
        podSelector: { matchLabels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/layout': 'ws' } },
        workspace: { scope: 'user', mountPath: '/sandbox', claimNamePrefix: 'ws-', size: '1Gi' },
        isolation: { exemptions: { groups: adminGroups } },
      }),
    );
    const pod = sandboxPod({ user: 'gina', thread: 'any', extraLabels: { 'sandbox-storage.io/layout': 'ws' } });
    // The shared policy selects the Pod too until the more specific workspace policy is served.
    await waitFor(
      async () => {
        const created = await core.createNamespacedPod({ namespace, body: structuredClone(pod), dryRun: 'All' });
        return (created.spec?.volumes ?? []).some((volume) => volume.persistentVolumeClaim?.claimName.startsWith('ws-'));
      },
      { description: 'the webhook to apply the workspace policy', timeoutMs: 60_000, intervalMs: 500 },
    );
    const gina = await runPod(namespace, pod);
    await execOk(namespace, gina.metadata?.name ?? '', 'mkdir -p /sandbox/work && echo "gina in her workspace" > /sandbox/work/g.txt && ln -s work/g.txt /sandbox/link');
    const claimName = gina.spec?.volumes?.find((volume) => volume.persistentVolumeClaim)?.persistentVolumeClaim?.claimName ?? '';
    await deletePod(namespace, gina.metadata?.name ?? '');
    expect(claimName).toMatch(/^ws-gina-/);

    const planFile = join(work, 'from-workspaces.yaml');
    // The chart names the key after its release; `sandbox-storage run` (local mode) keeps the default name.
    const keySecret = cluster.mode === 'local-node' ? `${cluster.systemNamespace}/sandbox-storage-ownership-key` : `${release.namespace}/${release.name}-ownership-key`;
    const planned = await migrate(['plan', `--namespace=${namespace}`, `--to=${policyName}`, `--from-policy=${wsPolicy}`, '--thread=main', `--image=${cluster.images.busybox}`, `--ownership-key-secret=${keySecret}`, `--output=${planFile}`]);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = parseYaml(readFileSync(planFile, 'utf8')) as MigrationPlan;
    // What gina's Pods mount at /sandbox: the workspace's home directory (docs/seeding.md, "The home directory").
    expect(plan.items.map((item) => [item.user, item.source, item.target?.path, item.conflicts])).toEqual([['gina', { claim: claimName, path: '.sandbox-storage-home' }, 'users/gina/threads/main/user-data', []]]);
    const ran = await migrate(['run', `--plan=${planFile}`, `--image=${cluster.images.busybox}`]);
    expect(ran.code, ran.stderr).toBe(0);
    const check = await runPod(namespace, helperPod({ '/ws': claimName }));
    // The home directory, exactly; the seed record beside it stays behind (the seeder of the new layout adopts the data).
    expect(await execOk(namespace, helper, manifest('/share/users/gina/threads/main/user-data', '! -path .'))).toBe(await execOk(namespace, check.metadata?.name ?? '', manifest('/ws/.sandbox-storage-home', '! -path .')));
    expect(await execOk(namespace, helper, 'cat /share/users/gina/threads/main/user-data/work/g.txt')).toBe('gina in her workspace\n');
    await deletePod(namespace, check.metadata?.name ?? '');
  });

  it('holds a new sandbox Pod of an identity being migrated behind the gate until that identity is done, then it runs on the migrated data', async () => {
    for (const claim of ['held-user-ivy', 'held-user-jack']) cleanups.unshift(await createStaticClaim(namespace, claim));
    const writer = await runPod(namespace, helperPod({ '/ivy': 'held-user-ivy', '/jack': 'held-user-jack' }));
    await execOk(namespace, writer.metadata?.name ?? '', 'echo "ivy legacy" > /ivy/ivy.txt && echo "jack legacy" > /jack/jack.txt');
    await deletePod(namespace, writer.metadata?.name ?? '');
    const planFile = join(work, 'held.yaml');
    const planned = await migrate(['plan', `--namespace=${namespace}`, `--to=${policyName}`, '--from-claim-pattern=held-user-{user}', '--thread=main', `--image=${cluster.images.busybox}`, `--output=${planFile}`]);
    expect(planned.code, planned.stderr).toBe(0);
    const plan = parseYaml(readFileSync(planFile, 'utf8')) as MigrationPlan;
    const holdKey = migrationHoldKey(plan.metadata.id);
    const holdOnPolicy = async () => {
      const got = await kubectl(['get', 'sandboxstoragepolicy', policyName, '-o', 'json']);
      return (JSON.parse(got.stdout) as k8s.KubernetesObject).metadata?.annotations?.[holdKey];
    };

    // Killed once its first copy Pod exists: the hold stays for both identities (that copy Pod runs on).
    const copies = () => core.listNamespacedPod({ namespace, labelSelector: `${migrationPlanLabel}=${plan.metadata.id}` });
    const killed = await migrate(['run', `--plan=${planFile}`, `--image=${cluster.images.busybox}`, '--parallel=1'], {
      onSpawn: (kill) => void waitFor(async () => (await copies()).items.length > 0, { description: 'the first copy Pod', timeoutMs: 120_000, intervalMs: 50 }).then(kill),
    });
    expect(killed.signal).toBe('SIGKILL');
    expect(JSON.parse((await holdOnPolicy()) ?? '{}')).toEqual({ namespace, identities: [['ivy', 'main'], ['jack', 'main']] });
    const status = await migrate(['status', `--plan=${planFile}`]);
    expect(status.stdout).toContain(`hold: 2 identities still held on policy ${policyName}`);
    expect(status.stdout).toContain(`kubectl annotate sandboxstoragepolicy ${policyName} ${holdKey}-`);

    // The identity whose copy has not started yet: its new sandbox Pod is admitted gated, with a warning, and waits.
    const started = (await copies()).items[0]?.metadata?.name ?? '';
    const waiting = plan.items.find((item) => !started.endsWith(item.key.slice(0, 10)));
    expect(waiting?.user).toMatch(/^(ivy|jack)$/);
    const user = waiting?.user ?? '';
    const podName = `held-${user}`;
    const body = sandboxPod({ user, thread: 'main' });
    body.metadata = { ...body.metadata, name: podName };
    delete body.metadata.generateName;
    const created = await kubectl(['create', '-n', namespace, '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'Pod', ...body }));
    expect(created.code, created.stderr).toBe(0);
    expect(created.stderr).toContain(`waits behind the scheduling gate until migration ${plan.metadata.id} into policy "${policyName}"`);
    const readPod = () => core.readNamespacedPod({ namespace, name: podName });
    await waitFor(async () => (await readPod()).status?.conditions?.find((condition) => condition.type === 'PodScheduled')?.reason === 'SchedulingGated', {
      description: `${podName} SchedulingGated`,
      timeoutMs: 60_000,
    });

    // The rerun does not count the gated Pod as in the way; the gate is lifted only after the identity is done.
    const rerun = migrate(['run', `--plan=${planFile}`, `--image=${cluster.images.busybox}`, '--parallel=1']);
    const recordWhenReleased = await waitFor(
      async () => {
        const pod = await readPod();
        if ((pod.spec?.schedulingGates ?? []).some((gate) => gate.name === storageSchedulingGate)) return undefined;
        const records = await core.readNamespacedConfigMap({ namespace, name: recordsConfigMapName(plan.metadata.id) });
        return { record: JSON.parse(records.data?.[waiting?.key ?? ''] ?? '{}') as { state?: string } };
      },
      { description: `the gate of ${podName} to be lifted`, timeoutMs: 180_000, intervalMs: 50 },
    );
    expect(recordWhenReleased.record.state).toBe('done');
    const finished = await rerun;
    expect(finished.code, finished.stderr).toBe(0);
    expect(await holdOnPolicy()).toBeUndefined();
    await waitFor(async () => (await readPod()).status?.phase === 'Running', { description: `${podName} Running`, timeoutMs: 120_000 });
    expect(await execOk(namespace, podName, `cat /sandbox/${user}.txt`)).toBe(`${user} legacy\n`);
    await deletePod(namespace, podName);
  });
});

/** find arguments leaving out what the seeder added: entries of the sandbox's /sandbox that the source did not have. */
async function seederAdditions(namespace: string, pod: string, sourceEntries: string[]): Promise<string> {
  const all = (await execOk(namespace, pod, 'cd /sandbox && find . -mindepth 1 -maxdepth 1')).split('\n').filter(Boolean);
  return all
    .map((path) => path.slice(2))
    .filter((entry) => !sourceEntries.includes(entry) && !entry.startsWith('.sandbox-storage-'))
    .map((entry) => `! -path './${entry}' ! -path './${entry}/*'`)
    .join(' ');
}
