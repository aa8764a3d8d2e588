// The seed init container and the directory-preparation Pod through the real API server's PodSecurity admission:
// namespaces labelled pod-security.kubernetes.io/enforce restricted or baseline, the shipped webhook registered.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rootSeederCapabilities, seedContainerName, seedImageVolumeName } from '../../src/admission/seed-container.ts';
import { buildPreparationPod, preparationPlan } from '../../src/controller/directory-preparation.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import type { Policy } from '../../src/policy/types.ts';
import { policyFrom } from '../fixtures/pods.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { seedParameters } from '../harness/seed-parameters.ts';
import {
  registerShippedWebhook,
  startTestWebhook,
  type RunningWebhook,
} from '../harness/webhook.ts';

let controlPlane: ControlPlane;
let webhook: RunningWebhook;
let core: k8s.CoreV1Api;
const namespaces = { restricted: '', baseline: '' };
const cleanups: Array<() => Promise<unknown>> = [];

const labels = { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'alice', 'sandbox-storage.io/thread': 't1' };

/** A sandbox Pod that satisfies the restricted profile on its own. */
function restrictedPod(annotations: Record<string, string> = {}): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'sandbox-', labels, annotations },
    spec: {
      securityContext: { runAsNonRoot: true, runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000, seccompProfile: { type: 'RuntimeDefault' } },
      containers: [
        {
          name: 'sandbox',
          image: 'registry.example/sandbox:2',
          command: ['sleep', 'infinity'],
          securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
        },
      ],
    },
  };
}

/** A sandbox Pod for a baseline namespace: a fixed uid, but nothing that only restricted asks for. */
function baselinePod(): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'sandbox-', labels },
    spec: {
      securityContext: { runAsUser: 1000, runAsGroup: 1000 },
      containers: [{ name: 'sandbox', image: 'registry.example/sandbox:2', command: ['sleep', 'infinity'] }],
    },
  };
}

async function refusal(namespace: string, body: k8s.V1Pod): Promise<string> {
  try {
    await core.createNamespacedPod({ namespace, body, dryRun: 'All' });
  } catch (error) {
    if (error instanceof k8s.ApiException) {
      const status = typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
      return `${error.code} ${status.message as string}`;
    }
    throw error;
  }
  throw new Error('expected the API server to refuse the pod');
}

function withPolicies<T>(policies: Policy[], body: () => Promise<T>): Promise<T> {
  webhook.setPolicies(policies);
  return body().finally(() => webhook.setPolicies(embeddedDefaultPolicies()));
}

const seedOf = (pod: k8s.V1Pod) => pod.spec?.initContainers?.find((container) => container.name === seedContainerName);

