// The seed init container the planning core injects: who it runs as per Pod Security level, the seed options it
// passes to the script, shell-less images, and the image-volume seeder. Pure planning, no I/O.
import type { V1Container, V1Pod, V1Volume } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { planPod } from '../../src/admission/plan-pod.ts';
import type { PlanRequest } from '../../src/admission/plan-types.ts';
import { seedImageVolumeName, seedContainerName } from '../../src/admission/seed-container.ts';
import { seedScriptMountPath, seedScriptVolumeName } from '../../src/admission/seed-script-delivery.ts';
import { validatePolicyDocument } from '../../src/policy/validate.ts';
import { policyFrom, sandboxPod } from '../fixtures/pods.ts';
import { seedParameters } from '../harness/seed-parameters.ts';

function request(namespaceLabels?: Record<string, string>): PlanRequest {
  return { operation: 'CREATE', namespace: 'agents', dryRun: false, userInfo: {}, ...(namespaceLabels ? { namespaceLabels } : {}) };
}

function podWith(sandbox: Partial<V1Container>, podSpec: Record<string, unknown> = {}, annotations?: Record<string, string>) {
  const pod = sandboxPod({
    spec: { containers: [{ name: 'sandbox', image: 'registry.example/sandbox:2', ...sandbox }], ...podSpec },
  }) as unknown as V1Pod;
  if (annotations) pod.metadata = { ...pod.metadata, annotations };
  return pod;
}

function plan(pod: V1Pod, spec: Record<string, unknown> = {}, namespaceLabels?: Record<string, string>) {
  const result = planPod(pod, [policyFrom(spec)], request(namespaceLabels));
  const mutated = result.mutated as V1Pod | undefined;
  const seed = mutated?.spec?.initContainers?.find((container) => container.name === seedContainerName);
  return { result, mutated, seed };
}

const env = seedParameters;

const restrictedSandbox: Partial<V1Container> = {
  securityContext: {
    runAsNonRoot: true,
    runAsUser: 1000,
    runAsGroup: 1000,
    allowPrivilegeEscalation: false,
    capabilities: { drop: ['ALL'] },
    seccompProfile: { type: 'RuntimeDefault' },
  },
};

const rootSeeder = {
  runAsUser: 0,
  runAsGroup: 0,
  runAsNonRoot: false,
  allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'], add: ['CHOWN', 'DAC_OVERRIDE', 'FOWNER', 'FSETID'] },
  seccompProfile: { type: 'RuntimeDefault' },
};

describe('who the seed container runs as (spec.seed.runAs)', () => {
  it('auto, namespace labels unknown, a sandbox uid without runAsNonRoot: root with only the chown capabilities', () => {
    const { seed } = plan(podWith({ securityContext: { runAsUser: 1000 } }, { securityContext: { fsGroup: 3000 } }));
    expect(seed?.securityContext).toEqual(rootSeeder);
    expect(env(seed)).toMatchObject({ SEED_UID: '1000', SEED_GID: '3000' });
  });

  it('auto, a Pod written for restricted (runAsNonRoot): runs as the sandbox itself, no chown', () => {
    const { seed } = plan(podWith(restrictedSandbox));
    expect(seed?.securityContext).toEqual(restrictedSandbox.securityContext);
    expect(env(seed)).toMatchObject({ SEED_UID: '1000', SEED_GID: '1000' });
  });

  it('auto with namespace labels: restricted → sandbox user; baseline or privileged → root, even with runAsNonRoot', () => {
    const restricted = plan(podWith(restrictedSandbox), {}, { 'pod-security.kubernetes.io/enforce': 'restricted' });
    expect(restricted.seed?.securityContext).toEqual(restrictedSandbox.securityContext);
    for (const level of ['baseline', 'privileged']) {
      const { seed } = plan(podWith(restrictedSandbox), {}, { 'pod-security.kubernetes.io/enforce': level });
      expect(seed?.securityContext, level).toEqual(rootSeeder);
    }
    const unlabelled = plan(podWith({ securityContext: { runAsUser: 1000 } }), {}, { team: 'a' });
    expect(unlabelled.seed?.securityContext).toEqual(rootSeeder);
  });

  it('auto without any sandbox uid or gid: nothing to chown to, so the seed runs like the sandbox', () => {
    const { seed } = plan(podWith({}));
    expect(seed?.securityContext).toBeUndefined();
    expect(env(seed)).not.toHaveProperty('SEED_UID');
  });

  it('root and sandboxUser are taken as written', () => {
    expect(plan(podWith(restrictedSandbox), { seed: { runAs: 'root' } }).seed?.securityContext).toEqual(rootSeeder);
    const asUser = plan(podWith({ securityContext: { runAsUser: 1000 } }), { seed: { runAs: 'sandboxUser' } });
    expect(asUser.seed?.securityContext).toEqual({ runAsUser: 1000 });
  });
});

