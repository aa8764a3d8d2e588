// Planting storage for a victim's sandbox, attempted through a real kube-apiserver + etcd + kube-controller-manager
// (whose ephemeral-volume controller really creates the PVCs of generic ephemeral volumes) by impersonated
// requesters: a user who may only create (and get) Pods, a user who may create PVCs, the trusted spawner and the
// exempt gateway. The shipped webhook registrations are in force; the controller runs with the shipped RBAC.
// A PVC planted before the webhooks were registered is never used: only PVCs proven by the controller are.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ownershipProof } from '../../src/admission/ownership-proof.ts';
import { planPod } from '../../src/admission/plan-pod.ts';
import { claimLookupFromCache } from '../../src/kube/claim-lookup.ts';
import { loadKubeConfig } from '../../src/kube/kube-config.ts';
import { workspaceClaimName, workspaceIdentityHash } from '../../src/naming/identity-names.ts';
import { examplePolicy, podWith, sandboxLabels } from '../fixtures/isolation.ts';
import { policyFrom, schedulingGatesOf } from '../fixtures/pods.ts';
import { startTestController, testOwnershipKey, type TestController } from '../harness/controller.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import {
  impersonating,
  registerValidatingWebhook,
  shippedValidatingWebhook,
  startIsolationWebhook,
  waitUntilValidatingWebhookActive,
  type Requester,
  refusal,
} from '../harness/isolation.ts';
import { serviceAccountKubeconfig } from '../harness/service-account.ts';
import { waitFor } from '../harness/wait.ts';
import { registerMutatingWebhook, shippedMutatingWebhook, waitUntilWebhookActive, type RunningWebhook } from '../harness/webhook.ts';
import { storageSchedulingGate } from '../../src/labels.ts';

const as = {
  /** May only create and get Pods: Pod create must not be PVC create. */
  alice: { username: 'alice', group: 'tenants' },
  /** May create and change PVCs (and Pods) in the namespace. */
  mallory: { username: 'mallory', group: 'tenants' },
  spawner: { username: 'system:serviceaccount:platform:spawner', group: 'system:serviceaccounts:platform' },
  gateway: { username: 'system:serviceaccount:platform:gateway', group: 'system:serviceaccounts:platform' },
} satisfies Record<string, Requester>;

const example = examplePolicy('workspace');
// The gateway is exempt under every policy here: a snapshot restore needs the exemption of all of them.
const workspace = { ...example, spec: { ...example.spec, isolation: { ...example.spec.isolation, exemptions: { users: [as.gateway.username], groups: [] } } } };
// The team's shared claim, created by its admin (the gateway, exempt) rather than by the controller.
const team = policyFrom(
  {
    podSelector: { matchLabels: { 'example.com/team': 'yes' } },
    mode: 'shared',
    shared: { claimName: 'team-data' },
    isolation: { exemptions: { users: [as.gateway.username] } },
  },
  'team',
);

let controlPlane: ControlPlane;
let namespace: string;
let controllerUsername: string;
let webhook: RunningWebhook;
let controller: TestController;
let admin: k8s.CoreV1Api;
const cleanups: Array<() => Promise<unknown>> = [];

const claimOf = (user: string) => workspaceClaimName('sandbox-', { scope: 'thread', user, thread: 't1' });
const victimClaim = claimOf('victim');
const earlyPlantPod = { name: '', claim: '' };

function core(requester: Requester): k8s.CoreV1Api {
  return impersonating(controlPlane.kubeConfig, requester).makeApiClient(k8s.CoreV1Api);
}

/** The labels a planted PVC carries to pass for `user`'s workspace: anyone can compute them. */
function forgedLabels(user: string): Record<string, string> {
  return {
    'app.kubernetes.io/managed-by': 'sandbox-storage-webhook',
    'sandbox-storage.io/policy': 'workspace',
    'sandbox-storage.io/user': user,
    'sandbox-storage.io/thread': 't1',
    'sandbox-storage.io/identity-hash': workspaceIdentityHash({ scope: 'thread', user, thread: 't1' }),
  };
}

