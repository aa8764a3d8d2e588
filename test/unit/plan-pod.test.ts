import jsonPatch from 'fast-json-patch';
import { describe, expect, it } from 'vitest';
import { type AdmissionRequest } from '../../src/webhook/review.ts';
import { seedScriptConfigMapName, seedScriptMountPath, seedScriptVolumeName, escapeForKubelet, seedParameterLine, verifiedScriptWrapper } from '../../src/admission/seed-script-delivery.ts';
import { seedScriptSha256 } from '../../src/admission/seed-script.ts';
import { workspaceClaimName, workspaceIdentityHash } from '../../src/naming/identity-names.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import type { Policy } from '../../src/policy/types.ts';
import { admissionReviewFor, decodePatch, policyFrom, sandboxPod } from '../fixtures/pods.ts';
import { reviewPodMutation } from '../../src/webhook/mutate.ts';

const defaultPolicies = embeddedDefaultPolicies();
const sharedPolicy = policyFrom(
  {
    mode: 'shared',
    shared: {
      claimName: 'sandbox-shared',
      mounts: [
        { subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox' },
        { subPath: 'users/{user}/skills', mountPath: '/skills', readOnly: true },
      ],
    },
  },
  'shared',
);

function review(pod: unknown, policies: readonly Policy[] = defaultPolicies, request: Record<string, unknown> = {}) {
  const body = admissionReviewFor(pod, request);
  const outcome = reviewPodMutation(body.request as AdmissionRequest, { policies });
  return { outcome, response: outcome.review.response, patch: decodePatch(outcome.review.response.patch) };
}

function applied(pod: unknown, patch: unknown[]): Record<string, unknown> {
  return jsonPatch.applyPatch(structuredClone(pod), patch as jsonPatch.Operation[], true, false).newDocument as Record<string, unknown>;
}

/** What configMap delivery (the default) adds: the ConfigMap volume and its read-only mount in the seed container. */
const scriptVolume = { name: seedScriptVolumeName, configMap: { name: seedScriptConfigMapName(), defaultMode: 0o444 } };
const scriptMount = { name: seedScriptVolumeName, mountPath: seedScriptMountPath, readOnly: true };
/** The seed container's command: the parameter line with these parameters, then the hash-checking wrapper. */
function seedCommand(parameters: Array<{ name: string; value: string }>): string[] {
  return ['/bin/sh', '-c', `${escapeForKubelet(seedParameterLine(parameters))}\n${escapeForKubelet(verifiedScriptWrapper(`${seedScriptMountPath}/seed.sh`, seedScriptSha256))}`];
}

const aliceT1Claim = workspaceClaimName('sandbox-', { scope: 'thread', user: 'alice', thread: 't1' });

function seedParametersFor(overrides: { subPath?: string; parameters?: Array<{ name: string; value: string }> }) {
  return [
    { name: 'SEED_SOURCE', value: '/sandbox' },
    { name: 'SEED_TARGET', value: '/sandbox-storage/seed-target' },
    { name: 'SEED_SENTINEL', value: '.sandbox-storage-seeded' },
    { name: 'SEED_IMAGE', value: 'registry.example/sandbox:1' },
    ...(overrides.parameters ?? []),
    // Workspace volumes: the sandbox mounts the home directory the seeder makes.
    ...(overrides.subPath ? [] : [{ name: 'SEED_HOME', value: '.sandbox-storage-home' }]),
  ];
}

function seedContainer(overrides: { subPath?: string; parameters?: Array<{ name: string; value: string }>; extra?: object } = {}) {
  const mount: Record<string, unknown> = { name: 'sandbox-storage-workspace', mountPath: '/sandbox-storage/seed-target' };
  if (overrides.subPath) Object.assign(mount, { name: 'sandbox-storage-shared', subPath: overrides.subPath });
  return {
    name: 'sandbox-storage-seed',
    image: 'registry.example/sandbox:1',
    command: seedCommand(seedParametersFor(overrides)),
    volumeMounts: [mount, scriptMount],
    ...overrides.extra,
  };
}

describe('workspace mode', () => {
  it('mounts a per-thread PVC at /sandbox, seeds it, and plans the PVC (exact patch)', () => {
    const { outcome, response, patch } = review(sandboxPod());
    expect(response.allowed).toBe(true);
    expect(response.patchType).toBe('JSONPatch');
    expect(response.warnings).toBeUndefined();
    expect(patch).toEqual([
      { op: 'add', path: '/spec/containers/0/volumeMounts', value: [{ name: 'sandbox-storage-workspace', mountPath: '/sandbox', subPath: '.sandbox-storage-home' }] },
      { op: 'add', path: '/spec/volumes', value: [{ name: 'sandbox-storage-workspace', persistentVolumeClaim: { claimName: aliceT1Claim } }, scriptVolume] },
      { op: 'add', path: '/spec/initContainers', value: [seedContainer()] },
      { op: 'add', path: '/spec/schedulingGates', value: [{ name: 'sandbox-storage.io/storage' }] },
      { op: 'add', path: '/metadata/annotations', value: { 'sandbox-storage.io/policy': 'default' } },
    ]);
    expect(outcome.plan?.claims).toEqual([
      {
        name: aliceT1Claim,
        namespace: 'agents',
        role: 'workspace',
        create: true,
        labels: {
          'app.kubernetes.io/managed-by': 'sandbox-storage-webhook',
          'sandbox-storage.io/policy': 'default',
          'sandbox-storage.io/user': 'alice',
          'sandbox-storage.io/thread': 't1',
          'sandbox-storage.io/identity-hash': workspaceIdentityHash({ scope: 'thread', user: 'alice', thread: 't1' }),
        },
        identityLabels: { 'sandbox-storage.io/user': 'alice', 'sandbox-storage.io/thread': 't1' },
        size: '2Gi',
        accessModes: ['ReadWriteOnce'],
        volumeMode: 'Filesystem',
      },
    ]);
    expect(response.auditAnnotations).toEqual({ policy: 'default' });
  });

  it('scope user: one PVC per user, no thread label needed, provisioning hints carried', () => {
    const policy = policyFrom({
      workspace: { scope: 'user', storageClassName: 'fast', size: '5Gi', accessModes: ['ReadWriteOncePod'] },
      seed: { enabled: false },
    });
    const pod = sandboxPod({ labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'bob' } });
    const { outcome, patch } = review(pod, [policy]);
    const claimName = workspaceClaimName('sandbox-', { scope: 'user', user: 'bob' });
    expect(patch).toEqual([
      { op: 'add', path: '/spec/containers/0/volumeMounts', value: [{ name: 'sandbox-storage-workspace', mountPath: '/sandbox' }] },
      { op: 'add', path: '/spec/volumes', value: [{ name: 'sandbox-storage-workspace', persistentVolumeClaim: { claimName } }] },
      { op: 'add', path: '/spec/schedulingGates', value: [{ name: 'sandbox-storage.io/storage' }] },
      { op: 'add', path: '/metadata/annotations', value: { 'sandbox-storage.io/policy': 'test' } },
    ]);
    expect(outcome.plan?.claims[0]).toMatchObject({
      name: claimName,
      storageClassName: 'fast',
      size: '5Gi',
      accessModes: ['ReadWriteOncePod'],
      labels: { 'sandbox-storage.io/user': 'bob' },
    });
    expect(outcome.plan?.claims[0]?.labels).not.toHaveProperty('sandbox-storage.io/thread');
  });

  it('mounts into the container the policy names and seeds with its image and identity', () => {
    const policy = policyFrom({ container: 'agent' });
    const pod = sandboxPod({
      spec: {
        securityContext: { fsGroup: 2000 },
        initContainers: [{ name: 'setup', image: 'busybox' }],
        containers: [
          { name: 'proxy', image: 'envoy' },
          {
            name: 'agent',
            image: 'registry.example/sandbox:1',
            imagePullPolicy: 'Always',
            securityContext: { runAsUser: 1000, runAsNonRoot: true },
            resources: { limits: { memory: '1Gi' } },
            volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }],
          },
        ],
        volumes: [{ name: 'tmp', emptyDir: {} }],
      },
    });
    const { patch } = review(pod, [policy]);
    expect(patch).toEqual([
      { op: 'add', path: '/spec/volumes/1', value: { name: 'sandbox-storage-workspace', persistentVolumeClaim: { claimName: aliceT1Claim } } },
      { op: 'add', path: '/spec/volumes/2', value: scriptVolume },
      { op: 'add', path: '/spec/containers/1/volumeMounts/1', value: { name: 'sandbox-storage-workspace', mountPath: '/sandbox', subPath: '.sandbox-storage-home' } },
      { op: 'replace', path: '/spec/initContainers/0/image', value: 'registry.example/sandbox:1' },
      { op: 'replace', path: '/spec/initContainers/0/name', value: 'sandbox-storage-seed' },
      {
        op: 'add',
        path: '/spec/initContainers/0/command',
        value: seedCommand(seedParametersFor({ parameters: [{ name: 'SEED_UID', value: '1000' }, { name: 'SEED_GID', value: '2000' }] })),
      },
      {
        op: 'add',
        path: '/spec/initContainers/0/volumeMounts',
        value: [{ name: 'sandbox-storage-workspace', mountPath: '/sandbox-storage/seed-target' }, scriptMount],
      },
      { op: 'add', path: '/spec/initContainers/0/imagePullPolicy', value: 'Always' },
      { op: 'add', path: '/spec/initContainers/0/securityContext', value: { runAsUser: 1000, runAsNonRoot: true } },
      { op: 'add', path: '/spec/initContainers/0/resources', value: { limits: { memory: '1Gi' } } },
      { op: 'add', path: '/spec/initContainers/1', value: { name: 'setup', image: 'busybox' } },
      { op: 'add', path: '/spec/schedulingGates', value: [{ name: 'sandbox-storage.io/storage' }] },
      { op: 'add', path: '/metadata/annotations', value: { 'sandbox-storage.io/policy': 'test' } },
    ]);
    const mutated = applied(pod, patch) as { spec: { initContainers: Array<{ name: string }> } };
    expect(mutated.spec.initContainers.map((container) => container.name)).toEqual(['sandbox-storage-seed', 'setup']);
  });

  it('leaves a pod that brings its own volume at /sandbox alone, with a warning', () => {
    const pod = sandboxPod({
      spec: {
        containers: [{ name: 'sandbox', image: 'i', volumeMounts: [{ name: 'mine', mountPath: '/sandbox' }] }],
        volumes: [{ name: 'mine', emptyDir: {} }],
      },
    });
    const { response, patch, outcome } = review(pod);
    expect(response.allowed).toBe(true);
    expect(patch).toEqual([]);
    expect(response.warnings).toEqual([
      'sandbox-storage: container "sandbox" already mounts volume "mine" at /sandbox; left as is, no storage injected there',
    ]);
    expect(outcome.plan?.claims).toEqual([]);
  });
});

