// The isolation rules through the same path as the API server: mutating webhook, then validating webhook on the
// mutated Pod (decideAdmission, as `review` runs it), with the shipped example policies.
import { describe, expect, it } from 'vitest';
import { staticNamespaceLabels } from '../../src/admission/namespace-labels.ts';
import { normaliseSubPath } from '../../src/admission/isolation/subpath-scope.ts';
import { reviewValidation } from '../../src/webhook/validate.ts';
import { looksLikeWorkspaceClaim, workspaceClaimName } from '../../src/naming/identity-names.ts';
import type { Policy } from '../../src/policy/types.ts';
import { admissionReviewFor, policyFrom } from '../fixtures/pods.ts';
import { examplePolicy, podMounting, podWith, requesters, sandboxLabels, sharedVolume } from '../fixtures/isolation.ts';
import { decideAdmission } from '../../src/webhook/decide.ts';

const shared = examplePolicy('shared');
const workspace = examplePolicy('workspace');

async function decide(policies: Policy[], pod: unknown, userInfo: object, request: Record<string, unknown> = {}, claimMetadata = {}) {
  const body = admissionReviewFor(pod, { userInfo, ...request });
  return decideAdmission(body, {
    policies,
    namespaceLabels: staticNamespaceLabels(undefined),
    claimMetadata: async () => claimMetadata,
  });
}

async function denial(policies: Policy[], pod: unknown, userInfo: object, request: Record<string, unknown> = {}, claimMetadata = {}) {
  const { decided } = await decide(policies, pod, userInfo, request, claimMetadata);
  expect(decided.response.allowed).toBe(false);
  return decided.response.status?.message ?? '';
}

