// The migration core without a cluster: source flags, legacy template inversion, the mapping file, plan items with
// their targets (from the webhook's own planStorage) and conflicts, the plan file, and the run record's states.
import { describe, expect, it } from 'vitest';
import { planStorage } from '../../src/admission/plan-storage.ts';
import { workspaceClaimName } from '../../src/naming/identity-names.ts';
import { parsePolicies } from '../../src/policy/load.ts';
import { layoutTemplate, layoutTemplateErrors, matchLayout } from '../../src/migrate/layout-template.ts';
import { parseMapping } from '../../src/migrate/mapping.ts';
import { formatPlan, parsePlan, type MigrationPlan } from '../../src/migrate/plan-file.ts';
import { applyTargetStates, itemKey, planId, planItems, sourceClaims, targetStateKey, type SourceEntry } from '../../src/migrate/plan.ts';
import { recheckPlan } from '../../src/migrate/recheck.ts';
import { itemAction, summarize, transition } from '../../src/migrate/records.ts';
import { podsInTheWay, type PodInUse } from '../../src/migrate/busy.ts';
import { distinctIdentities, heldIdentities } from '../../src/migrate/hold.ts';
import { parseCopyResult, parseInventory } from '../../src/migrate/scripts.ts';
import { parseSource, resolveSource, sourcePathIds } from '../../src/migrate/source.ts';
import type { ObservedClaim } from '../../src/admission/plan-types.ts';

const [shared] = parsePolicies(
  `apiVersion: sandbox-storage.io/v1alpha1
kind: SandboxStoragePolicy
metadata: {name: shared}
spec:
  mode: shared
  shared:
    claimName: sandbox-data
    mounts:
      - {subPath: "users/{user}/threads/{thread}/user-data", mountPath: /sandbox}
      - {subPath: "users/{user}/skills", mountPath: /skills, readOnly: true}
`,
  'shared.yaml',
) as [ReturnType<typeof parsePolicies>[number]];
const [perUser] = parsePolicies(
  `apiVersion: sandbox-storage.io/v1alpha1
kind: SandboxStoragePolicy
metadata: {name: per-user}
spec:
  mode: shared
  shared:
    claimName: sandbox-data
    mounts: [{subPath: "users/{user}/home", mountPath: /sandbox}]
`,
  'per-user.yaml',
) as [ReturnType<typeof parsePolicies>[number]];
const [workspace] = parsePolicies(
  `apiVersion: sandbox-storage.io/v1alpha1
kind: SandboxStoragePolicy
metadata: {name: ws}
spec:
  mode: workspace
  workspace: {claimNamePrefix: ws-, scope: user}
`,
  'ws.yaml',
) as [ReturnType<typeof parsePolicies>[number]];

const claim = (name: string, labels: Record<string, string> = {}): ObservedClaim => ({ name, labels, annotations: {}, deleting: false, requestedBytes: 0 });
const entry = (claimName: string, path: string, files = 1): SourceEntry => ({ claim: claimName, path, files, kib: files * 4 });
const options = (target = shared, extra: { mapping?: Map<string, string>; thread?: string } = {}) => ({ namespace: 'ns', target, targetMount: '/sandbox', ...extra });