/** A Pod whose generic ephemeral volume makes kube-controller-manager create PVC `<pod name>-<volume name>`. */
function plantingPod(
  name: { name: string } | { generateName: string },
  volumeName: string,
  template: { labels?: Record<string, string>; annotations?: Record<string, string>; spec?: Record<string, unknown> } = {},
): k8s.V1Pod {
  return {
    metadata: { ...name },
    spec: {
      containers: [{ name: 'main', image: 'registry.example/tools:1', volumeMounts: [{ name: volumeName, mountPath: '/planted' }] }],
      volumes: [
        {
          name: volumeName,
          ephemeral: {
            volumeClaimTemplate: {
              metadata: { ...(template.labels ? { labels: template.labels } : {}), ...(template.annotations ? { annotations: template.annotations } : {}) },
              spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...template.spec },
            },
          },
        },
      ],
    },
  };
}

/** Splits a workspace PVC name into a Pod name and a volume name whose join (with "-") is that PVC name. */
function podAndVolumeFor(claimName: string): { pod: string; volume: string } {
  const at = claimName.indexOf('-t1-');
  return { pod: claimName.slice(0, at), volume: claimName.slice(at + 1) };
}

function claimBody(name: string, metadata: Partial<k8s.V1ObjectMeta> = {}, spec: Partial<k8s.V1PersistentVolumeClaimSpec> = {}): k8s.V1PersistentVolumeClaim {
  return { metadata: { name, ...metadata }, spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, ...spec } };
}

async function expectRefused(attempt: Promise<unknown>, webhookName: string, ...patterns: RegExp[]): Promise<string> {
  const refused = await refusal(attempt);
  expect(refused.code).toBe(403);
  expect(refused.message).toContain(`admission webhook "${webhookName}" denied the request`);
  for (const pattern of patterns) expect(refused.message).toMatch(pattern);
  return refused.message;
}

async function readClaim(name: string): Promise<k8s.V1PersistentVolumeClaim | undefined> {
  try {
    return await admin.readNamespacedPersistentVolumeClaim({ namespace, name });
  } catch (error) {
    if (error instanceof k8s.ApiException && error.code === 404) return undefined;
    throw error;
  }
}