describe('shared claim', () => {
  it('a sandbox of the trusted spawner, with its injected mounts and seed container, is allowed', async () => {
    const { decided, validation } = await decide([shared], podWith({ labels: sandboxLabels('Alice_Smith', 'thread-42') }), requesters.spawner);
    expect(validation?.result).toBe('unchanged');
    expect(decided.response.allowed).toBe(true);
    expect(decided.response.patchType).toBe('JSONPatch');
  });

  it.each([
    ['no subPath (the root)', {}, /mounts volume "data" at \/data: shared PVC "sandbox-data" is mounted at its root \[rule SharedVolumeRoot, policy "shared"\]/],
    ['subPath "."', { subPath: '.' }, /rule SharedVolumeRoot/],
    ['subPath "users/.."', { subPath: 'users/..' }, /rule SharedVolumeRoot/],
    ["another user's directory", { subPath: 'users/bob/threads/t1/user-data' }, /subPath "users\/bob\/threads\/t1\/user-data" on shared PVC "sandbox-data" is outside the directories of user "alice" \(allowed: users\/alice\/threads\/t1\/user-data, users\/alice\/skills \(read-only\)\) \[rule SharedSubPathScope/],
    ['a ".." escape from its own directory', { subPath: 'users/alice/threads/t1/user-data/../../../../bob/skills' }, /rule SharedSubPathScope/],
    ['climbing above the root', { subPath: '../other-volume' }, /climbs above the volume root/],
    ['its own parent directory', { subPath: 'users/alice' }, /is outside the directories/],
    ['below its own directory (symlinks)', { subPath: 'users/alice/threads/t1/user-data/link' }, /is below the directory of user "alice"/],
    ['its own thread of another thread', { subPath: 'users/alice/threads/t2/user-data' }, /rule SharedSubPathScope/],
    ['subPathExpr', { subPathExpr: 'users/$(USER)' }, /subPathExpr "users\/\$\(USER\)" on shared PVC "sandbox-data" is not allowed.*rule SharedSubPathExpr/],
    ['read-write skills', { subPath: 'users/alice/skills' }, /must be mounted readOnly \[rule SharedReadOnly/],
    ['absolute path variant of another user', { subPath: '/users//bob/./threads/t1/user-data/' }, /rule SharedSubPathScope/],
  ])('an extra container mounting %s is denied', async (_, mount, message) => {
    const pod = podMounting(sandboxLabels('alice'), sharedVolume(), mount);
    expect(await denial([shared], pod, requesters.spawner)).toMatch(message);
  });

  it('an extra container mounting its own directories exactly (normalised spelling, skills read-only) is allowed', async () => {
    const pod = podMounting(sandboxLabels('alice'), sharedVolume(), { subPath: './users/alice/threads/t1//user-data/' });
    expect((await decide([shared], pod, requesters.spawner)).decided.response.allowed).toBe(true);
    const skills = podMounting(sandboxLabels('alice'), sharedVolume(), { subPath: 'users/alice/skills', readOnly: true });
    expect((await decide([shared], skills, requesters.spawner)).decided.response.allowed).toBe(true);
  });

  it('a pod without the opt-in label gets no governed storage at all, even its "own" directory', async () => {
    const labels = { 'sandbox-storage.io/user': 'alice', 'sandbox-storage.io/thread': 't1' };
    const pod = podMounting(labels, sharedVolume('any-name'), { subPath: 'users/alice/threads/t1/user-data' });
    expect(await denial([shared], pod, requesters.alice)).toMatch(/outside the directories of a pod without a sandbox identity \(allowed: none\)/);
  });

  it('names the rule of each denial for metrics', async () => {
    const pod = podMounting({}, sharedVolume(), { subPathExpr: 'x' });
    const { validation } = await decide([shared], pod, requesters.alice);
    expect(validation?.validation?.denialReasons).toEqual(['SharedSubPathExpr']);
  });

  it('the exempt gateway may mount the root; the spawner, trusted only as a requester, may not', async () => {
    const pod = podMounting({ app: 'gateway' }, sharedVolume(), {});
    expect((await decide([shared], pod, requesters.gateway)).decided.response.allowed).toBe(true);
    expect(await denial([shared], pod, requesters.spawner)).toMatch(/rule SharedVolumeRoot/);
  });

  it('a raw block device or a clone of the shared claim is denied', async () => {
    const device = podWith({
      volumes: [sharedVolume()],
      containers: [{ name: 'main', image: 'i', volumeDevices: [{ name: 'data', devicePath: '/dev/xvda' }] }],
    });
    expect(await denial([shared], device, requesters.alice)).toMatch(/uses volume "data" as a device: .*rule GovernedRawDevice/);
    const clone = podWith({
      volumes: [{ name: 'copy', ephemeral: { volumeClaimTemplate: { spec: { dataSource: { kind: 'PersistentVolumeClaim', name: 'sandbox-data' }, accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } } } } }],
    });
    expect(await denial([shared], clone, requesters.alice)).toMatch(/volume "copy" clones PVC "sandbox-data".*rule GovernedClaimClone/);
  });
});

describe('requester binding', () => {
  it('a tenant may create a sandbox for its own username, not for another', async () => {
    expect((await decide([shared], podWith({ labels: sandboxLabels('alice') }), requesters.alice)).decided.response.allowed).toBe(true);
    expect(await denial([shared], podWith({ labels: sandboxLabels('alice') }), requesters.bob)).toMatch(
      /requester "bob" may only use user id "bob", not "alice" \[rule RequesterBinding, spec.isolation.requesters of policy "shared"\]/,
    );
  });

  it('a username transform strips a prefix; a username without it may use no id', async () => {
    const policy = policyFrom({ isolation: { requesters: { enforce: true, usernameTransform: { stripPrefix: 'oidc:' } } } });
    expect((await decide([policy], podWith({ labels: sandboxLabels('alice') }), { username: 'oidc:alice' })).decided.response.allowed).toBe(true);
    expect(await denial([policy], podWith({ labels: sandboxLabels('alice') }), { username: 'alice' })).toMatch(/may not use any user id/);
  });

  it('binding off (the default) leaves the user id to the requester', async () => {
    expect((await decide([workspace], podWith({ labels: sandboxLabels('alice') }), requesters.bob)).decided.response.allowed).toBe(true);
  });
});

describe('workspace claims', () => {
  const own = workspaceClaimName('sandbox-', { scope: 'thread', user: 'alice', thread: 't1' });
  const bobs = workspaceClaimName('sandbox-', { scope: 'thread', user: 'bob', thread: 't1' });

  it('recognises workspace claim names from the policy alone', () => {
    expect(looksLikeWorkspaceClaim('sandbox-', own)).toBe(true);
    expect(looksLikeWorkspaceClaim('sandbox-', workspaceClaimName('sandbox-', { scope: 'user', user: '___' }))).toBe(true);
    expect(looksLikeWorkspaceClaim('sandbox-', 'sandbox-data')).toBe(false);
    expect(looksLikeWorkspaceClaim('ws-', own)).toBe(false);
  });

  it("naming another identity's workspace PVC is denied offline; its own is allowed", async () => {
    const pod = podMounting(sandboxLabels('alice'), { name: 'w', persistentVolumeClaim: { claimName: bobs } }, {});
    expect(await denial([workspace], pod, requesters.alice)).toMatch(
      new RegExp(`container "sidekick" mounts volume "w" at /data: PVC "${bobs}" is not the workspace of user "alice" \\[rule ForeignWorkspaceClaim`),
    );
    const mine = podMounting(sandboxLabels('alice'), { name: 'w', persistentVolumeClaim: { claimName: own } }, { subPath: 'x' });
    expect((await decide([workspace], mine, requesters.alice)).decided.response.allowed).toBe(true);
  });

  it('its own seeded sandbox is allowed (the home directory at /sandbox, the seeder on the root); another\'s home directory is not', async () => {
    const { decided, validation } = await decide([workspace], podWith({ labels: sandboxLabels('alice', 't1') }), requesters.alice);
    expect(decided.response.allowed).toBe(true);
    expect(validation?.validation?.denials).toEqual([]);
    const patch = JSON.parse(Buffer.from(decided.response.patch ?? '', 'base64').toString('utf8')) as Array<{ path: string; value: unknown }>;
    expect(JSON.stringify(patch)).toContain('"subPath":".sandbox-storage-home"');
    const foreign = podMounting(sandboxLabels('alice'), { name: 'w', persistentVolumeClaim: { claimName: bobs } }, { subPath: '.sandbox-storage-home' });
    expect(await denial([workspace], foreign, requesters.alice)).toMatch(/is not the workspace of user "alice" \[rule ForeignWorkspaceClaim/);
  });

  it('labels on a PVC prove nothing: one outside the workspace names is not governed storage, whoever it names', async () => {
    const pod = podMounting(sandboxLabels('alice'), { name: 'w', persistentVolumeClaim: { claimName: 'renamed' } }, {});
    const labels = { renamed: { labels: { 'app.kubernetes.io/managed-by': 'sandbox-storage-webhook', 'sandbox-storage.io/policy': 'workspace', 'sandbox-storage.io/user': 'bob' }, annotations: {} } };
    const { validation } = await decide([workspace], pod, requesters.alice, {}, labels);
    expect(validation?.validation?.denials).toEqual([]);
  });
});

describe('UPDATE: identity labels and ephemeral containers', () => {
  const created = () => {
    const pod = podWith({ name: 'sandbox-1', labels: sandboxLabels('alice') });
    return pod;
  };
  const update = (oldObject: unknown, object: unknown, userInfo: object, subResource?: string) =>
    reviewValidation(admissionReviewFor(object, { operation: 'UPDATE', oldObject, userInfo, ...(subResource ? { subResource } : {}) }), {
      policies: [shared],
      namespaceLabels: staticNamespaceLabels(undefined),
    });

  it.each([
    ['changes the user', { 'sandbox-storage.io/user': 'bob' }, /label sandbox-storage.io\/user cannot change on a pod governed by policy "shared" \("alice" → "bob"\) \[rule IdentityLabelsImmutable\]/],
    ['removes the thread', { 'sandbox-storage.io/thread': undefined }, /label sandbox-storage.io\/thread cannot change .*\("t1" → absent\)/],
    ['removes the opt-in label', { 'sandbox-storage.io/inject': undefined }, /label sandbox-storage.io\/inject cannot change/],
  ])('an UPDATE that %s is denied', async (_, change, message) => {
    const before = created();
    const after = structuredClone(before) as { metadata: { labels: Record<string, string | undefined> } };
    for (const [key, value] of Object.entries(change)) {
      if (value === undefined) delete after.metadata.labels[key];
      else after.metadata.labels[key] = value;
    }
    const outcome = await update(before, after, requesters.spawner);
    expect(outcome.review.response.allowed).toBe(false);
    expect(outcome.review.response.status?.message).toMatch(message);
  });

  it('adding the opt-in label to a plain pod is denied; other label changes pass', async () => {
    const plain = podWith({ name: 'p', labels: { app: 'x' } });
    const optedIn = structuredClone(plain) as { metadata: { labels: Record<string, string> } };
    optedIn.metadata.labels['sandbox-storage.io/inject'] = 'true';
    expect((await update(plain, optedIn, requesters.alice)).review.response.allowed).toBe(false);
    const relabelled = structuredClone(created()) as { metadata: { labels: Record<string, string> } };
    relabelled.metadata.labels.team = 'blue';
    expect((await update(created(), relabelled, requesters.alice)).review.response.allowed).toBe(true);
  });

  const withDebug = (pod: Record<string, unknown>, container: Record<string, unknown>) => {
    const after = structuredClone(pod) as { spec: Record<string, unknown> };
    after.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox', ...container }];
    return after;
  };
  const mutatedSandbox = async () => (await decide([shared], podWith({ name: 'sandbox-1', labels: sandboxLabels('alice') }), requesters.spawner)).decided;

  it('an ephemeral container mounting the shared claim without subPath is denied; within scope it is allowed for the owner', async () => {
    const { mutatedPod } = await import('../../src/webhook/decide.ts');
    const base = mutatedPod({
      result: 'mutated',
      review: await mutatedSandbox(),
      request: { uid: 'u', object: podWith({ name: 'sandbox-1', labels: sandboxLabels('alice') }) },
    }) as Record<string, unknown>;
    const root = withDebug(base, { volumeMounts: [{ name: 'sandbox-storage-shared', mountPath: '/all' }] });
    const denied = await update(base, root, requesters.alice, 'ephemeralcontainers');
    expect(denied.review.response.status?.message).toMatch(/ephemeral container "debugger" mounts volume "sandbox-storage-shared" at \/all: shared PVC "sandbox-data" is mounted at its root/);
    const own = withDebug(base, { volumeMounts: [{ name: 'sandbox-storage-shared', mountPath: '/s', subPath: 'users/alice/threads/t1/user-data' }] });
    expect((await update(base, own, requesters.alice, 'ephemeralcontainers')).review.response.allowed).toBe(true);
    const foreign = await update(base, own, requesters.bob, 'ephemeralcontainers');
    expect(foreign.review.response.status?.message).toMatch(/rule RequesterBinding/);
  });

  it("an ephemeral container targeting the gateway's container is denied to anyone not exempt", async () => {
    const gateway = podMounting({ app: 'gateway' }, sharedVolume(), {});
    const debugged = withDebug(gateway, { targetContainerName: 'sidekick' });
    const outcome = await update(gateway, debugged, requesters.alice, 'ephemeralcontainers');
    expect(outcome.review.response.status?.message).toMatch(/ephemeral container "debugger" would reach .* \[rule DebugReachesForeignMount\]/);
    expect((await update(gateway, debugged, requesters.gateway, 'ephemeralcontainers')).review.response.allowed).toBe(true);
  });
});

describe('UPDATE: the storage gate is the controller\'s to lift', () => {
  const controller = { username: 'system:serviceaccount:sandbox-storage-system:sandbox-storage-controller', groups: ['system:serviceaccounts'] };
  const gate = { name: 'sandbox-storage.io/storage' };
  const gated = (labels: Record<string, string>, gates: unknown[] = [gate]) => {
    const pod = podWith({ name: 'sandbox-1', labels }) as { spec: Record<string, unknown> };
    pod.spec.schedulingGates = gates;
    return pod;
  };
  const lifted = (pod: { spec: Record<string, unknown> }, keep: unknown[] = []) => {
    const after = structuredClone(pod);
    after.spec.schedulingGates = keep;
    return after;
  };
  const update = (oldObject: unknown, object: unknown, userInfo: object, controllerUsername: string | null = controller.username) =>
    reviewValidation(admissionReviewFor(object, { operation: 'UPDATE', oldObject, userInfo }), {
      policies: [shared],
      namespaceLabels: staticNamespaceLabels(undefined),
      ...(controllerUsername !== null ? { controllerUsername } : {}),
    });

  it.each([
    ['the owner', requesters.alice],
    ['the trusted spawner', requesters.spawner],
    ['the exempt gateway', requesters.gateway],
  ])('%s removing it is denied, naming the field and the rule', async (_, requester) => {
    const before = gated(sandboxLabels('alice'));
    const outcome = await update(before, lifted(before), requester);
    expect(outcome.review.response.allowed).toBe(false);
    expect(outcome.review.response.status?.message).toMatch(
      /spec\.schedulingGates: the gate "sandbox-storage\.io\/storage" holds this sandbox Pod of policy "shared" .*only the sandbox-storage controller \(system:serviceaccount:sandbox-storage-system:sandbox-storage-controller\) removes it \[rule StorageGateHeld\]/,
    );
  });

  it('the controller removes it; other gates stay anyone\'s to remove', async () => {
    const before = gated(sandboxLabels('alice'), [gate, { name: 'example.com/quota' }]);
    expect((await update(before, lifted(before, [{ name: 'example.com/quota' }]), controller)).review.response.allowed).toBe(true);
    expect((await update(before, lifted(before, [gate]), requesters.alice)).review.response.allowed).toBe(true);
  });

  it('while the controller username is unknown, nobody removes it', async () => {
    const before = gated(sandboxLabels('alice'));
    const outcome = await update(before, lifted(before), controller, null);
    expect(outcome.review.response.status?.message).toMatch(/only the sandbox-storage controller removes it \[rule StorageGateHeld\]/);
  });

  it('dropping the opt-in label in the same update does not lift the hold', async () => {
    const before = gated(sandboxLabels('alice'));
    const after = lifted(before) as unknown as { metadata: { labels: Record<string, string> } };
    delete after.metadata.labels['sandbox-storage.io/inject'];
    const outcome = await update(before, after, requesters.alice);
    expect(outcome.review.response.status?.message).toMatch(/rule StorageGateHeld/);
  });

  it('a Pod no policy selects, carrying a gate of that name, may drop it (nothing of ours would ever lift it)', async () => {
    const before = gated({ app: 'plain' });
    expect((await update(before, lifted(before), requesters.alice)).review.response.allowed).toBe(true);
  });

  it('malformed gates are no way around it and no crash', async () => {
    const before = gated(sandboxLabels('alice'), [gate, 'junk', null, { name: 7 }]);
    const outcome = await update(before, lifted(before, [{ name: 'sandbox-storage.io/storagex' }]), requesters.alice);
    expect(outcome.review.response.status?.message).toMatch(/rule StorageGateHeld/);
    const junk = await update(before, lifted(before, ['junk']), requesters.alice);
    expect(junk.review.response.status?.message).toMatch(/spec\.schedulingGates\[0\]: must be an object/);
    const notAList = await update(before, lifted(before, { name: 'sandbox-storage.io/storage' } as unknown as unknown[]), requesters.alice);
    expect(notAList.review.response.allowed).toBe(false);
  });
});

describe('subPath normalisation', () => {
  it.each([
    ['a/b', 'a/b'],
    ['/a//b/', 'a/b'],
    ['./a/./b/.', 'a/b'],
    ['a/x/../b', 'a/b'],
    ['', ''],
    ['a/..', ''],
  ])('%j → %j', (input, expected) => {
    expect(normaliseSubPath(input)).toEqual({ path: expected });
  });
  it('refuses climbing above the root and NUL', () => {
    expect(normaliseSubPath('a/../../b').problem).toBe('climbs above the volume root');
    expect(normaliseSubPath('a\0b').problem).toBe('contains a NUL character');
  });
});

describe('spec.isolation in policies', () => {
  it('is validated by the schema like the API server does: types and unknown fields, then rules', async () => {
    const { validatePolicyDocument } = await import('../../src/policy/validate.ts');
    const document = (isolation: unknown) => ({ apiVersion: 'sandbox-storage.io/v1alpha1', kind: 'SandboxStoragePolicy', metadata: { name: 'p' }, spec: { isolation } });
    const structural = validatePolicyDocument(
      document({ exemptions: { groups: 'platform', roles: [] }, requesters: { usernameTransform: { stripPrefix: 5 } } }),
    );
    expect(structural.errors.map((error) => error.field)).toEqual(
      expect.arrayContaining(['spec.isolation.exemptions.roles', 'spec.isolation.exemptions.groups', 'spec.isolation.requesters.usernameTransform.stripPrefix']),
    );
    const rules = validatePolicyDocument(document({ exemptions: { users: [''] }, requesters: { trustedGroups: ['platform'] } }));
    expect(rules.errors.map((error) => `${error.field}: ${error.message}`).join('\n')).toMatch(/spec.isolation.exemptions.users\[0\]: .*/);
    expect(rules.errors.map((error) => `${error.field}: ${error.message}`).join('\n')).toContain(
      'spec.isolation.requesters.enforce: Invalid value',
    );
  });

  it('the shipped examples resolve to the documented isolation settings', () => {
    expect(shared.spec.isolation).toEqual({
      exemptions: { users: ['system:serviceaccount:platform:gateway'], groups: [] },
      requesters: { enforce: true, trustedUsers: [], trustedGroups: ['system:serviceaccounts:platform'], usernameTransform: { stripPrefix: '' } },
    });
    expect(workspace.spec.isolation.requesters.enforce).toBe(false);
    expect(shared.spec.namespaceSelector).toEqual({});
  });
});

describe('CONNECT: exec, attach, portforward', () => {
  const connect = (subResource: string, pod: unknown, userInfo: object, options: object = {}, podSource = true) =>
    reviewValidation(
      admissionReviewFor(options, {
        operation: 'CONNECT',
        kind: { group: '', version: 'v1', kind: 'PodExecOptions' },
        resource: { group: '', version: 'v1', resource: 'pods' },
        subResource,
        name: 'target',
        userInfo,
      }),
      { policies: [shared], namespaceLabels: staticNamespaceLabels(undefined), ...(podSource ? { pod: async () => pod } : {}) },
    );
  const sandbox = podWith({ name: 'target', labels: sandboxLabels('alice') });

  it.each(['exec', 'attach', 'portforward'])("%s into another tenant's sandbox is refused; the owner's passes", async (subResource) => {
    const refused = await connect(subResource, sandbox, requesters.bob, { container: 'main' });
    expect(refused.review.response.status?.message).toMatch(/rule RequesterBinding/);
    expect((await connect(subResource, sandbox, requesters.alice, { container: 'main' })).review.response.allowed).toBe(true);
  });

  it('exec without a container name reaches every container; with shareProcessNamespace, a named one does too', async () => {
    const gateway = podMounting({ app: 'gateway' }, sharedVolume(), {});
    expect((await connect('exec', gateway, requesters.alice, {})).review.response.status?.message).toMatch(/exec into the pod would reach .*rule ConnectReachesForeignMount/);
    expect((await connect('exec', gateway, requesters.alice, { container: 'main' })).review.response.allowed).toBe(true);
    const shared = structuredClone(gateway) as { spec: Record<string, unknown> };
    shared.spec.shareProcessNamespace = true;
    expect((await connect('exec', shared, requesters.alice, { container: 'main' })).review.response.allowed).toBe(false);
    expect((await connect('portforward', gateway, requesters.alice)).review.response.allowed).toBe(true);
    expect((await connect('exec', gateway, requesters.gateway, {})).review.response.allowed).toBe(true);
  });

  it('without a pod to judge it allows with a warning (RBAC alone decides)', async () => {
    const outcome = await connect('exec', undefined, requesters.bob, {}, false);
    expect(outcome.review.response.allowed).toBe(true);
    expect(outcome.review.response.warnings).toEqual(['sandbox-storage: exec not checked: the webhook could not read the pod']);
  });
});

describe('audit mode', () => {
  it('when every governing policy audits, escapes are admitted with a warning; one enforcing policy enforces', async () => {
    const audit = policyFrom({ ...structuredClone(shared.spec), enforcement: 'audit' }, 'shared-audit');
    const pod = podMounting({ app: 'x' }, sharedVolume(), {});
    const audited = await reviewValidation(admissionReviewFor(pod, { userInfo: requesters.alice }), {
      policies: [audit],
      namespaceLabels: staticNamespaceLabels(undefined),
    });
    expect(audited.result).toBe('audited');
    expect(audited.review.response.allowed).toBe(true);
    expect(audited.review.response.warnings?.[0]).toMatch(/^sandbox-storage: audit mode, would deny: container "sidekick" .*rule SharedVolumeRoot/);
    const enforced = await reviewValidation(admissionReviewFor(pod, { userInfo: requesters.alice }), {
      policies: [audit, workspace],
      namespaceLabels: staticNamespaceLabels(undefined),
    });
    expect(enforced.review.response.allowed).toBe(false);
  });
});