describe('source flags', () => {
  it('reports every problem at once, each naming its flag', () => {
    expect(parseSource({}).errors).toEqual(['--from-policy, --from-claim, --from-claim-pattern: exactly one is required (got none)']);
    expect(parseSource({ 'from-policy': 'a', 'from-claim': 'b' }).errors[0]).toContain('got --from-policy, --from-claim');
    const bad = parseSource({ 'from-claim': 'legacy', 'from-path': '/threads/{thread}/{id}/../x' }).errors;
    expect(bad.join('\n')).toMatch(/--from-path: .*must be relative/);
    expect(bad.join('\n')).toMatch(/--from-path: .*unknown placeholder \{id\}/);
    expect(parseSource({ 'from-claim': 'legacy', 'from-path': 'data/{user}{thread}' }).errors.join('\n')).toMatch(/more than one placeholder/);
    expect(parseSource({ 'from-claim': 'legacy', 'from-path': 'data/static' }).errors).toEqual(['--from-path: Invalid value: "data/static": needs {user} or {thread}']);
    expect(parseSource({ 'from-claim-pattern': 'legacy-user' }).errors).toEqual(['--from-claim-pattern: Invalid value: "legacy-user": needs {user}']);
    expect(parseSource({ 'from-claim-pattern': 'a/{user}' }).errors.join('\n')).toMatch(/a claim name has no "\/"/);
    expect(parseSource({ 'from-claim-pattern': 'legacy-user-{user}', 'from-path': 'home/{thread}' }).errors.join('\n')).toMatch(/--from-path: .*fixed/);
    expect(parseSource({ 'from-policy': 'old', 'from-path': 'x' }).errors).toEqual(['--from-path: not with --from-policy (the policy says where its data is)']);
  });

  it('resolves a policy source to its claim and its own (encoded) layout', () => {
    const { source } = parseSource({ 'from-policy': 'per-user' });
    const { resolved } = resolveSource(source!, perUser);
    expect(resolved?.claims).toEqual({ fixed: 'sandbox-data' });
    expect(resolved?.path.encoding).toBe('encoded');
    expect(resolveSource(source!, undefined).errors).toEqual(['--from-policy: policy "per-user" not found']);
    expect(resolveSource({ kind: 'policy', policy: 'shared', mount: '/nowhere' }, shared).errors[0]).toMatch(/--from-mount: .*mounts \/sandbox, \/skills/);
  });
});

describe('legacy template inversion', () => {
  const legacy = layoutTemplate('threads/{thread}/user-data', 'raw');
  it('reads raw ids back, awkward ones included, and nothing else', () => {
    expect(matchLayout(legacy, 'threads/t1/user-data')).toEqual({ thread: 't1' });
    expect(matchLayout(legacy, 'threads/Al_ice.v2/user-data')).toEqual({ thread: 'Al_ice.v2' });
    expect(matchLayout(legacy, 'threads/ spaced name /user-data')).toEqual({ thread: ' spaced name ' });
    expect(matchLayout(legacy, 'threads/t1/other')).toBeUndefined();
    expect(matchLayout(legacy, 'threads/t1/user-data/deeper')).toBeUndefined();
    expect(matchLayout(layoutTemplate('legacy-user-{user}', 'raw'), 'legacy-user-')).toBeUndefined();
    expect(matchLayout(layoutTemplate('legacy-user-{user}', 'raw'), 'legacy-user-bob')).toEqual({ user: 'bob' });
  });
  it('reads an encoded layout with the webhook’s decoding: only canonical encodings match', () => {
    const encoded = layoutTemplate('users/{user}/home', 'encoded');
    expect(matchLayout(encoded, 'users/_alice/home')).toEqual({ user: 'Alice' });
    expect(matchLayout(encoded, 'users/A/home')).toBeUndefined();
  });
  it('refuses templates that could escape or be ambiguous', () => {
    expect(layoutTemplateErrors('f', 'a//{user}', { allowRoot: false })[0]).toMatch(/empty, "." and ".."/);
    expect(layoutTemplateErrors('f', '{user}/{user}', { allowRoot: false })[0]).toMatch(/\{user\} appears 2 times/);
    expect(layoutTemplateErrors('f', '', { allowRoot: true })).toEqual([]);
  });
});

describe('mapping file', () => {
  it('reads CSV with quotes and a BOM, and JSON in both shapes', () => {
    const csv = parseMapping('\uFEFFuser,thread\r\n"al,ice",t1\nbob,"t""2"\n', 'map.csv');
    expect(csv.errors).toEqual([]);
    expect([...csv.users]).toEqual([['t1', 'al,ice'], ['t"2', 'bob']]);
    expect([...parseMapping('{"t1": "alice"}', 'm.json').users]).toEqual([['t1', 'alice']]);
    expect([...parseMapping('[{"thread": "t1", "user": "alice"}]', 'm').users]).toEqual([['t1', 'alice']]);
  });
  it('names every bad line or entry', () => {
    expect(parseMapping('thread;user\n', 'm.csv').errors[0]).toMatch(/m.csv:1: the header must name/);
    const bad = parseMapping('thread,user\nt1,alice\nt1,mallory\n"t2,bob\nt3,\n', 'm.csv').errors;
    expect(bad).toEqual([
      'm.csv:3: thread "t1" is mapped to "alice" already, not also to "mallory"',
      'm.csv:4: unterminated quote',
      'm.csv:5: user: Required value: a non-empty string',
    ]);
    expect(parseMapping('[1, {"thread": "t", "user": 2}]', 'm.json').errors).toEqual(['m.json[0]: expected an object with thread and user', 'm.json[1]: user: Required value: a non-empty string']);
    expect(parseMapping('{"t": ', 'm.json').errors[0]).toMatch(/m.json: not JSON/);
  });
});