async function waitForEvent(kind: string, name: string, reason: string): Promise<k8s.CoreV1Event> {
  return waitFor(
    async () =>
      (await admin.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.kind=${kind},involvedObject.name=${name}` })).items.find(
        (event) => event.reason === reason,
      ),
    { description: `a ${reason} Event on ${kind} ${name}`, timeoutMs: 60_000 },
  );
}

async function unprovenCount(): Promise<number> {
  const metric = await controller.registry.getSingleMetric('sandbox_storage_unproven_claims_total')?.get();
  return (metric?.values ?? []).filter((value) => value.labels.namespace === namespace).reduce((sum, value) => sum + value.value, 0);
}

async function grant(name: string, rules: k8s.V1PolicyRule[], subjects: k8s.RbacV1Subject[]): Promise<void> {
  const rbac = controlPlane.kubeConfig.makeApiClient(k8s.RbacAuthorizationV1Api);
  await rbac.createNamespacedRole({ namespace, body: { metadata: { name }, rules } });
  await rbac.createNamespacedRoleBinding({
    namespace,
    body: { metadata: { name }, roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name }, subjects },
  });
}

const user = (name: string): k8s.RbacV1Subject => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name });

beforeAll(async () => {
  controlPlane = await startControlPlane({ controllerManager: true });
  cleanups.push(() => controlPlane.stop());
  admin = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  namespace = await createTestNamespace(controlPlane, 'ownership');
  const systemNamespace = await createTestNamespace(controlPlane, 'sandbox-storage-system');
  // The controller and the webhook's look-ups run as the shipped ServiceAccount with exactly the shipped RBAC.
  const serviceAccount = loadKubeConfig(await serviceAccountKubeconfig(controlPlane, systemNamespace));
  controllerUsername = `system:serviceaccount:${systemNamespace}:sandbox-storage-webhook`;

  await grant('pod-creator', [{ apiGroups: [''], resources: ['pods'], verbs: ['create', 'get'] }], [user(as.alice.username)]);
  await grant(
    'claim-maker',
    [
      { apiGroups: [''], resources: ['pods'], verbs: ['create', 'get'] },
      { apiGroups: [''], resources: ['persistentvolumeclaims'], verbs: ['create', 'get', 'update', 'patch'] },
    ],
    [user(as.mallory.username), { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: 'system:serviceaccounts:platform' }],
  );

  // Before the webhooks are installed, alice (Pod create only) plants the victim's future workspace PVC through an
  // ephemeral volume, with the labels that used to make a PVC count as the victim's.
  const { pod, volume } = podAndVolumeFor(victimClaim);
  await core(as.alice).createNamespacedPod({ namespace, body: plantingPod({ name: pod }, volume, { labels: forgedLabels('victim') }) });
  await waitFor(() => readClaim(victimClaim), { description: 'kube-controller-manager to create the planted PVC', timeoutMs: 60_000 });

  // A second plant is held back by a quota, so that its PVC is created only after the webhooks are in force: its
  // Pod has a generated name nobody could predict, and only the PVC admission can stop it.
  await admin.createNamespacedResourceQuota({ namespace, body: { metadata: { name: 'hold' }, spec: { hard: { persistentvolumeclaims: '1' } } } });
  await waitFor(
    async () => (await admin.readNamespacedResourceQuota({ namespace, name: 'hold' })).status?.used?.persistentvolumeclaims === '1',
    { description: 'the quota to count the planted PVC', timeoutMs: 60_000 },
  );
  const hash = claimOf('carol').slice(-20);
  const held = await core(as.alice).createNamespacedPod({ namespace, body: plantingPod({ generateName: 'sandbox-' }, `carol-t1-${hash}`) });
  earlyPlantPod.name = held.metadata?.name ?? '';
  earlyPlantPod.claim = `${earlyPlantPod.name}-carol-t1-${hash}`;

  controller = await startTestController(serviceAccount, [workspace, team]);
  cleanups.unshift(() => controller.stop());
  webhook = await startIsolationWebhook([workspace, team], serviceAccount);
  cleanups.unshift(() => webhook.stop());
  webhook.setClaims(claimLookupFromCache(controller.claims)());
  webhook.setOwnership({ ownershipKey: testOwnershipKey, controllerUsername });
  cleanups.unshift(
    await registerMutatingWebhook(controlPlane.kubeConfig, shippedMutatingWebhook('sandbox-storage-webhook', webhook.url, webhook.tls.caPem)),
  );
  cleanups.unshift(
    await registerValidatingWebhook(controlPlane.kubeConfig, shippedValidatingWebhook('sandbox-storage-webhook', webhook.url, webhook.tls.caPem)),
  );
  await waitUntilWebhookActive(controlPlane.kubeConfig, namespace, podWith({ labels: sandboxLabels('probe') }) as k8s.V1Pod, (created) =>
    (created.spec?.volumes ?? []).some((candidate) => candidate.persistentVolumeClaim?.claimName === claimOf('probe')),
  );
  const probe = podAndVolumeFor(claimOf('probe'));
  await waitUntilValidatingWebhookActive(controlPlane.kubeConfig, namespace, plantingPod({ name: probe.pod }, probe.volume));
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe('a PVC planted before the webhooks were installed', () => {
  it("is never mounted for the victim: the mutating webhook refuses the Pod, naming the PVC and the missing proof", async () => {
    await waitFor(() => controller.claims.cache.get(victimClaim, namespace), { description: 'the planted PVC in the cache' });
    await expectRefused(
      core(as.spawner).createNamespacedPod({ namespace, body: podWith({ labels: sandboxLabels('victim') }) as k8s.V1Pod }),
      'mutate.sandbox-storage.io',
      new RegExp(`PVC ${victimClaim} carries no valid ownership proof \\(annotation sandbox-storage.io/ownership-proof\\)`),
      /yet carries label app.kubernetes.io\/managed-by=sandbox-storage-webhook/,
    );
  });

  it('without a PVC cache the mutation passes, and the validating webhook refuses the unproven mount', async () => {
    webhook.setClaims(undefined);
    await expectRefused(
      core(as.spawner)
        .createNamespacedPod({ namespace, body: podWith({ labels: sandboxLabels('victim') }) as k8s.V1Pod })
        .finally(() => webhook.setClaims(claimLookupFromCache(controller.claims)())),
      'validate.sandbox-storage.io',
      new RegExp(`PVC "${victimClaim}" exists in the workspace names of policy "workspace" but carries no valid ownership proof .*\\[rule UnprovenClaim\\]`),
    );
  });

  it('a sandbox Pod admitted before install stays gated: Warnings on Pod and PVC, metric, PVC left alone', async () => {
    const before = await unprovenCount();
    // As the webhook would have mutated it, created while no policy was in force (before install).
    const mutated = planPod(podWith({ labels: sandboxLabels('victim') }), [workspace], { operation: 'CREATE', namespace, dryRun: false, userInfo: {} }).mutated;
    webhook.setPolicies([]);
    const created = await core(as.spawner)
      .createNamespacedPod({ namespace, body: mutated as k8s.V1Pod })
      .finally(() => webhook.setPolicies([workspace, team]));
    expect(schedulingGatesOf(created)).toEqual([storageSchedulingGate]);
    const podName = created.metadata?.name ?? '';
    const onPod = await waitForEvent('Pod', podName, 'OwnershipUnproven');
    expect(onPod.type).toBe('Warning');
    expect(onPod.message).toContain(`PVC ${victimClaim} carries no valid ownership proof`);
    expect((await waitForEvent('PersistentVolumeClaim', victimClaim, 'OwnershipUnproven')).type).toBe('Warning');
    await waitFor(async () => (await unprovenCount()) > before, { description: 'the unproven-claims metric to count it' });
    // Never released, so never scheduled and never mounted; the planted PVC is neither adopted nor deleted.
    const current = await admin.readNamespacedPod({ namespace, name: podName });
    expect(schedulingGatesOf(current)).toEqual([storageSchedulingGate]);
    expect(current.spec?.nodeName).toBeUndefined();
    const planted = await readClaim(victimClaim);
    expect(planted?.metadata?.annotations?.['sandbox-storage.io/ownership-proof']).toBeUndefined();
    expect(planted?.metadata?.labels).toEqual(forgedLabels('victim'));
  });

  it("an ephemeral PVC held back until after install, for a Pod of unpredictable name, is refused by the PVC admission", async () => {
    await admin.deleteNamespacedResourceQuota({ namespace, name: 'hold' });
    const denied = await waitFor(
      () =>
        webhook.outcomes.find(
          (outcome) =>
            outcome.request?.kind?.kind === 'PersistentVolumeClaim' &&
            (outcome.request.object as k8s.V1PersistentVolumeClaim | undefined)?.metadata?.name === earlyPlantPod.claim &&
            outcome.result === 'denied',
        ),
      { description: `kube-controller-manager's create of PVC ${earlyPlantPod.claim} to reach the PVC admission`, timeoutMs: 90_000 },
    );
    expect(denied.review.response.status?.message).toContain('metadata.name is in the governed PVC name space');
    expect(denied.review.response.status?.message).toContain('[rule ClaimInGovernedNames]');
    // Not the requester who made the Pod: kube-controller-manager, acting for anyone who may create Pods.
    expect(denied.request?.userInfo?.username).not.toBe(as.alice.username);
    expect(await readClaim(earlyPlantPod.claim)).toBeUndefined();
  });
});