beforeAll(async () => {
  controlPlane = await startControlPlane();
  cleanups.push(() => controlPlane.stop());
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  namespaces.restricted = await createTestNamespace(controlPlane, 'seed-restricted', {
    'pod-security.kubernetes.io/enforce': 'restricted',
    'pod-security.kubernetes.io/enforce-version': 'latest',
  });
  namespaces.baseline = await createTestNamespace(controlPlane, 'seed-baseline', { 'pod-security.kubernetes.io/enforce': 'baseline' });
  webhook = await startTestWebhook(embeddedDefaultPolicies());
  cleanups.unshift(() => webhook.stop());
  cleanups.unshift(
    await registerShippedWebhook(controlPlane.kubeConfig, { url: webhook.url, caPem: webhook.tls.caPem }, { namespace: namespaces.restricted, pod: restrictedPod(), isMutated: (created) => seedOf(created) !== undefined }),
  );
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe('the mutated sandbox Pod under PodSecurity admission', () => {
  it('restricted: the Pod with the injected seed container is admitted (stored, not only dry-run)', async () => {
    const created = await core.createNamespacedPod({ namespace: namespaces.restricted, body: restrictedPod() });
    const seed = seedOf(created);
    expect(seed?.securityContext).toMatchObject({ allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } });
    expect(seed?.securityContext?.runAsUser).toBeUndefined(); // the Pod's runAsUser 1000 applies: no chown possible
    expect(seedParameters(seed)).toMatchObject({ SEED_UID: '1000' });
    expect(created.spec?.volumes?.some((volume) => volume.name === 'sandbox-storage-workspace')).toBe(true);
  });

  it('restricted: a root seeder (spec.seed.runAs root) is refused by PodSecurity — the case auto avoids', async () => {
    const message = await withPolicies([policyFrom({ seed: { runAs: 'root' } }, 'default')], () => refusal(namespaces.restricted, restrictedPod()));
    expect(message).toMatch(/^403 .*violates PodSecurity "restricted:latest"/);
    expect(message).toContain(`container "${seedContainerName}"`);
  });

  it('baseline: the root seeder with only CHOWN, DAC_OVERRIDE, FOWNER, FSETID is admitted and chowns to 1000:1000', async () => {
    const created = await core.createNamespacedPod({ namespace: namespaces.baseline, body: baselinePod() });
    const seed = seedOf(created);
    expect(seed?.securityContext).toMatchObject({ runAsUser: 0, capabilities: { drop: ['ALL'], add: rootSeederCapabilities } });
    expect(seedParameters(seed)).toMatchObject({ SEED_UID: '1000', SEED_GID: '1000' });
  });

  it('restricted, shell-less image declared: admitted without a seed container', async () => {
    const created = await core.createNamespacedPod({
      namespace: namespaces.restricted,
      body: restrictedPod({ 'sandbox-storage.io/image-has-shell': 'false' }),
      dryRun: 'All',
    });
    expect(seedOf(created)).toBeUndefined();
    expect(created.spec?.containers[0]?.volumeMounts?.some((mount) => mount.mountPath === '/sandbox')).toBe(true);
  });

  it('restricted, spec.seed.source imageVolume: the seeder with the sandbox image as an image volume is admitted', async () => {
    const policy = policyFrom({ seed: { source: 'imageVolume', seederImage: 'registry.example/sandbox-storage:0.1.0' } }, 'default');
    const created = await withPolicies([policy], () =>
      core.createNamespacedPod({ namespace: namespaces.restricted, body: restrictedPod({ 'sandbox-storage.io/image-has-shell': 'false' }), dryRun: 'All' }),
    );
    expect(seedOf(created)?.image).toBe('registry.example/sandbox-storage:0.1.0');
    expect(created.spec?.volumes).toContainEqual(
      expect.objectContaining({ name: seedImageVolumeName, image: expect.objectContaining({ reference: 'registry.example/sandbox:2' }) }),
    );
  });
});

describe('the directory-preparation Pod', () => {
  const sharedPolicy = policyFrom({
    mode: 'shared',
    shared: { claimName: 'sandbox-shared', mounts: [{ subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox' }] },
  });
  const plan = preparationPlan(sharedPolicy, { user: 'alice', thread: 't1' });
  const options = { name: 'prepare-alice', claimName: 'share-admin', plan, uid: 1000, gid: 1000, image: 'registry.example/sandbox-storage:0.1.0' };

  it('as root, in a baseline namespace (the controller\'s): accepted', async () => {
    const pod = buildPreparationPod({ ...options, namespace: namespaces.baseline });
    const created = await core.createNamespacedPod({ namespace: namespaces.baseline, body: pod, dryRun: 'All' });
    expect(created.spec?.containers[0]?.volumeMounts?.[0]?.subPath).toBe('users/alice');
    expect(created.spec?.containers[0]?.securityContext?.capabilities?.add).toEqual(['CHOWN', 'DAC_OVERRIDE', 'FOWNER']);
  });

  it('as root, in a restricted namespace: refused, which is why it runs in the controller\'s namespace', async () => {
    const message = await refusal(namespaces.restricted, buildPreparationPod({ ...options, namespace: namespaces.restricted }));
    expect(message).toMatch(/^403 .*violates PodSecurity "restricted:latest"/);
  });

  it('as the identity (root_squash variant): accepted even in a restricted namespace', async () => {
    const pod = buildPreparationPod({ ...options, namespace: namespaces.restricted, runAs: 'identity' });
    const created = await core.createNamespacedPod({ namespace: namespaces.restricted, body: pod, dryRun: 'All' });
    expect(created.spec?.containers[0]?.volumeMounts?.[0]?.subPath).toBe('users');
  });
});
