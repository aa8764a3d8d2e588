import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { spawnSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { workspaceClaimName } from '../../src/naming/identity-names.ts';
import { parsePolicies, PolicyLoadError } from '../../src/policy/load.ts';
import { conflictsBetween, policySetConflicts, resolveConflicts } from '../../src/policy/policy-conflicts.ts';
import { watchPolicyFiles } from '../../src/policy/sources/file-source.ts';
import type { PolicySet } from '../../src/policy/sources/policy-set.ts';
import { desiredPolicyStatus } from '../../src/policy/status.ts';
import type { Policy } from '../../src/policy/types.ts';
import { validatePolicyDocument } from '../../src/policy/validate.ts';
import { waitFor } from '../harness/wait.ts';

const root = new URL('../..', import.meta.url).pathname;

function policyDocument(name: string, spec: Record<string, unknown>) {
  return { apiVersion: 'sandbox-storage.io/v1alpha1', kind: 'SandboxStoragePolicy', metadata: { name }, spec };
}

function shared(name: string, claimName: string, subPaths: string[], extra: Record<string, unknown> = {}) {
  return policyDocument(name, {
    mode: 'shared',
    seed: { enabled: false },
    shared: { claimName, mounts: subPaths.map((subPath, index) => ({ subPath, mountPath: `/mnt/${index}` })) },
    ...extra,
  });
}

function policy(document: unknown): Policy {
  const result = validatePolicyDocument(document);
  if (!result.policy) throw new Error(JSON.stringify(result.errors));
  return result.policy;
}

describe('one policy', () => {
  it('refuses mounts whose templates collide, at the later mount, naming the other mount and colliding ids', () => {
    const result = validatePolicyDocument(shared('p', 'data', ['users/{user}', 'users/{user}-skills']));
    expect(result.errors).toEqual([
      {
        field: 'spec.shared.mounts[1].subPath',
        message:
          'Invalid value: "users/{user}-skills": collides with spec.shared.mounts[0].subPath "users/{user}": ' +
          'user "alice" here and user "alice-skills" there both get users/alice-skills',
      },
    ]);
  });

  it('refuses a user-wide mount beside a per-thread one', () => {
    const [error] = validatePolicyDocument(shared('p', 'data', ['users/{user}', 'users/{user}/threads/{thread}'])).errors;
    expect(error?.field).toBe('spec.shared.mounts[1].subPath');
    expect(error?.message).toContain('user "alice" thread "alice" gets users/alice/threads/alice here, inside users/alice of user "alice" (any thread) there');
  });

  it('accepts the example layout: per-thread data beside per-user skills', () => {
    expect(validatePolicyDocument(shared('p', 'data', ['users/{user}/threads/{thread}/user-data', 'users/{user}/skills'])).errors).toEqual([]);
  });

  it('leaves workspace policies alone (their shared mounts are unused)', () => {
    const document = policyDocument('w', { mode: 'workspace', shared: { mounts: [{ subPath: 'u/{user}', mountPath: '/a' }, { subPath: 'u/{user}/x', mountPath: '/b' }] } });
    expect(validatePolicyDocument(document).errors).toEqual([]);
  });
});

describe('policies that share a claim', () => {
  const alice = policy(shared('alice-home', 'data', ['users/{user}']));
  const skills = policy(shared('skills', 'data', ['users/{user}-skills']));

  it('conflict when their templates collide, naming the other policy and the templates', () => {
    expect(conflictsBetween(skills, alice)).toEqual([
      {
        field: 'spec.shared.mounts[0].subPath',
        message:
          'Invalid value: "users/{user}-skills": on claim "data" it collides with policy "alice-home" spec.shared.mounts[0].subPath ' +
          '"users/{user}": user "alice" here and user "alice-skills" there both get users/alice-skills',
      },
    ]);
    expect(conflictsBetween(alice, skills)).toHaveLength(1);
  });

  it('do not conflict on different claims, or when their namespaceSelectors cannot meet', () => {
    expect(conflictsBetween(skills, policy(shared('other', 'other-data', ['users/{user}'])))).toEqual([]);
    const teamA = policy(shared('a', 'data', ['users/{user}'], { namespaceSelector: { matchLabels: { team: 'a' } } }));
    const teamB = policy(shared('b', 'data', ['users/{user}-skills'], { namespaceSelector: { matchLabels: { team: 'b' } } }));
    expect(conflictsBetween(teamA, teamB)).toEqual([]);
    expect(conflictsBetween(teamA, skills)).toHaveLength(1);
  });

  it('do not conflict with the identical template (the same ids have the same owner)', () => {
    expect(conflictsBetween(policy(shared('copy', 'data', ['users/{user}'])), alice)).toEqual([]);
  });

  it('refuse a shared claim that has the shape of another policy workspace claim, either way round', () => {
    const workspace = policy(policyDocument('ws', { mode: 'workspace', workspace: { claimNamePrefix: 'sandbox-' } }));
    const claimName = workspaceClaimName('sandbox-', { scope: 'thread', user: 'alice', thread: 't1' });
    const lookalike = policy(shared('lookalike', claimName, ['users/{user}']));
    expect(conflictsBetween(lookalike, workspace)).toEqual([
      {
        field: 'spec.shared.claimName',
        message: `Invalid value: "${claimName}": has the shape of a workspace claim of policy "ws" (claimNamePrefix "sandbox-"), so the claim's owner would be ambiguous`,
      },
    ]);
    expect(conflictsBetween(workspace, lookalike).map((conflict) => conflict.field)).toEqual(['spec.workspace.claimNamePrefix']);
    expect(conflictsBetween(policy(shared('plain', 'sandbox-data', ['users/{user}'])), workspace)).toEqual([]);
  });

  it('do not refuse overlapping workspace prefixes (the proven owner decides)', () => {
    const a = policy(policyDocument('a', { mode: 'workspace', workspace: { claimNamePrefix: 'sandbox-' } }));
    const b = policy(policyDocument('b', { mode: 'workspace', workspace: { claimNamePrefix: 'sandbox-team-' } }));
    expect(conflictsBetween(a, b)).toEqual([]);
  });

  it('a file with both is refused as a whole', () => {
    const text = [shared('alice-home', 'data', ['users/{user}']), shared('skills', 'data', ['users/{user}-skills'])].map((d) => stringify(d)).join('---\n');
    expect(() => parsePolicies(text, 'both.yaml')).toThrow(PolicyLoadError);
    expect(() => parsePolicies(text, 'both.yaml')).toThrow('both.yaml: policy "skills": spec.shared.mounts[0].subPath: Invalid value');
    expect(policySetConflicts([alice, skills])).toHaveLength(1);
  });
});

describe('resolveConflicts (cluster policies)', () => {
  const older = { policy: policy(shared('zeta', 'data', ['users/{user}'])), createdAt: '2026-01-01T00:00:00Z' };
  const newer = { policy: policy(shared('alpha', 'data', ['users/{user}-skills'])), createdAt: '2026-02-01T00:00:00Z' };
  const unrelated = { policy: policy(shared('beta', 'elsewhere', ['users/{user}'])), createdAt: '2026-03-01T00:00:00Z' };

  it('serves the older policy and refuses the newer, whatever the order given', () => {
    for (const order of [[older, newer, unrelated], [unrelated, newer, older], [newer, unrelated, older]]) {
      const { serving, refused } = resolveConflicts(order);
      expect(serving.map((served) => served.name).sort()).toEqual(['beta', 'zeta']);
      expect([...refused.keys()]).toEqual(['alpha']);
      expect(refused.get('alpha')?.others).toEqual(['zeta']);
      expect(refused.get('alpha')?.message).toContain('policy "alpha": spec.shared.mounts[0].subPath');
    }
  });

  it('breaks a creation-time tie by name', () => {
    const tie = { ...newer, createdAt: older.createdAt };
    expect(resolveConflicts([older, tie]).serving.map((served) => served.name)).toEqual(['alpha']);
  });

  it('a policy refused does not refuse others in turn', () => {
    const third = { policy: policy(shared('gamma', 'data', ['users/{user}-skills-x'])), createdAt: '2026-04-01T00:00:00Z' };
    // gamma collides with alpha (refused) only if alpha served; with zeta it collides too ("alice-skills-x").
    const { refused } = resolveConflicts([older, newer, third]);
    expect(refused.get('gamma')?.others).toEqual(['zeta']);
  });

  it('the status of a refused policy: Ready=False and Invalid=True, reason ConflictsWithPolicy', () => {
    const { refused } = resolveConflicts([older, newer]);
    const conflict = refused.get('alpha')!;
    const status = desiredPolicyStatus(
      { name: 'alpha', origin: 'cluster', generation: 2, ready: false, error: conflict.message, conflictsWith: conflict.others },
      [older.policy],
      undefined,
      new Date('2026-05-01T00:00:00Z'),
    );
    expect(status.conditions).toEqual([
      { type: 'Ready', status: 'False', observedGeneration: 2, lastTransitionTime: '2026-05-01T00:00:00Z', reason: 'ConflictsWithPolicy', message: 'not serving: its storage would collide with older policy "zeta"' },
      { type: 'Invalid', status: 'True', observedGeneration: 2, lastTransitionTime: '2026-05-01T00:00:00Z', reason: 'ConflictsWithPolicy', message: conflict.message },
    ]);
  });
});

describe('policy files', () => {
  let directory: string | undefined;
  let set: PolicySet | undefined;
  afterEach(async () => {
    await set?.stop();
    set = undefined;
    if (directory) await rm(directory, { recursive: true, force: true });
  });

  it('validate checks the files together: exit 1 with the field path', async () => {
    directory = await mkdtemp(join(tmpdir(), 'sandbox-storage-conflicts-'));
    const first = join(directory, 'a.yaml');
    const second = join(directory, 'b.yaml');
    await writeFile(first, stringify(shared('alice-home', 'data', ['users/{user}'])));
    await writeFile(second, stringify(shared('skills', 'data', ['users/{user}-skills'])));
    const result = spawnSync(process.execPath, [join(root, 'src/cli.ts'), 'validate', first, second], { cwd: root, encoding: 'utf8' });
    expect(result.status).toBe(1);
    expect(result.stderr).toBe(
      'policy "skills": spec.shared.mounts[0].subPath: Invalid value: "users/{user}-skills": on claim "data" it collides with policy ' +
        '"alice-home" spec.shared.mounts[0].subPath "users/{user}": user "alice" here and user "alice-skills" there both get users/alice-skills\n',
    );
    const alone = spawnSync(process.execPath, [join(root, 'src/cli.ts'), 'validate', second], { cwd: root, encoding: 'utf8' });
    expect(alone.status).toBe(0);
  });

  it('a server refuses to start with conflicting files, and refuses a reload that brings a conflict', async () => {
    directory = await mkdtemp(join(tmpdir(), 'sandbox-storage-conflicts-'));
    const first = join(directory, 'a.yaml');
    const second = join(directory, 'b.yaml');
    await writeFile(first, stringify(shared('alice-home', 'data', ['users/{user}'])));
    await writeFile(second, stringify(shared('skills', 'data', ['users/{user}-skills'])));
    await expect(watchPolicyFiles([first, second], pino({ level: 'silent' }))).rejects.toThrow('on claim "data" it collides with policy');

    await writeFile(second, stringify(shared('skills', 'data', ['skills/{user}'])));
    set = await watchPolicyFiles([first, second], pino({ level: 'silent' }), 20);
    expect(set.current().map((served) => served.name)).toEqual(['alice-home', 'skills']);
    await writeFile(second, stringify(shared('skills', 'data', ['users/{user}-skills'])));
    await waitFor(() => set!.states().some((state) => !state.ready), { description: 'the conflicting reload to be refused', timeoutMs: 20_000 });
    const skills = set.states().find((state) => state.name === 'skills');
    expect(skills?.error).toContain(`${second}: policy "skills": spec.shared.mounts[0].subPath`);
    expect(set.current().find((served) => served.name === 'skills')?.spec.shared.mounts[0]?.subPath).toBe('skills/{user}');
  });
});