describe('planting after install: refused by the API server', () => {
  it("an ephemeral volume named to become another user's workspace PVC (Pod create only)", async () => {
    const bobs = claimOf('bob');
    const { pod, volume } = podAndVolumeFor(bobs);
    await expectRefused(
      core(as.alice).createNamespacedPod({ namespace, body: plantingPod({ name: pod }, volume, { labels: forgedLabels('bob') }) }),
      'validate.sandbox-storage.io',
      new RegExp(`would have kube-controller-manager create PVC "${bobs}" \\(pod name \\+ "-" \\+ volume name\\).*\\[rule EphemeralClaimInGovernedNames\\]`),
      /\[rule EphemeralClaimOwnershipMarks\]/,
    );
    // The trusted spawner is no exception: the controller never creates Pods.
    await expectRefused(
      core(as.spawner).createNamespacedPod({ namespace, body: plantingPod({ name: pod }, volume) }),
      'validate.sandbox-storage.io',
      /\[rule EphemeralClaimInGovernedNames\]/,
    );
    expect(await readClaim(bobs)).toBeUndefined();
  });

  it('an ephemeral volume under a generated Pod name that may fall in the governed names, or that names the shared claim', async () => {
    const { volume } = podAndVolumeFor(claimOf('bob'));
    await expectRefused(
      core(as.alice).createNamespacedPod({ namespace, body: plantingPod({ generateName: 'sandbox-' }, volume) }),
      'validate.sandbox-storage.io',
      /\[rule EphemeralClaimInGovernedNames\]/,
    );
    await expectRefused(
      core(as.alice).createNamespacedPod({ namespace, body: plantingPod({ name: 'team' }, 'data') }),
      'validate.sandbox-storage.io',
      /create PVC "team-data" .*it is the shared claim of policy "team"/,
    );
  });

  it('an ephemeral volume cloning a governed PVC or restoring a VolumeSnapshot; the exempt gateway passes Pod admission', async () => {
    await expectRefused(
      core(as.alice).createNamespacedPod({
        namespace,
        body: plantingPod({ name: 'copycat' }, 'loot', { spec: { dataSource: { kind: 'PersistentVolumeClaim', name: victimClaim } } }),
      }),
      'validate.sandbox-storage.io',
      new RegExp(`dataSource clones PVC "${victimClaim}".*\\[rule EphemeralClaimCopiesGovernedStorage\\]`),
    );
    const restore = { dataSourceRef: { apiGroup: 'snapshot.storage.k8s.io', kind: 'VolumeSnapshot', name: 'nightly' } };
    await expectRefused(
      core(as.alice).createNamespacedPod({ namespace, body: plantingPod({ name: 'restorer' }, 'loot', { spec: restore }) }),
      'validate.sandbox-storage.io',
      /dataSourceRef restores VolumeSnapshot "nightly".*\[rule EphemeralClaimCopiesGovernedStorage\]/,
    );
    const allowed = await core(as.gateway).createNamespacedPod({ namespace, body: plantingPod({ name: 'gateway-restore' }, 'nightly', { spec: restore }) });
    expect(allowed.metadata?.uid).toBeTruthy();
    // Its PVC is then created by kube-controller-manager, who is not exempt: the PVC admission refuses the restore
    // (fail closed; an exempt admin creates such a PVC directly).
    const refused = await waitFor(
      () =>
        webhook.outcomes.find(
          (outcome) =>
            (outcome.request?.object as k8s.V1PersistentVolumeClaim | undefined)?.metadata?.name === 'gateway-restore-nightly' && outcome.result === 'denied',
        ),
      { description: 'the PVC of the exempt restore to reach the PVC admission', timeoutMs: 60_000 },
    );
    expect(refused.review.response.status?.message).toContain('[rule ClaimCopiesGovernedStorage]');
  });

  it("a PVC created directly under a victim's workspace name with forged labels", async () => {
    const carl = claimOf('carl');
    await expectRefused(
      core(as.mallory).createNamespacedPersistentVolumeClaim({ namespace, body: claimBody(carl, { labels: forgedLabels('carl') }) }),
      'validate.sandbox-storage.io',
      new RegExp(`PVC "${carl}" is refused: metadata.name is in the governed PVC name space.*only the sandbox-storage controller \\(${controllerUsername}\\) creates workspace PVCs \\[rule ClaimInGovernedNames\\]`),
      /metadata.labels\["app.kubernetes.io\/managed-by"\].*\[rule ClaimOwnershipMarks\]/,
    );
    expect(await readClaim(carl)).toBeUndefined();
  });

  it('a clone of a governed PVC through dataSource', async () => {
    await expectRefused(
      core(as.mallory).createNamespacedPersistentVolumeClaim({
        namespace,
        body: claimBody('mallory-copy', {}, { dataSource: { kind: 'PersistentVolumeClaim', name: victimClaim, apiGroup: '' } }),
      }),
      'validate.sandbox-storage.io',
      new RegExp(`spec.dataSource clones PVC "${victimClaim}".*\\[rule ClaimCopiesGovernedStorage\\]`),
    );
  });

  it('relabelling an own PVC with the ownership labels, or writing a proof on it', async () => {
    const mallory = core(as.mallory);
    await mallory.createNamespacedPersistentVolumeClaim({ namespace, body: claimBody('mallory-scratch', { labels: { app: 'mine' } }) });
    const mergePatch = k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch);
    await expectRefused(
      mallory.patchNamespacedPersistentVolumeClaim({ namespace, name: 'mallory-scratch', body: { metadata: { labels: forgedLabels('victim') } } }, mergePatch),
      'validate.sandbox-storage.io',
      /PVC "mallory-scratch" update is refused: it adds, changes or removes metadata.labels\["app.kubernetes.io\/managed-by"\].*\[rule ClaimOwnershipMarks\]/,
    );
    const proof = ownershipProof(testOwnershipKey, { namespace, name: 'mallory-scratch', policy: 'workspace', role: 'workspace', identityHash: 'x' });
    await expectRefused(
      mallory.patchNamespacedPersistentVolumeClaim({ namespace, name: 'mallory-scratch', body: { metadata: { annotations: { 'sandbox-storage.io/ownership-proof': proof } } } }, mergePatch),
      'validate.sandbox-storage.io',
      /metadata.annotations\["sandbox-storage.io\/ownership-proof"\].*\[rule ClaimOwnershipMarks\]/,
    );
    // Other changes of one's own PVC are none of the webhook's business.
    const relabelled = await mallory.patchNamespacedPersistentVolumeClaim({ namespace, name: 'mallory-scratch', body: { metadata: { labels: { app: 'still-mine' } } } }, mergePatch);
    expect(relabelled.metadata?.labels?.app).toBe('still-mine');
  });

  it('the shared claim name: refused to others, created by the exempt admin', async () => {
    await expectRefused(
      core(as.mallory).createNamespacedPersistentVolumeClaim({ namespace, body: claimBody('team-data') }),
      'validate.sandbox-storage.io',
      /it is the shared claim of policy "team" \(spec.shared.claimName\); only the sandbox-storage controller .* or a requester in spec.isolation.exemptions of policy "team" may create it \[rule ClaimInGovernedNames\]/,
    );
    const created = await core(as.gateway).createNamespacedPersistentVolumeClaim({ namespace, body: claimBody('team-data') });
    expect(created.metadata?.uid).toBeTruthy();
  });
});