describe('shared mode', () => {
  it('mounts templated subPaths of the shared PVC, read-only where asked, and seeds the read-write one', () => {
    const pod = sandboxPod({
      labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'Alice_Smith', 'sandbox-storage.io/thread': 'T.1' },
    });
    const { patch, outcome } = review(pod, [sharedPolicy]);
    expect(patch).toEqual([
      {
        op: 'add',
        path: '/spec/containers/0/volumeMounts',
        value: [
          { name: 'sandbox-storage-shared', mountPath: '/sandbox', subPath: 'users/_alice___smith/threads/_t.1/user-data' },
          { name: 'sandbox-storage-shared', mountPath: '/skills', subPath: 'users/_alice___smith/skills', readOnly: true },
        ],
      },
      { op: 'add', path: '/spec/volumes', value: [{ name: 'sandbox-storage-shared', persistentVolumeClaim: { claimName: 'sandbox-shared' } }, scriptVolume] },
      { op: 'add', path: '/spec/initContainers', value: [seedContainer({ subPath: 'users/_alice___smith/threads/_t.1/user-data' })] },
      { op: 'add', path: '/spec/schedulingGates', value: [{ name: 'sandbox-storage.io/storage' }] },
      { op: 'add', path: '/metadata/annotations', value: { 'sandbox-storage.io/policy': 'shared' } },
    ]);
    // The shared PVC is planned too, so that Pods wait for it, but it is only created when the policy says so.
    expect(outcome.plan?.claims).toMatchObject([{ name: 'sandbox-shared', role: 'shared', create: false, accessModes: ['ReadWriteMany'] }]);
  });

  it('injects only the mounts whose paths are free, and does not seed a path it did not inject', () => {
    const pod = sandboxPod({
      spec: { containers: [{ name: 'sandbox', image: 'i', volumeMounts: [{ name: 'cache', mountPath: '/sandbox' }] }], volumes: [{ name: 'cache', emptyDir: {} }] },
    });
    const { patch, response } = review(pod, [sharedPolicy]);
    expect(patch).toEqual([
      { op: 'add', path: '/spec/volumes/1', value: { name: 'sandbox-storage-shared', persistentVolumeClaim: { claimName: 'sandbox-shared' } } },
      {
        op: 'add',
        path: '/spec/containers/0/volumeMounts/1',
        value: { name: 'sandbox-storage-shared', mountPath: '/skills', subPath: 'users/alice/skills', readOnly: true },
      },
      { op: 'add', path: '/spec/schedulingGates', value: [{ name: 'sandbox-storage.io/storage' }] },
      { op: 'add', path: '/metadata/annotations', value: { 'sandbox-storage.io/policy': 'shared' } },
    ]);
    expect(response.warnings).toEqual([
      'sandbox-storage: container "sandbox" already mounts volume "cache" at /sandbox; left as is, no storage injected there',
      'sandbox-storage: /sandbox is not injected, so it is not seeded',
    ]);
  });
});

