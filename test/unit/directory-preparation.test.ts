// Directory preparation: the plan per identity, the preparation script executed for real in temporary directories
// (as root, and as the identity's own unprivileged uid for NFS with root_squash), and the Pod spec shape.
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { chmodSync, lchownSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  buildPreparationPod,
  preparationFailure,
  preparationKey,
  preparationPlan,
  preparationPodFor,
  preparationScript,
  sandboxOwner,
  type PreparationPlan,
  type PreparationTarget,
} from '../../src/controller/directory-preparation.ts';
import { directoryNameForId } from '../../src/naming/identity-names.ts';
import { policyFrom } from '../fixtures/pods.ts';
import { findBusybox } from '../harness/seed-runner.ts';

const isRoot = process.getuid?.() === 0;
const busybox = findBusybox();
const sharedPolicy = policyFrom({
  mode: 'shared',
  shared: {
    claimName: 'sandbox-shared',
    mounts: [
      { subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox' },
      { subPath: 'users/{user}/skills', mountPath: '/skills', readOnly: true },
    ],
  },
});

const temporaryDirectories: string[] = [];
afterEach(() => {
  for (const directory of temporaryDirectories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function share(): string {
  const directory = mkdtempSync(join(tmpdir(), 'prepare-'));
  chmodSync(directory, 0o755);
  temporaryDirectories.push(directory);
  return directory;
}

function owner(path: string): string {
  const stats = lstatSync(path);
  return `${stats.uid}:${stats.gid} ${(stats.mode & 0o7777).toString(8).padStart(4, '0')}`;
}

function runPreparation(env: Record<string, string>, wrapper: string[] = [], shell: string[] = ['/bin/sh']): SpawnSyncReturns<string> {
  const argv = [...wrapper, ...shell, '-c', preparationScript];
  return spawnSync(argv[0] as string, argv.slice(1), { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', ...env }, encoding: 'utf8' });
}

/** The script's environment as the Pod builder sets it, with the mount path replaced by a local directory. */
function envOf(plan: PreparationPlan, mountedAt: string, runAs: 'root' | 'identity', uid = 1234, gid = 1234): Record<string, string> {
  const pod = buildPreparationPod({ name: 'p', namespace: 'ns', claimName: 'c', plan, uid, gid, image: 'i', runAs });
  const env = Object.fromEntries((pod.spec?.containers[0]?.env ?? []).map((variable) => [variable.name, variable.value ?? '']));
  return { ...env, PREP_ROOT: mountedAt };
}

describe('preparationPlan', () => {
  it('shared mode: the identity prefix up to {user}, and every directory below it that sandboxes mount', () => {
    expect(preparationPlan(sharedPolicy, { user: 'Alice_Smith', thread: 't.1' })).toEqual({
      prefix: `users/${directoryNameForId('Alice_Smith')}`,
      directories: [`threads/${directoryNameForId('t.1')}/user-data`, 'skills'],
    });
  });

  it('workspace mode: a volume of its own, nothing to prepare on a share', () => {
    expect(preparationPlan(policyFrom({}), { user: 'alice', thread: 't1' })).toEqual({ prefix: '', directories: [] });
  });
});

const shells: Array<{ label: string; shell: string[]; available: boolean }> = [
  { label: 'dash', shell: ['/bin/sh'], available: true },
  { label: 'busybox sh', shell: [busybox ?? 'busybox', 'sh'], available: busybox !== undefined },
];

for (const { label, shell, available } of shells) {
  describe.skipIf(!available)(`preparation script under ${label}`, () => {
    const plan = preparationPlan(sharedPolicy, { user: 'alice', thread: 't1' });

    describe.skipIf(!isRoot)('as root (mounting only the prefix, which kubelet created as root)', () => {
      it('creates the directories owned by the sandbox uid:gid with mode 0700 and fixes the prefix itself', () => {
        const prefix = join(share(), 'users', 'alice');
        mkdirSync(prefix, { recursive: true }); // what kubelet does for a missing subPath: root-owned, 0755

        const result = runPreparation(envOf(plan, prefix, 'root'), [], shell);

        expect(result.status, result.stderr).toBe(0);
        expect(result.stdout).toBe(`sandbox-storage prepare: prepared 5 directories under ${prefix} for 1234:1234 (4 created)\n`);
        for (const path of ['', 'threads', 'threads/t1', 'threads/t1/user-data', 'skills']) {
          expect({ path, owner: owner(join(prefix, path)) }).toEqual({ path, owner: '1234:1234 0700' });
        }
        // Idempotent: a second run creates nothing and changes nothing.
        const again = runPreparation(envOf(plan, prefix, 'root'), [], shell);
        expect(again.stdout).toContain('(0 created)');
        expect(owner(join(prefix, 'threads', 't1', 'user-data'))).toBe('1234:1234 0700');
      });

      it('fixes directories a sandbox start already created as root, without touching their content', () => {
        const prefix = join(share(), 'users', 'alice');
        mkdirSync(join(prefix, 'threads', 't1', 'user-data'), { recursive: true });
        writeFileSync(join(prefix, 'threads', 't1', 'user-data', 'keep.txt'), 'data\n');
        const result = runPreparation(envOf(plan, prefix, 'root'), [], shell);
        expect(result.status, result.stderr).toBe(0);
        expect(owner(join(prefix, 'threads', 't1', 'user-data'))).toBe('1234:1234 0700');
        expect(owner(join(prefix, 'threads', 't1', 'user-data', 'keep.txt')).startsWith('0:0')).toBe(true);
      });

      it('refuses to work through a symlink planted in the path, and leaves its target alone', () => {
        const root = share();
        const prefix = join(root, 'users', 'alice');
        const elsewhere = join(root, 'elsewhere');
        mkdirSync(prefix, { recursive: true });
        mkdirSync(elsewhere);
        symlinkSync(elsewhere, join(prefix, 'threads'));
        const result = runPreparation(envOf(plan, prefix, 'root'), [], shell);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain(`sandbox-storage prepare: error: ${prefix}/threads is a symlink: refusing to prepare through it`);
        expect(readdirSync(elsewhere)).toEqual([]);
        expect(owner(elsewhere).startsWith('0:0')).toBe(true);
      });

      it('as the identity (setpriv uid/gid 1234, NFS root_squash): creates the prefix in a 1733 parent, owned by 1234', () => {
        const users = join(share(), 'users');
        mkdirSync(users);
        chmodSync(users, 0o1733);
        const setpriv = ['setpriv', '--reuid', '1234', '--regid', '1234', '--clear-groups'];

        const result = runPreparation(envOf(plan, users, 'identity'), setpriv, shell);

        expect(result.status, result.stderr).toBe(0);
        expect(result.stdout).toContain('(5 created)');
        for (const path of ['alice', 'alice/threads', 'alice/threads/t1/user-data', 'alice/skills']) {
          expect({ path, owner: owner(join(users, path)) }).toEqual({ path, owner: '1234:1234 0700' });
        }
      });

      it('as the identity: a directory root already made (kubelet under root_squash) is reported, not silently used', () => {
        const users = join(share(), 'users');
        mkdirSync(join(users, 'alice'), { recursive: true });
        chmodSync(users, 0o1733);
        lchownSync(join(users, 'alice'), 65534, 65534);
        const result = runPreparation(envOf(plan, users, 'identity'), ['setpriv', '--reuid', '1234', '--regid', '1234', '--clear-groups'], shell);
        expect(result.status).not.toBe(0);
        expect(result.stderr).toContain(`${users}/alice belongs to uid 65534, not 1234, and only root can change that`);
      });
    });

    it('rejects bad input with a clear error', () => {
      const root = share();
      for (const [env, message] of [
        [{ PREP_ROOT: 'relative', PREP_UID: '1', PREP_GID: '1' }, "PREP_ROOT must be an absolute path, got 'relative'"],
        [{ PREP_ROOT: root, PREP_UID: 'x', PREP_GID: '1' }, "PREP_UID must be a numeric user id, got 'x'"],
        [{ PREP_ROOT: root, PREP_UID: String(process.getuid?.() ?? 0), PREP_GID: '1', PREP_DIRS: '0700 ../escape' }, "bad path '../escape'"],
        [{ PREP_ROOT: root, PREP_UID: String(process.getuid?.() ?? 0), PREP_GID: '1', PREP_DIRS: '0700 /abs' }, "bad path '/abs'"],
      ] as Array<[Record<string, string>, string]>) {
        const result = runPreparation(env, [], shell);
        expect(result.status, message).not.toBe(0);
        expect(result.stderr).toContain(message);
      }
      expect(readdirSync(root)).toEqual([]);
    });
  });
}

describe('buildPreparationPod', () => {
  const plan = preparationPlan(sharedPolicy, { user: 'alice', thread: 't1' });

  it('as root: mounts only the identity prefix, keeps only the chown capabilities, no token, never restarts', () => {
    const pod = buildPreparationPod({ name: 'prepare-x', namespace: 'sandbox-storage-system', claimName: 'share-admin', plan, uid: 1000, gid: 2000, image: 'registry.example/sandbox-storage:0.1.0' });
    const container = pod.spec?.containers[0];
    expect(container?.volumeMounts).toEqual([{ name: 'share', mountPath: '/sandbox-storage/prepare', subPath: 'users/alice' }]);
    expect(container?.securityContext?.capabilities).toEqual({ drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER'] });
    expect(container?.env).toContainEqual({ name: 'PREP_DIRS', value: '0700 threads/t1/user-data\n0700 skills' });
    expect(container?.env).toContainEqual({ name: 'PREP_ROOT_MODE', value: '0700' });
    expect(pod.spec).toMatchObject({ restartPolicy: 'Never', automountServiceAccountToken: false, volumes: [{ name: 'share', persistentVolumeClaim: { claimName: 'share-admin' } }] });
  });

  it('as the identity: mounts the parent of the prefix and creates the prefix, restricted-compliant', () => {
    const pod = buildPreparationPod({ name: 'p', namespace: 'ns', claimName: 'c', plan, uid: 1000, gid: 2000, image: 'i', runAs: 'identity', mode: 0o750 });
    const container = pod.spec?.containers[0];
    expect(container?.volumeMounts).toEqual([{ name: 'share', mountPath: '/sandbox-storage/prepare', subPath: 'users' }]);
    expect(container?.env).toContainEqual({ name: 'PREP_DIRS', value: '0750 alice\n0750 alice/threads/t1/user-data\n0750 alice/skills' });
    expect(container?.env?.some((variable) => variable.name === 'PREP_ROOT_MODE')).toBe(false);
    expect(container?.securityContext).toMatchObject({ runAsUser: 1000, runAsGroup: 2000, runAsNonRoot: true, capabilities: { drop: ['ALL'] } });
  });
});

describe('sandboxOwner', () => {
  const pod = (podContext: Record<string, unknown>, containerContext?: Record<string, unknown>, name = 'sandbox') => ({
    spec: {
      securityContext: podContext,
      containers: [{ name: 'sidecar', image: 'i', securityContext: { runAsUser: 7 } }, { name, image: 'i', ...(containerContext ? { securityContext: containerContext } : {}) }],
    },
  });

  it("the sandbox container's settings win over the Pod's; the group falls back to fsGroup, then 0", () => {
    expect(sandboxOwner(pod({ runAsUser: 1000, runAsGroup: 2000 }, { runAsUser: 1001 }), 'sandbox')).toEqual({ uid: 1001, gid: 2000 });
    expect(sandboxOwner(pod({ runAsUser: 1000, fsGroup: 3000 }), 'sandbox')).toEqual({ uid: 1000, gid: 3000 });
    expect(sandboxOwner(pod({ runAsUser: 1000 }), 'sandbox')).toEqual({ uid: 1000, gid: 0 });
    // An empty container name means the first container, as in the policy.
    expect(sandboxOwner(pod({ runAsUser: 1000 }), '')).toEqual({ uid: 7, gid: 0 });
  });

  it('no uid anywhere: no owner to prepare for', () => {
    expect(sandboxOwner(pod({ runAsGroup: 2000, runAsNonRoot: true }), 'sandbox')).toBeUndefined();
  });
});

describe('preparation targets', () => {
  const target = (changes: Partial<PreparationTarget> = {}): PreparationTarget => ({
    namespace: 'sandbox-storage-system',
    claimName: 'admin-share',
    runAs: 'root',
    mode: '0700',
    plan: preparationPlan(sharedPolicy, { user: 'alice', thread: 't1' }),
    owner: { uid: 1000, gid: 2000 },
    ...changes,
  });

  it('one key per exact target: the same directories share it, a new thread, owner or mode does not', () => {
    expect(preparationKey(target())).toBe(preparationKey(target({ mode: '700' })));
    expect(preparationKey(target())).toBe(preparationKey(target({ plan: { ...target().plan, directories: [...target().plan.directories].reverse() } })));
    const others = [
      target({ plan: preparationPlan(sharedPolicy, { user: 'alice', thread: 't2' }) }),
      target({ plan: preparationPlan(sharedPolicy, { user: 'bob', thread: 't1' }) }),
      target({ owner: { uid: 1000, gid: 1000 } }),
      target({ mode: '0750' }),
      target({ runAs: 'identity' }),
      target({ claimName: 'other' }),
    ].map(preparationKey);
    expect(new Set([preparationKey(target()), ...others]).size).toBe(others.length + 1);
  });

  it('the Pod is named and labelled by the key, never restarts its container, and quotes its log on error', () => {
    const pod = preparationPodFor(target(), 'registry.example/ssw:1', { 'sandbox-storage.io/work-key': 'agents/team-share' });
    const key = preparationKey(target());
    expect(pod.metadata?.name).toBe(`sandbox-storage-prepare-${key}`);
    expect(pod.metadata?.name?.length).toBeLessThanOrEqual(63);
    expect(pod.metadata?.labels).toMatchObject({ 'sandbox-storage.io/preparation': key, 'sandbox-storage.io/purpose': 'prepare-directories' });
    expect(pod.metadata?.annotations).toEqual({ 'sandbox-storage.io/work-key': 'agents/team-share' });
    expect(pod.spec?.containers[0]).toMatchObject({ terminationMessagePolicy: 'FallbackToLogsOnError', image: 'registry.example/ssw:1' });
    expect(pod.spec?.containers[0]?.env).toContainEqual({ name: 'PREP_UID', value: '1000' });
  });

  it('a failure is told by the last line of the termination message, else the exit code, else the Pod status', () => {
    const failed = (terminated?: Record<string, unknown>, status: Record<string, unknown> = {}) => ({
      status: { phase: 'Failed', ...status, containerStatuses: terminated ? [{ name: 'prepare', state: { terminated } }] : [] },
    }) as never;
    expect(preparationFailure(failed({ exitCode: 1, message: 'first\nsandbox-storage prepare: error: cannot chown x\n' }))).toBe(
      'sandbox-storage prepare: error: cannot chown x',
    );
    expect(preparationFailure(failed({ exitCode: 137, reason: 'OOMKilled' }))).toBe('exit code 137 (OOMKilled)');
    expect(preparationFailure(failed(undefined, { reason: 'DeadlineExceeded', message: 'Pod was active too long' }))).toBe(
      'DeadlineExceeded: Pod was active too long',
    );
  });
});