describe('plan items', () => {
  const legacy = resolveSource({ kind: 'template', claim: 'legacy', path: 'threads/{thread}/user-data' }).resolved!;
  const sources = sourceClaims(legacy, [claim('legacy')], 'ns');

  it('puts each identity exactly where the webhook mounts it for a sandbox Pod', () => {
    const mapping = new Map([['t1', 'Alice'], ['t_2', 'bob']]);
    const items = planItems([entry('legacy', 'threads/t1/user-data', 3), entry('legacy', 'threads/t_2/user-data')], sources, legacy, options(shared, { mapping }));
    expect(items.map((item) => [item.user, item.thread, item.target, item.conflicts])).toEqual([
      ['Alice', 't1', { claim: 'sandbox-data', path: 'users/_alice/threads/t1/user-data' }, []],
      ['bob', 't_2', { claim: 'sandbox-data', path: 'users/bob/threads/t__2/user-data' }, []],
    ]);
    const pod = { metadata: { labels: { 'sandbox-storage.io/user': 'Alice', 'sandbox-storage.io/thread': 't1' } }, spec: { containers: [{ name: 'sandbox' }] } };
    expect(planStorage(pod, shared, 'ns').mounts.find((mount) => mount.mountPath === '/sandbox')?.subPath).toBe(items[0]?.target?.path);
    expect(items[0]?.files).toBe(3);
  });

  it('lists every conflict: mapping missing, invalid identity, no thread, same target, nested source', () => {
    const mapping = new Map([['t1', 'alice'], ['t2', 'alice'], ['bad', 'not a label value!']]);
    const items = planItems(
      [entry('legacy', 'threads/t1/user-data'), entry('legacy', 'threads/unmapped/user-data'), entry('legacy', 'threads/bad/user-data'), entry('legacy', 'threads/ x/user-data')],
      sources,
      legacy,
      options(perUser, { mapping }),
    );
    const byThread = Object.fromEntries(items.map((item) => [item.source.path.split('/')[1], item.conflicts]));
    expect(byThread.unmapped).toEqual(['mapping missing: the mapping file has no user for thread "unmapped"']);
    expect(byThread.bad?.[0]).toMatch(/identity not valid under policy per-user: label sandbox-storage.io\/user .*invalid value/);
    expect(byThread[' x']).toEqual(['mapping missing: the mapping file has no user for thread " x"']);

    const twoIntoOne = planItems([entry('legacy', 'threads/t1/user-data'), entry('legacy', 'threads/t2/user-data')], sources, legacy, options(perUser, { mapping }));
    expect(twoIntoOne.every((item) => item.conflicts.some((conflict) => conflict.startsWith('2 sources have the same target sandbox-data:users/alice/home')))).toBe(true);

    const pattern = resolveSource({ kind: 'claimPattern', pattern: 'legacy-user-{user}', path: '' }).resolved!;
    const claims = sourceClaims(pattern, [claim('legacy-user-bob'), claim('unrelated'), claim('legacy-user-')], 'ns');
    expect(claims.map((found) => found.claim)).toEqual(['legacy-user-bob']);
    expect(planItems([entry('legacy-user-bob', '')], claims, pattern, options(shared))[0]?.conflicts).toEqual(['policy shared needs a thread id and the source has none: give --thread']);
    expect(planItems([entry('legacy-user-bob', '')], claims, pattern, options(shared, { thread: 'main' }))[0]?.target?.path).toBe('users/bob/threads/main/user-data');

    // A legacy user named "users" lives at the root of every target: copying it would copy the migrated data too.
    const flat = resolveSource({ kind: 'template', claim: 'sandbox-data', path: '{user}' }).resolved!;
    const nested = planItems([entry('sandbox-data', 'users'), entry('sandbox-data', 'carol')], sourceClaims(flat, [claim('sandbox-data')], 'ns'), flat, options(perUser));
    expect(nested.find((item) => item.user === 'users')?.conflicts).toEqual(['source sandbox-data:users and a target are nested in each other']);
    expect(nested.find((item) => item.user === 'carol')?.conflicts).toEqual([]);
  });

  it('takes a workspace policy’s PVCs only when their name and proof say whose they are', () => {
    const policySource = resolveSource({ kind: 'policy', policy: 'ws' }, workspace).resolved!;
    const labels = { 'app.kubernetes.io/managed-by': 'sandbox-storage-webhook', 'sandbox-storage.io/policy': 'ws', 'sandbox-storage.io/user': 'bob' };
    const found = sourceClaims(policySource, [claim(workspaceClaimName('ws-', { scope: 'user', user: 'bob' }), labels), claim('ws-forged', labels), claim('other')], 'ns');
    expect(found.map((entry) => [entry.claim.startsWith('ws-bob-'), entry.problems])).toEqual([
      [true, [expect.stringMatching(/has no valid ownership proof/)]],
      [false, ['source PVC ws-forged is not the workspace name of the identity its labels claim']],
    ]);
  });

  it('reads a workspace’s home directory as the workspace itself, and no other directory of it', () => {
    const policySource = resolveSource({ kind: 'policy', policy: 'ws' }, workspace).resolved!;
    expect(sourcePathIds(policySource, '.sandbox-storage-home')).toEqual({});
    expect(sourcePathIds(policySource, '')).toEqual({});
    expect(sourcePathIds(policySource, 'elsewhere')).toBeUndefined();
    const legacy = resolveSource({ kind: 'template', claim: 'old', path: 'threads/{thread}/user-data' }, undefined).resolved!;
    expect(sourcePathIds(legacy, '.sandbox-storage-home')).toBeUndefined();
  });

  it('turns the targets’ states into conflicts, and this plan’s verified copy into done', () => {
    const mapping = new Map([['t1', 'a'], ['t2', 'b'], ['t3', 'c'], ['t4', 'd']]);
    const items = planItems(['t1', 't2', 't3', 't4'].map((thread) => entry('legacy', `threads/${thread}/user-data`)), sources, legacy, options(shared, { mapping }));
    const id = planId('ns', 'shared', items);
    const at = (user: string) => targetStateKey('sandbox-data', `users/${user}/threads/t${' abcd'.indexOf(user)}/user-data`);
    applyTargetStates(items, new Map([[at('a'), { state: 'notEmpty', entries: 2 }], [at('b'), { state: 'migrated', plan: id }], [at('c'), { state: 'migrated', plan: 'otherplanotherplanxx' }], [at('d'), { state: 'empty' }]]), id);
    expect(items.map((item) => [item.user, item.done ?? false, item.conflicts])).toEqual([
      ['a', false, ['target sandbox-data:users/a/threads/t1/user-data is not empty (2 entries); nothing is written over data']],
      ['b', true, []],
      ['c', false, ['target sandbox-data:users/c/threads/t3/user-data holds data migrated by plan otherplanotherplanxx']],
      ['d', false, []],
    ]);
  });
});