describe('idempotency, generateName, unknown fields', () => {
  const policyShapes: Array<[string, Policy[]]> = [
    ['workspace default', defaultPolicies],
    ['shared two mounts', [sharedPolicy]],
    ['workspace, user scope, no seed', [policyFrom({ workspace: { scope: 'user' }, seed: { enabled: false } })]],
  ];

  it.each(policyShapes)('%s: a second pass over its own output yields no patch', (_, policies) => {
    const pod = sandboxPod();
    const first = review(pod, policies);
    expect(first.patch.length).toBeGreaterThan(0);
    const once = applied(pod, first.patch);
    const second = review(once, policies);
    expect(second.response.allowed).toBe(true);
    expect(second.patch).toEqual([]);
    expect(second.response.warnings).toBeUndefined();
  });

  it('accepts its own output after the API server defaulted it and in-tree plugins added mounts', () => {
    const once = applied(sandboxPod(), review(sandboxPod()).patch) as { spec: { initContainers: Array<Record<string, any>> } };
    const seed = once.spec.initContainers[0]!;
    Object.assign(seed, { terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' });
    seed.volumeMounts.push({ name: 'kube-api-access-x', mountPath: '/var/run/secrets/kubernetes.io/serviceaccount', readOnly: true });
    expect(review(once).patch).toEqual([]);
  });

  it('stays correct when another webhook added a container between passes (reinvocation)', () => {
    const once = applied(sandboxPod(), review(sandboxPod()).patch) as { spec: { containers: unknown[] } };
    once.spec.containers.push({ name: 'sidecar', image: 'sidecar:1' });
    expect(review(once).patch).toEqual([]);
  });

  it('works for pods that only have generateName, and for named pods alike', () => {
    const named = review(sandboxPod({ name: 'sbx-1' }));
    const generated = review(sandboxPod());
    expect(named.patch).toEqual(generated.patch);
  });

  it('never removes or rewrites fields it does not know', () => {
    const pod = sandboxPod() as Record<string, unknown> & { spec: Record<string, unknown> };
    pod.status = { phase: 'Pending' };
    pod.spec.futureSchedulingField = { mode: 'x' };
    (pod.spec.containers as Array<Record<string, unknown>>)[0]!.futureContainerField = [1, 2];
    pod.spec.volumes = [{ name: 'future', futureVolumeSource: { a: 1 } }];
    const { patch } = review(pod);
    expect(patch.every((operation) => (operation as { op: string }).op === 'add')).toBe(true);
    const mutated = applied(pod, patch) as typeof pod;
    expect(mutated.spec.futureSchedulingField).toEqual({ mode: 'x' });
    expect((mutated.spec.containers as Array<Record<string, unknown>>)[0]!.futureContainerField).toEqual([1, 2]);
    expect((mutated.spec.volumes as unknown[])[0]).toEqual({ name: 'future', futureVolumeSource: { a: 1 } });
    expect(mutated.status).toEqual({ phase: 'Pending' });
  });

  it('does not modify the object it was given', () => {
    const pod = sandboxPod();
    const before = structuredClone(pod);
    review(pod);
    expect(pod).toEqual(before);
  });
});

describe('ids that look alike get different storage', () => {
  it.each([
    ['alice', 'Alice'],
    ['alice_1', 'alice-1'],
    ['alice.1', 'alice-1'],
    ['a'.repeat(63), `${'a'.repeat(62)}A`],
  ])('%s vs %s', (left, right) => {
    const claimOf = (user: string) =>
      review(sandboxPod({ labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': user, 'sandbox-storage.io/thread': 't' } }))
        .outcome.plan?.claims[0]?.name;
    const subPathOf = (user: string) =>
      (review(
        sandboxPod({ labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': user, 'sandbox-storage.io/thread': 't' } }),
        [sharedPolicy],
      ).patch.find((operation) => (operation as { path: string }).path === '/spec/containers/0/volumeMounts') as {
        value: Array<{ subPath: string }>;
      }).value[0]?.subPath;
    expect(claimOf(left)).not.toBe(claimOf(right));
    expect(subPathOf(left)).not.toBe(subPathOf(right));
  });
});

describe('denials name the label, the rule and the policy', () => {
  const selected = 'selected by sandbox-storage.io/inject=true';
  it.each([
    [
      'missing user label',
      { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/thread': 't1' },
      `sandbox-storage: label sandbox-storage.io/user (the user id) is required on sandbox pods selected by policy "default" (${selected})`,
    ],
    [
      'missing thread label',
      { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'alice' },
      `sandbox-storage: label sandbox-storage.io/thread (the thread id) is required on sandbox pods selected by policy "default" (${selected})`,
    ],
    [
      'both missing',
      { 'sandbox-storage.io/inject': 'true' },
      `sandbox-storage: label sandbox-storage.io/user (the user id) is required on sandbox pods selected by policy "default" (${selected}); label sandbox-storage.io/thread (the thread id) is required on sandbox pods selected by policy "default" (${selected})`,
    ],
    [
      'empty user',
      { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': '', 'sandbox-storage.io/thread': 't1' },
      `sandbox-storage: label sandbox-storage.io/user (the user id) must not be empty (policy "default") (${selected})`,
    ],
    [
      'too long',
      { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'a'.repeat(64), 'sandbox-storage.io/thread': 't1' },
      `sandbox-storage: label sandbox-storage.io/user (the user id) has invalid value "${'a'.repeat(64)}": must be no more than 63 characters (${selected})`,
    ],
    [
      'bad characters',
      { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'alice', 'sandbox-storage.io/thread': '../etc' },
      `sandbox-storage: label sandbox-storage.io/thread (the thread id) has invalid value "../etc": must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (${selected})`,
    ],
  ])('%s', (_, labels, message) => {
    const { response, patch } = review(sandboxPod({ labels }));
    expect(response.allowed).toBe(false);
    expect(response.status).toEqual({ code: 403, reason: 'Forbidden', message });
    expect(patch).toEqual([]);
  });

  it('a container the policy names but the pod lacks', () => {
    const { response } = review(sandboxPod(), [policyFrom({ container: 'agent' })]);
    expect(response.status?.message).toBe(
      `sandbox-storage: policy "test" mounts storage into container "agent", but the pod has no such container (containers: sandbox) (${selected})`,
    );
  });

  it('a pod volume that takes the injected volume name', () => {
    const pod = sandboxPod({
      spec: { containers: [{ name: 'sandbox', image: 'i' }], volumes: [{ name: 'sandbox-storage-workspace', emptyDir: {} }] },
    });
    const { response } = review(pod);
    expect(response.allowed).toBe(false);
    expect(response.status?.message).toBe(
      'sandbox-storage: the pod already has a volume named "sandbox-storage-workspace" that differs from the one policy "default" injects; rename it',
    );
  });
});

describe('audit mode', () => {
  it('admits a pod the policy would deny, unchanged, and says what enforcement would refuse', () => {
    const audit = policyFrom({ enforcement: 'audit' }, 'rollout');
    const pod = sandboxPod({ labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/thread': 't1' } });
    const { outcome, response, patch } = review(pod, [audit]);
    expect(outcome.result).toBe('audited');
    expect(response.allowed).toBe(true);
    expect(patch).toEqual([]);
    expect(response.warnings).toEqual([
      'sandbox-storage: audit mode, policy "rollout" would deny: label sandbox-storage.io/user (the user id) is required on sandbox pods selected by policy "rollout" (selected by sandbox-storage.io/inject=true)',
    ]);
    expect(response.auditAnnotations).toEqual({ policy: 'rollout' });
  });

  it('still injects storage into pods that follow the policy', () => {
    const { outcome, patch } = review(sandboxPod(), [policyFrom({ enforcement: 'audit' })]);
    expect(outcome.result).toBe('mutated');
    expect(patch.map((operation) => (operation as { path: string }).path)).toContain('/spec/volumes');
  });
});

describe('selection', () => {
  it('passes pods without the opt-in label untouched, without an annotation or plan', () => {
    const pod = sandboxPod({ labels: { 'sandbox-storage.io/user': 'alice' } });
    const { outcome, response } = review(pod);
    expect(outcome.result).toBe('skipped');
    expect(response).toEqual({ uid: 'f0e1d2c3-0000-4000-8000-000000000001', allowed: true });
  });

  it('ignores operations other than CREATE and objects other than Pods', () => {
    expect(review(sandboxPod(), defaultPolicies, { operation: 'UPDATE' }).outcome.result).toBe('skipped');
    expect(
      review(sandboxPod(), defaultPolicies, { kind: { group: 'apps', version: 'v1', kind: 'Deployment' } }).outcome.result,
    ).toBe('skipped');
    expect(review(sandboxPod(), defaultPolicies, { subResource: 'ephemeralcontainers' }).outcome.result).toBe('skipped');
  });

  it('applies the most specific matching policy, then the first by name', () => {
    const general = policyFrom({}, 'a-general');
    const specific = policyFrom({ podSelector: { matchLabels: { 'sandbox-storage.io/inject': 'true', tier: 'gpu' } }, seed: { enabled: false } }, 'z-gpu');
    const byNamespace = policyFrom({ namespaceSelector: { matchLabels: { team: 'ml' } } }, 'm-team');
    const gpuPod = sandboxPod({ labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'u', 'sandbox-storage.io/thread': 't', tier: 'gpu' } });
    const decide = (pod: unknown, namespaceLabels?: Record<string, string>) =>
      reviewPodMutation(admissionReviewFor(pod).request as AdmissionRequest, { policies: [general, specific, byNamespace], namespaceLabels }).review.response;
    expect(decide(gpuPod).auditAnnotations).toEqual({ policy: 'z-gpu' });
    expect(decide(gpuPod).warnings).toEqual(['sandbox-storage: policy "z-gpu" applied; also matching, ignored: a-general']);
    expect(decide(sandboxPod(), { team: 'ml' }).auditAnnotations).toEqual({ policy: 'm-team' });
    expect(decide(sandboxPod(), { team: 'web' }).auditAnnotations).toEqual({ policy: 'a-general' });
  });

  it('applies the first matching policy by name among equally specific ones and says which ones it ignored', () => {
    const a = policyFrom({ seed: { enabled: false } }, 'a-first');
    const b = policyFrom({}, 'b-second');
    const { response } = review(sandboxPod(), [b, a]);
    expect(response.auditAnnotations).toEqual({ policy: 'a-first' });
    expect(response.warnings).toEqual(['sandbox-storage: policy "a-first" applied; also matching, ignored: b-second']);
  });

  it('matches namespace selectors against the namespace labels it is given', () => {
    const policy = policyFrom({ namespaceSelector: { matchLabels: { tier: 'agents' } } });
    const request = admissionReviewFor(sandboxPod()).request as AdmissionRequest;
    const matching = reviewPodMutation(request, { policies: [policy], namespaceLabels: { tier: 'agents' } });
    const other = reviewPodMutation(request, { policies: [policy], namespaceLabels: { tier: 'web' } });
    const unknown = reviewPodMutation(request, { policies: [policy] });
    expect(matching.result).toBe('mutated');
    expect(other.result).toBe('skipped');
    expect(unknown.result).toBe('skipped');
  });
});