describe('seed options passed to the script', () => {
  it('merge with no owned paths is the default and adds no variables', () => {
    const { seed } = plan(podWith({}));
    expect(Object.keys(env(seed)).sort()).toEqual(['SEED_HOME', 'SEED_IMAGE', 'SEED_SENTINEL', 'SEED_SOURCE', 'SEED_TARGET']);
    expect(env(seed).SEED_IMAGE).toBe('registry.example/sandbox:2');
    // Set by the command's first line: no env list in the Pod spec.
    expect(seed?.env).toBeUndefined();
  });

  it('values reach the script exactly, whatever the Pod\'s author put in them: quotes, $(...), $$, newlines', () => {
    const image = "registry.example/x:1'$(touch /tmp/pwned)$$;`id`\n\\'\"";
    const { seed } = plan(podWith({ image }), { seed: { imageOwnedPaths: ["it's", 'a\nb', '$(HOME)'] } });
    expect(env(seed)).toMatchObject({ SEED_IMAGE: image, SEED_IMAGE_OWNED: "it's\na\nb\n$(HOME)" });
  });

  it('reseed never and image-owned paths', () => {
    const { seed } = plan(podWith({}), { seed: { reseed: 'never', imageOwnedPaths: ['.skills', 'bin/agent-tool'] } });
    expect(env(seed)).toMatchObject({ SEED_RESEED: 'never', SEED_IMAGE_OWNED: '.skills\nbin/agent-tool' });
  });
});

describe('images without a shell', () => {
  it('a Pod declaring a shell-less image gets no seed container and a clear warning, not a crash loop', () => {
    const { result, mutated, seed } = plan(podWith({}, {}, { 'sandbox-storage.io/image-has-shell': 'false' }));
    expect(seed).toBeUndefined();
    expect(mutated?.spec?.containers[0]?.volumeMounts).toContainEqual({ name: 'sandbox-storage-workspace', mountPath: '/sandbox' });
    expect(result.warnings).toEqual([
      'sandbox-storage: /sandbox is not seeded: the pod declares its image has no shell (sandbox-storage.io/image-has-shell: "false") and policy "test" seeds with the image\'s shell; set spec.seed.source: imageVolume to seed shell-less images',
    ]);
  });

  it('spec.seed.source imageVolume: the seeder image runs the script on the sandbox image mounted read-only', () => {
    const spec = { seed: { source: 'imageVolume', seederImage: 'registry.example/sandbox-storage:0.1.0' } };
    const pod = podWith({ imagePullPolicy: 'IfNotPresent' }, {}, { 'sandbox-storage.io/image-has-shell': 'false' });
    const { result, mutated, seed } = plan(pod, spec);
    expect(result.warnings).toEqual([]);
    expect(seed?.image).toBe('registry.example/sandbox-storage:0.1.0');
    expect(seed?.imagePullPolicy).toBeUndefined();
    expect(env(seed)).toMatchObject({ SEED_SOURCE: '/sandbox-storage/seed-image/sandbox', SEED_IMAGE: 'registry.example/sandbox:2' });
    expect(seed?.volumeMounts).toEqual([
      { name: 'sandbox-storage-workspace', mountPath: '/sandbox-storage/seed-target' },
      { name: 'sandbox-storage-seed-script', mountPath: '/sandbox-storage/seed-script', readOnly: true },
      { name: seedImageVolumeName, mountPath: '/sandbox-storage/seed-image', readOnly: true },
    ]);
    expect(mutated?.spec?.volumes).toContainEqual({
      name: seedImageVolumeName,
      image: { reference: 'registry.example/sandbox:2', pullPolicy: 'IfNotPresent' },
    } satisfies V1Volume);

    // Reinvocation (the API server calls the webhook again) changes nothing.
    const again = planPod(mutated, [policyFrom(spec)], request());
    expect(again.mutated).toEqual(mutated);
  });
});