describe('plan file', () => {
  const legacy = resolveSource({ kind: 'template', claim: 'legacy', path: 'threads/{thread}/user-data' }).resolved!;
  const items = planItems([entry('legacy', 'threads/t1/user-data')], sourceClaims(legacy, [claim('legacy')], 'ns'), legacy, options(shared, { mapping: new Map([['t1', 'alice']]) }));
  const plan: MigrationPlan = {
    apiVersion: 'sandbox-storage.io/v1alpha1',
    kind: 'MigrationPlan',
    metadata: { id: planId('ns', 'shared', items), createdAt: '2026-12-01T00:00:00Z' },
    spec: { namespace: 'ns', source: { kind: 'template', claim: 'legacy', path: 'threads/{thread}/user-data' }, target: { policy: 'shared', mount: '/sandbox' } },
    items,
  };

  it('round-trips as YAML and JSON', () => {
    expect(parsePlan(formatPlan(plan, 'yaml'), 'p.yaml')).toEqual({ plan, errors: [] });
    expect(parsePlan(formatPlan(plan, 'json'), 'p.json')).toEqual({ plan, errors: [] });
  });

  it('names every bad field', () => {
    const broken = { ...plan, apiVersion: 'v9', metadata: { id: 'X' }, items: [{ ...items[0], source: { claim: '', path: '../etc' }, files: -1 }, items[0], items[0]] };
    expect(parsePlan(JSON.stringify(broken), 'p.json').errors).toEqual([
      'p.json: apiVersion: Unsupported value: "v9": supported values: "sandbox-storage.io/v1alpha1"',
      'p.json: metadata.id: Invalid value: "X": 20 base32 characters, as plan writes it',
      'p.json: items[0].source.claim: Required value: must not be empty',
      'p.json: items[0].source.path: Invalid value: "../etc": a relative path without empty, "." or ".." segments',
      'p.json: items[0].files: Invalid value: -1: a whole number ≥ 0',
      'p.json: items[1].key: Duplicate value: ' + JSON.stringify(items[0]?.key),
      'p.json: items[2].key: Duplicate value: ' + JSON.stringify(items[0]?.key),
    ]);
    expect(parsePlan('{', 'p').errors[0]).toMatch(/^p: not YAML or JSON/);
  });

  it('refuses an edited target or key before anything is copied', () => {
    expect(recheckPlan(plan, shared)).toEqual([]);
    const edited = structuredClone(plan);
    edited.items[0]!.target = { claim: 'sandbox-data', path: 'users/bob/threads/t1/user-data' };
    expect(recheckPlan(edited, shared)[0]).toMatch(/items\[0\].target: .* is not where policy shared mounts this identity \(sandbox-data:users\/alice\/threads\/t1\/user-data\)/);
    const rekeyed = structuredClone(plan);
    rekeyed.items[0]!.source.path = 'threads/t9/user-data';
    expect(recheckPlan(rekeyed, shared)[0]).toMatch(/items\[0\].key: does not belong to its source/);
    expect(itemKey({ claim: 'legacy', path: 'threads/t1/user-data' })).toBe(items[0]?.key);
    // Another identity's source under this item's identity: the key recomputed, but the layout says whose it is.
    const pattern: MigrationPlan = {
      ...plan,
      spec: { ...plan.spec, source: { kind: 'claimPattern', pattern: 'legacy-user-{user}', path: '' } },
      items: [{ ...items[0]!, source: { claim: 'legacy-user-victim', path: '' }, key: itemKey({ claim: 'legacy-user-victim', path: '' }) }],
    };
    expect(recheckPlan(pattern, shared)).toEqual(['items[0].user: the source layout says "victim", not "alice"']);
    const outside = structuredClone(plan);
    outside.items[0]!.source = { claim: 'legacy', path: 'other/t1' };
    outside.items[0]!.key = itemKey(outside.items[0]!.source);
    expect(recheckPlan(outside, shared)).toEqual(['items[0].source: legacy:other/t1 is not in the plan\'s source layout']);
  });
});