describe('the legitimate flow', () => {
  it('the controller creates the proven PVC, the gate is lifted, the next Pod of that identity mounts it and is released', async () => {
    const created = await core(as.spawner).createNamespacedPod({ namespace, body: podWith({ labels: sandboxLabels('dave') }) as k8s.V1Pod });
    expect(schedulingGatesOf(created)).toEqual([storageSchedulingGate]);
    await waitFor(async () => schedulingGatesOf(await admin.readNamespacedPod({ namespace, name: created.metadata?.name ?? '' })).length === 0, {
      description: 'the gate to be lifted',
      timeoutMs: 60_000,
    });
    const daves = claimOf('dave');
    const claim = await readClaim(daves);
    const identityHash = workspaceIdentityHash({ scope: 'thread', user: 'dave', thread: 't1' });
    expect(claim?.metadata?.annotations?.['sandbox-storage.io/ownership-proof']).toBe(
      ownershipProof(testOwnershipKey, { namespace, name: daves, policy: 'workspace', role: 'workspace', identityHash }),
    );
    // The next Pod of that identity mounts the proven PVC; it waits only for the seed-script ConfigMap (configMap
    // delivery always gates), which is there: released at once.
    const next = await core(as.spawner).createNamespacedPod({ namespace, body: podWith({ labels: sandboxLabels('dave') }) as k8s.V1Pod });
    expect(next.spec?.volumes).toContainEqual({ name: 'sandbox-storage-workspace', persistentVolumeClaim: { claimName: daves } });
    await waitFor(async () => schedulingGatesOf(await admin.readNamespacedPod({ namespace, name: next.metadata?.name ?? '' })).length === 0, {
      description: 'the next Pod of the proven workspace to be released',
      timeoutMs: 60_000,
    });

    // Replaying the proof (a copy of the PVC, labels and proof included) is refused at admission, before the API
    // server would even look at the name: nobody but the controller creates such a PVC.
    await expectRefused(
      core(as.mallory).createNamespacedPersistentVolumeClaim({
        namespace,
        body: claimBody(daves, { labels: claim?.metadata?.labels ?? {}, annotations: claim?.metadata?.annotations ?? {} }),
      }),
      'validate.sandbox-storage.io',
      /\[rule ClaimInGovernedNames\]/,
      /\[rule ClaimOwnershipMarks\]/,
    );
  });
});