describe('what the sandbox mounts at the seed path', () => {
  const home = { name: 'sandbox-storage-workspace', mountPath: '/sandbox', subPath: '.sandbox-storage-home' };
  const sharedSpec = {
    mode: 'shared',
    shared: { claimName: 'sandbox-shared', mounts: [{ subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox' }] },
  };

  it('a seeded workspace: the home directory the seeder makes, the seeder the volume root; a reinvocation changes nothing', () => {
    const { mutated, seed } = plan(podWith(restrictedSandbox), {}, { 'pod-security.kubernetes.io/enforce': 'restricted' });
    expect(mutated?.spec?.containers[0]?.volumeMounts).toEqual([home]);
    expect(seed?.volumeMounts).toEqual([
      { name: 'sandbox-storage-workspace', mountPath: '/sandbox-storage/seed-target' },
      { name: seedScriptVolumeName, mountPath: seedScriptMountPath, readOnly: true },
    ]);
    expect(env(seed).SEED_HOME).toBe('.sandbox-storage-home');
    const again = planPod(mutated, [policyFrom({})], request({ 'pod-security.kubernetes.io/enforce': 'restricted' }));
    expect(again.mutated).toEqual(mutated);
  });

  it('the image-volume seeder too (its script is the project\'s, so it is the home directory)', () => {
    const spec = { seed: { source: 'imageVolume', seederImage: 'registry.example/sandbox-storage:0.1.0' } };
    const { mutated, seed } = plan(podWith({}, {}, { 'sandbox-storage.io/image-has-shell': 'false' }), spec);
    expect(mutated?.spec?.containers[0]?.volumeMounts).toEqual([home]);
    expect(env(seed).SEED_HOME).toBe('.sandbox-storage-home');
  });

  it('no seeder (seeding off, or a shell-less image): the volume root, as nobody makes or checks a home directory', () => {
    for (const [spec, annotations] of [
      [{ seed: { enabled: false } }, undefined],
      [{}, { 'sandbox-storage.io/image-has-shell': 'false' }],
    ] as const) {
      const { mutated, seed } = plan(podWith({}, {}, annotations), spec);
      expect(seed).toBeUndefined();
      expect(mutated?.spec?.containers[0]?.volumeMounts).toEqual([{ name: 'sandbox-storage-workspace', mountPath: '/sandbox' }]);
    }
  });

  it('a shared volume: the identity\'s directory itself, no home directory (the seeder runs the tenant\'s image there)', () => {
    const pod = podWith({});
    pod.metadata!.labels = { ...pod.metadata!.labels, 'sandbox-storage.io/thread': 't1' };
    const { mutated, seed } = plan(pod, sharedSpec);
    expect(mutated?.spec?.containers[0]?.volumeMounts).toEqual([
      { name: 'sandbox-storage-shared', mountPath: '/sandbox', subPath: 'users/alice/threads/t1/user-data' },
    ]);
    expect(env(seed).SEED_HOME).toBeUndefined();
  });

  it('a Pod that mounts the workspace at the seed path with a subPath of its own keeps it; the seeder then uses no home directory', () => {
    const { mutated, seed } = plan(podWith({ volumeMounts: [{ name: 'sandbox-storage-workspace', mountPath: '/sandbox', subPath: 'mine' }] }));
    expect(mutated?.spec?.containers[0]?.volumeMounts).toEqual([{ name: 'sandbox-storage-workspace', mountPath: '/sandbox', subPath: 'mine' }]);
    expect(env(seed).SEED_HOME).toBeUndefined();
  });
});

describe('validation of spec.seed options', () => {
  const fields = (seed: Record<string, unknown>) =>
    validatePolicyDocument({ apiVersion: 'sandbox-storage.io/v1alpha1', kind: 'SandboxStoragePolicy', metadata: { name: 'p' }, spec: { seed } }).errors.map(
      (error) => `${error.field}: ${error.message}`,
    );

  it('accepts every documented value', () => {
    expect(fields({ reseed: 'never', imageOwnedPaths: ['.skills', 'a/b'], source: 'imageVolume', seederImage: 'r.example/s:1', runAs: 'sandboxUser' })).toEqual([]);
  });

  it('reports every problem at once, as the API server would (the schema is the CRD\'s)', () => {
    expect(fields({ reseed: 'always', source: 'volume', runAs: 'admin', imageOwnedPaths: ['/abs', 'x', 'x', 'trailing/'] })).toEqual([
      'spec.seed.reseed: Unsupported value: "always": supported values: "merge", "never"',
      "spec.seed.imageOwnedPaths[0]: Invalid value: \"/abs\": spec.seed.imageOwnedPaths[0] in body should match '^[^/]+(/[^/]+)*$'",
      "spec.seed.imageOwnedPaths[3]: Invalid value: \"trailing/\": spec.seed.imageOwnedPaths[3] in body should match '^[^/]+(/[^/]+)*$'",
      'spec.seed.imageOwnedPaths[2]: Duplicate value: "x"',
      'spec.seed.source: Unsupported value: "volume": supported values: "shell", "imageVolume"',
      'spec.seed.runAs: Unsupported value: "admin": supported values: "auto", "root", "sandboxUser"',
      '<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
    ]);
    expect(fields({ imageOwnedPaths: ['a/../b', './c'] })).toEqual([
      "spec.seed.imageOwnedPaths[0]: Invalid value: \"a/../b\": must be a normalised relative path: no '.' or '..' segments",
      "spec.seed.imageOwnedPaths[1]: Invalid value: \"./c\": must be a normalised relative path: no '.' or '..' segments",
    ]);
    expect(fields({ source: 'imageVolume' })).toEqual([
      'spec.seed.seederImage: Invalid value: source imageVolume runs the seeder in seederImage, which must be set',
    ]);
  });

  it('scriptDelivery imageVolume needs scriptImage pinned by digest; scriptImage needs that delivery', () => {
    const digest = `sha256:${'0'.repeat(64)}`;
    expect(fields({ scriptDelivery: 'imageVolume', scriptImage: `registry.example/sandbox-storage@${digest}` })).toEqual([]);
    expect(fields({ scriptDelivery: 'inline' })).toEqual([]);
    const unpinned = 'spec.seed.scriptImage: Invalid value: scriptDelivery imageVolume needs scriptImage: the sandbox-storage image pinned by digest (name@sha256:<64 hex digits>)';
    for (const scriptImage of ['', 'registry.example/sandbox-storage:0.1.0', `registry.example/sandbox-storage:0.1.0@sha256:${'0'.repeat(63)}`, `@${digest}`, `a b@${digest}`]) {
      expect(fields({ scriptDelivery: 'imageVolume', scriptImage }), scriptImage).toEqual([unpinned]);
    }
    expect(fields({ scriptImage: `registry.example/sandbox-storage@${digest}` })).toEqual([
      'spec.seed.scriptImage: Invalid value: scriptImage is used only with scriptDelivery imageVolume',
    ]);
    expect(fields({ scriptDelivery: 'file' })).toEqual([
      'spec.seed.scriptDelivery: Unsupported value: "file": supported values: "configMap", "imageVolume", "inline"',
      '<nil>: Invalid value: null: some validation rules were not checked because the object was invalid; correct the existing errors to complete validation',
    ]);
  });
});