describe('run records', () => {
  const item = { key: 'k', source: { claim: 'a', path: 'b' }, target: { claim: 'c', path: 'd' }, files: 1, kib: 4, conflicts: [] };
  it('goes pending → copying → done, resumes copying and failed, and never leaves done', () => {
    const copying = transition(undefined, { state: 'copying', at: 't' });
    expect(transition(copying, { state: 'copying', at: 't2' }).state).toBe('copying');
    const failed = transition(copying, { state: 'failed', at: 't', error: 'x' });
    const done = transition(transition(failed, { state: 'copying', at: 't' }), { state: 'done', at: 't' });
    expect(() => transition(done, { state: 'copying', at: 't' })).toThrow('a migration record cannot go from done to copying');
    expect(() => transition(undefined, { state: 'failed', at: 't' })).toThrow(/from pending to failed/);
  });
  it('copies what is not done, skips what is, never copies a conflict', () => {
    expect(itemAction(item, undefined)).toBe('copy');
    expect(itemAction(item, { state: 'copying', at: '' })).toBe('copy');
    expect(itemAction(item, { state: 'done', at: '' })).toBe('skip');
    expect(itemAction({ ...item, conflicts: ['x'] }, undefined)).toBe('conflict');
    const { target: _target, ...untargeted } = item;
    expect(itemAction(untargeted, undefined)).toBe('conflict');
    expect(summarize([item, { ...item, key: 'j' }, { ...item, key: 'c', conflicts: ['x'] }], new Map([['k', { state: 'done', at: '' }]]))).toEqual({ total: 3, done: 1, failed: 0, copying: 0, pending: 1, conflicts: 1 });
  });
});

describe('who is in the way of a run', () => {
  const legacy = resolveSource({ kind: 'claimPattern', pattern: 'legacy-user-{user}', path: '' }).resolved!;
  const items = planItems(
    [entry('legacy-user-bob', ''), entry('legacy-user-carol', '')],
    sourceClaims(legacy, [claim('legacy-user-bob'), claim('legacy-user-carol')], 'ns'),
    legacy,
    options(perUser),
  );
  it('names sandbox Pods of the identity and Pods mounting its own source claim, not migration Pods or others', () => {
    const pods: PodInUse[] = [
      { name: 'bob-sandbox', labels: { 'sandbox-storage.io/user': 'bob' }, claims: [] },
      { name: 'old-platform-carol', labels: {}, claims: ['legacy-user-carol'] },
      { name: 'copy', labels: { 'sandbox-storage.io/migration-plan': 'x', 'sandbox-storage.io/user': 'bob' }, claims: ['legacy-user-bob'] },
      { name: 'bobby', labels: { 'sandbox-storage.io/user': 'bobby' }, claims: [] },
    ];
    const blocking = podsInTheWay(items, pods, perUser);
    expect(Object.fromEntries([...blocking].map(([key, names]) => [items.find((item) => item.key === key)?.user, names]))).toEqual({ bob: ['bob-sandbox'], carol: ['old-platform-carol'] });
  });

  it('lets a gated sandbox Pod of the target policy be (the run holds it), not a gated Pod of another policy', () => {
    const pods: PodInUse[] = [
      { name: 'bob-waiting', labels: { 'sandbox-storage.io/user': 'bob' }, claims: [], policy: perUser.name, gated: true },
      { name: 'bob-old-policy', labels: { 'sandbox-storage.io/user': 'bob' }, claims: [], policy: 'old', gated: true },
      { name: 'carol-running', labels: { 'sandbox-storage.io/user': 'carol' }, claims: [], policy: perUser.name, gated: false },
    ];
    const blocking = podsInTheWay(items, pods, perUser);
    expect(Object.fromEntries([...blocking].map(([key, names]) => [items.find((item) => item.key === key)?.user, names]))).toEqual({ bob: ['bob-old-policy'], carol: ['carol-running'] });
  });

  it('holds each item’s identity, with its thread only where the target keeps threads apart', () => {
    expect([...heldIdentities(items, perUser).values()]).toEqual([{ user: 'bob' }, { user: 'carol' }]);
    const threaded = items.map((item) => ({ ...item, thread: 'main' }));
    expect([...heldIdentities(threaded, perUser).values()]).toEqual([{ user: 'bob' }, { user: 'carol' }]);
    expect(distinctIdentities([{ user: 'b' }, { user: 'a', thread: 't' }, { user: 'b' }])).toEqual([{ user: 'a', thread: 't' }, { user: 'b' }]);
  });
});

describe('script output', () => {
  it('reads only the script’s own lines: a forged or half line counts for nothing', () => {
    const log = '@@migrate\tdir\t3\t12\tthreads/a b\tc/user-data\n@@migrate\tdir\tx\t1\tbad\nfind: ./evil\n@@migrate\tdir\t1\t4\t.\n@@migrate\ttarget\tweird\t-\tx\n';
    const parsed = parseInventory(log, 'claim');
    expect(parsed.complete).toBe(false);
    expect(parsed.entries).toEqual([{ claim: 'claim', path: 'threads/a b\tc/user-data', files: 3, kib: 12 }, { claim: 'claim', path: '', files: 1, kib: 4 }]);
    expect(parsed.targets.size).toBe(0);
    expect(parseInventory(`${log}@@migrate\tend\n`, 'claim').complete).toBe(true);
    expect(parseCopyResult('{"result":"copied","entries":2,"sha256":"' + 'a'.repeat(64) + '"}\n')).toEqual({ result: 'copied', entries: 2, sha256: 'a'.repeat(64) });
    expect(parseCopyResult('{"result":"copied","entries":"2","sha256":"x"}')).toBeUndefined();
    expect(parseCopyResult('garbage')).toBeUndefined();
    expect(parseCopyResult(undefined)).toBeUndefined();
  });
});
