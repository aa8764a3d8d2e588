// Every way around the storage isolation, attempted through a real kube-apiserver by impersonated requesters with
// RBAC to create and debug Pods: refused by the shipped validating webhook. The legitimate paths stay open. Each
// AdmissionReview the API server sent is then replayed through `review`, which must reach the same decision.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AdmissionRequest } from '../../src/webhook/review.ts';
import { volumeNames } from '../../src/admission/storage-layout.ts';
import { runReview } from '../../src/commands/review.ts';
import { workspaceClaimName } from '../../src/naming/identity-names.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import {
  grantPodAccess,
  impersonating,
  registerValidatingWebhook,
  shippedValidatingWebhook,
  startIsolationWebhook,
  waitUntilValidatingWebhookActive,
  type Requester,
  refusal,
} from '../harness/isolation.ts';
import { registerMutatingWebhook, shippedMutatingWebhook, waitUntilWebhookActive, type RunningWebhook } from '../harness/webhook.ts';
import { examplePolicy, podMounting, podWith, sandboxLabels, sharedVolume } from '../fixtures/isolation.ts';

const platformGroup = 'system:serviceaccounts:platform';
const as = {
  alice: { username: 'alice', group: 'tenants' },
  bob: { username: 'bob', group: 'tenants' },
  spawner: { username: 'system:serviceaccount:platform:spawner', group: platformGroup },
  gateway: { username: 'system:serviceaccount:platform:gateway', group: platformGroup },
} satisfies Record<string, Requester>;

let controlPlane: ControlPlane;
let webhook: RunningWebhook;
let namespace: string;
let workDir: string;
const cleanups: Array<() => Promise<unknown>> = [];

function core(requester: Requester): k8s.CoreV1Api {
  return impersonating(controlPlane.kubeConfig, requester).makeApiClient(k8s.CoreV1Api);
}

async function create(requester: Requester, pod: unknown): Promise<k8s.V1Pod> {
  return core(requester).createNamespacedPod({ namespace, body: pod as k8s.V1Pod });
}

/** Replays the last AdmissionReview the validating webhook got through `review`; returns its exit code and stderr. */
async function replayThroughReview(policyFiles: string | string[]): Promise<{ code: number; stderr: string; request: AdmissionRequest }> {
  const outcome = webhook.outcomes.filter((candidate) => candidate.validation !== undefined).at(-1);
  const request = outcome?.request as AdmissionRequest;
  const file = join(workDir, `${request.uid}.json`);
  await writeFile(file, JSON.stringify({ apiVersion: 'admission.k8s.io/v1', kind: 'AdmissionReview', request }));
  let stderr = '';
  const policies = (Array.isArray(policyFiles) ? policyFiles : [policyFiles]).flatMap((policyFile) => ['--policy', policyFile]);
  const code = await runReview([...policies, '--review', file], () => undefined, (text) => {
    stderr += text;
  });
  return { code, stderr, request };
}

const sharedPolicyFile = 'examples/policies/shared.yaml';
const workspacePolicyFile = 'examples/policies/workspace.yaml';

/** Asserts the API server refused with `rule`, and that `review` replaying the same request refuses the same way. */
async function expectDenied(attempt: Promise<unknown>, rule: RegExp, policyFile: string | string[] = sharedPolicyFile): Promise<string> {
  const refused = await refusal(attempt);
  expect(refused.code).toBe(403);
  expect(refused.message).toContain('admission webhook "validate.sandbox-storage.io" denied the request');
  expect(refused.message).toMatch(rule);
  const replay = await replayThroughReview(policyFile);
  expect(replay.code).toBe(1);
  expect(replay.stderr).toMatch(rule);
  return refused.message;
}

/** The last validating review the API server sent, replayed through `review`, is allowed too. */
async function expectReviewAllows(policyFile: string | string[] = sharedPolicyFile): Promise<void> {
  const replay = await replayThroughReview(policyFile);
  expect(replay.stderr).not.toContain('denied');
  expect(replay.code).toBe(0);
}

beforeAll(async () => {
  workDir = await mkdtemp(join(tmpdir(), 'isolation-'));
  cleanups.push(() => rm(workDir, { recursive: true, force: true }));
  controlPlane = await startControlPlane({ controllerManager: true });
  cleanups.push(() => controlPlane.stop());
  namespace = await createTestNamespace(controlPlane, 'isolation');
  // The webhook's own look-ups run as its service account, with exactly the shipped read-only RBAC (and its Role
  // for the ownership key, in the webhook's namespace).
  expect((await controlPlane.kubectl(['create', 'namespace', 'sandbox-storage-system'])).code).toBe(0);
  const rbac = await controlPlane.kubectl(['apply', '-f', 'deploy/manifests/webhook-lookups-rbac.yaml']);
  expect(rbac.code, rbac.stderr).toBe(0);
  const webhookIdentity = { username: 'system:serviceaccount:sandbox-storage-system:sandbox-storage-webhook', group: 'system:serviceaccounts' };
  webhook = await startIsolationWebhook([examplePolicy('shared')], impersonating(controlPlane.kubeConfig, webhookIdentity));
  // The tests' admin stands in for the controller where a PVC with ownership labels is needed (only the controller
  // may create one).
  webhook.setOwnership({ controllerUsername: 'admin' });
  cleanups.unshift(() => webhook.stop());
  cleanups.unshift(
    await registerMutatingWebhook(controlPlane.kubeConfig, shippedMutatingWebhook('sandbox-storage-webhook', webhook.url, webhook.tls.caPem)),
  );
  cleanups.unshift(
    await registerValidatingWebhook(controlPlane.kubeConfig, shippedValidatingWebhook('sandbox-storage-webhook', webhook.url, webhook.tls.caPem)),
  );
  await grantPodAccess(controlPlane.kubeConfig, namespace, [
    { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'alice' },
    { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'bob' },
    { kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name: platformGroup },
  ]);
  await waitUntilWebhookActive(controlPlane.kubeConfig, namespace, podWith({ labels: sandboxLabels('admin') }) as k8s.V1Pod, (created) =>
    (created.spec?.volumes ?? []).some((volume) => volume.name === volumeNames.shared),
  );
  await waitUntilValidatingWebhookActive(controlPlane.kubeConfig, namespace, podMounting({}, sharedVolume(), {}) as k8s.V1Pod);
});

afterAll(async () => {
  for (const cleanup of cleanups) await cleanup().catch(() => undefined);
});

describe('shared claim: escapes are refused by the API server', () => {
  it('a pod without the opt-in label mounting the shared PVC root', async () => {
    await expectDenied(create(as.alice, podMounting({ app: 'x' }, sharedVolume('innocent-name'), {})), /shared PVC "sandbox-data" is mounted at its root \[rule SharedVolumeRoot/);
  });

  it("an extra container of one's own sandbox mounting another user's subPath", async () => {
    const pod = podMounting(sandboxLabels('alice'), sharedVolume(), { subPath: 'users/bob/threads/t1/user-data' });
    await expectDenied(create(as.alice, pod), /container "sidekick" mounts volume "data" at \/data: subPath "users\/bob\/threads\/t1\/user-data" .*\[rule SharedSubPathScope/);
  });

  it('a subPath that climbs out of its own directory with .. (the API server refuses it before validating webhooks)', async () => {
    const pod = podMounting(sandboxLabels('alice'), sharedVolume(), { subPath: 'users/alice/threads/t1/user-data/../../../../bob/skills' });
    const refused = await refusal(create(as.alice, pod));
    expect(refused.code).toBe(422);
    expect(refused.message).toContain("must not contain '..'");
  });

  it('a subPath below its own directory (a symlink planted there could point anywhere in the volume)', async () => {
    const pod = podMounting(sandboxLabels('alice'), sharedVolume(), { subPath: 'users/alice/threads/t1/user-data/link-to-bob' });
    await expectDenied(create(as.alice, pod), /is below the directory of user "alice" .*\[rule SharedSubPathScope/);
  });

  it('a subPathExpr', async () => {
    const pod = podMounting(sandboxLabels('alice'), sharedVolume(), { subPathExpr: 'users/$(OTHER_USER)' });
    await expectDenied(create(as.alice, pod), /rule SharedSubPathExpr/);
  });

  it('a sandbox for another user id (requester binding)', async () => {
    await expectDenied(create(as.bob, podWith({ labels: sandboxLabels('alice') })), /requester "bob" may only use user id "bob", not "alice" \[rule RequesterBinding/);
  });
});

describe('legitimate paths are allowed', () => {
  it('a tenant creates its own sandbox and gets its own directories', async () => {
    const created = await create(as.alice, podWith({ labels: sandboxLabels('alice') }));
    const mounts = created.spec?.containers[0]?.volumeMounts?.filter((mount) => mount.name === volumeNames.shared);
    expect(mounts?.map((mount) => mount.subPath)).toEqual(['users/alice/threads/t1/user-data', 'users/alice/skills']);
    const validation = webhook.outcomes.filter((outcome) => outcome.validation !== undefined).at(-1);
    expect(validation?.result).toBe('unchanged');
    expect(validation?.request?.userInfo?.username).toBe('alice');
    await expectReviewAllows();
  });

  it('the trusted spawner creates a sandbox for any user', async () => {
    const created = await create(as.spawner, podWith({ labels: sandboxLabels('Carol_C', 'T.9') }));
    expect(created.spec?.initContainers?.[0]?.volumeMounts?.[0]?.subPath).toBe('users/_carol___c/threads/_t.9/user-data');
    await expectReviewAllows();
  });

  it('the exempt gateway mounts the root of the shared PVC', async () => {
    const created = await create(as.gateway, podMounting({ app: 'gateway' }, sharedVolume(), {}));
    expect(created.metadata?.uid).toBeTruthy();
    await expectReviewAllows();
  });
});

describe('ephemeral containers (kubectl debug) through pods/ephemeralcontainers', () => {
  async function debug(requester: Requester, podName: string, container: k8s.V1EphemeralContainer): Promise<k8s.V1Pod> {
    const client = core(requester);
    const current = await client.readNamespacedPodEphemeralcontainers({ name: podName, namespace });
    current.spec!.ephemeralContainers = [...(current.spec!.ephemeralContainers ?? []), container];
    return client.replaceNamespacedPodEphemeralcontainers({ name: podName, namespace, body: current });
  }

  it("mounting the shared volume into one's own sandbox is refused (ephemeral containers cannot set a subPath, so it is always the root)", async () => {
    const sandbox = await create(as.alice, podWith({ name: 'alice-debug', labels: sandboxLabels('alice') }));
    const name = sandbox.metadata!.name!;
    await expectDenied(
      debug(as.alice, name, { name: 'dbg-root', image: 'busybox', volumeMounts: [{ name: volumeNames.shared, mountPath: '/all' }] }),
      /ephemeral container "dbg-root" mounts volume "sandbox-storage-shared" at \/all: shared PVC "sandbox-data" is mounted at its root/,
    );
    expect(webhook.outcomes.filter((outcome) => outcome.validation !== undefined).at(-1)?.request?.subResource).toBe('ephemeralcontainers');
    const withSubPath = await refusal(
      debug(as.alice, name, {
        name: 'dbg-own',
        image: 'busybox',
        volumeMounts: [{ name: volumeNames.shared, mountPath: '/mine', subPath: 'users/alice/threads/t1/user-data' }],
      }),
    );
    expect(withSubPath.code).toBe(422);
    expect(withSubPath.message).toContain('cannot be set for an Ephemeral Container');
    // The legitimate `kubectl debug --target`: the owner reaches its own sandbox container and its own mounts.
    const allowed = await debug(as.alice, name, { name: 'dbg', image: 'busybox', targetContainerName: 'main' });
    expect(allowed.spec?.ephemeralContainers?.map((container) => container.name)).toEqual(['dbg']);
  });

  it("another tenant debugging alice's sandbox is refused, with or without mounts", async () => {
    await expectDenied(
      debug(as.bob, 'alice-debug', { name: 'dbg-bob', image: 'busybox', targetContainerName: 'main' }),
      /requester "bob" may only use user id "bob", not "alice" \[rule RequesterBinding/,
    );
  });

  it("a tenant targeting the gateway's container (reaching its root mount through /proc) is refused", async () => {
    const gateway = await create(as.gateway, podMounting({ app: 'gateway' }, sharedVolume(), {}));
    await expectDenied(
      debug(as.alice, gateway.metadata!.name!, { name: 'peek', image: 'busybox', targetContainerName: 'sidekick' }),
      /ephemeral container "peek" would reach .* \[rule DebugReachesForeignMount\]/,
    );
  });
});

describe('kubectl exec (CONNECT pods/exec)', () => {
  async function exec(requester: Requester, podName: string, container?: string) {
    const args = ['exec', `--as=${requester.username}`, `--as-group=${requester.group}`, '-n', namespace, podName];
    if (container) args.push('-c', container);
    return controlPlane.kubectl([...args, '--', 'true']);
  }

  it("another tenant's exec into alice's sandbox is refused", async () => {
    const sandbox = await create(as.alice, podWith({ labels: sandboxLabels('alice') }));
    const result = await exec(as.bob, sandbox.metadata!.name!, 'main');
    expect(result.code).not.toBe(0);
    expect(result.stderr).toContain('admission webhook "validate.sandbox-storage.io" denied the request');
    expect(result.stderr).toMatch(/requester "bob" may only use user id "bob", not "alice" \[rule RequesterBinding/);
    const outcome = webhook.outcomes.filter((candidate) => candidate.validation !== undefined).at(-1);
    expect(outcome?.request?.operation).toBe('CONNECT');
    expect(outcome?.request?.subResource).toBe('exec');
  });

  it("the owner's exec passes the webhook (and then fails only because no node runs the pod)", async () => {
    const sandbox = await create(as.alice, podWith({ labels: sandboxLabels('alice') }));
    const before = webhook.outcomes.length;
    const result = await exec(as.alice, sandbox.metadata!.name!, 'main');
    expect(result.stderr).not.toContain('denied the request');
    expect(result.stderr).toMatch(/does not have a host assigned/);
    const outcome = webhook.outcomes.slice(before).find((candidate) => candidate.request?.subResource === 'exec');
    expect(outcome?.result).toBe('unchanged');
  });

  it("a tenant's exec into the gateway's container, which mounts the shared root, is refused", async () => {
    const gateway = await create(as.gateway, podMounting({ app: 'gateway' }, sharedVolume(), {}));
    const result = await exec(as.alice, gateway.metadata!.name!, 'sidekick');
    expect(result.stderr).toMatch(/exec into container "sidekick" would reach what container "sidekick" mounts volume "data" at \/data: shared PVC "sandbox-data" is mounted at its root .*\[rule ConnectReachesForeignMount\]/);
  });
});

describe('identity labels are immutable', () => {
  it('relabelling a sandbox to another user is refused; an unrelated label change is not', async () => {
    const sandbox = await create(as.alice, podWith({ labels: sandboxLabels('alice') }));
    const client = core(as.alice);
    const name = sandbox.metadata!.name!;
    const relabelled = structuredClone(sandbox);
    relabelled.metadata!.labels!['sandbox-storage.io/user'] = 'bob';
    await expectDenied(
      client.replaceNamespacedPod({ name, namespace, body: relabelled }),
      /label sandbox-storage.io\/user cannot change on a pod governed by policy "shared" \("alice" → "bob"\) \[rule IdentityLabelsImmutable\]/,
    );
    const current = await client.readNamespacedPod({ name, namespace });
    current.metadata!.labels!.team = 'blue';
    const updated = await client.replaceNamespacedPod({ name, namespace, body: current });
    expect(updated.metadata?.labels?.team).toBe('blue');
  });
});

describe('the storage gate is the controller\'s to lift', () => {
  it("the owner removing the gate from their waiting sandbox is refused; the controller's removal passes", async () => {
    const sandbox = await create(as.alice, podWith({ labels: sandboxLabels('alice') }));
    const name = sandbox.metadata!.name!;
    // The webhook here has no PVC cache, so every sandbox Pod waits behind the gate.
    expect(sandbox.spec?.schedulingGates).toContainEqual({ name: 'sandbox-storage.io/storage' });
    const ungated = structuredClone(sandbox);
    ungated.spec!.schedulingGates = [];
    const message = await expectDenied(
      core(as.alice).replaceNamespacedPod({ name, namespace, body: ungated }),
      /spec\.schedulingGates: the gate "sandbox-storage\.io\/storage" holds this sandbox Pod of policy "shared" .*only the sandbox-storage controller .*removes it \[rule StorageGateHeld\]/,
    );
    // `review` offline knows no controller username; the server names the one it has.
    expect(message).toContain('only the sandbox-storage controller (admin) removes it');
    expect((await core(as.alice).readNamespacedPod({ name, namespace })).spec?.schedulingGates).toContainEqual({ name: 'sandbox-storage.io/storage' });
    // The tests' admin stands in for the controller (setOwnership above); it removes the gate as the controller does.
    const admin = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
    const released = await admin.patchNamespacedPod(
      { name, namespace, body: [{ op: 'test', path: '/spec/schedulingGates/0/name', value: 'sandbox-storage.io/storage' }, { op: 'remove', path: '/spec/schedulingGates/0' }] },
      k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.JsonPatch),
    );
    expect(released.spec?.schedulingGates ?? []).toEqual([]);
  });
});

describe('workspace claims', () => {
  beforeAll(() => webhook.setPolicies([examplePolicy('workspace')]));
  afterAll(() => webhook.setPolicies([examplePolicy('shared')]));

  it("naming another identity's workspace PVC is refused", async () => {
    const bobs = workspaceClaimName('sandbox-', { scope: 'thread', user: 'bob', thread: 't1' });
    const pod = podMounting(sandboxLabels('alice'), { name: 'stolen', persistentVolumeClaim: { claimName: bobs } }, {});
    await expectDenied(create(as.alice, pod), new RegExp(`PVC "${bobs}" is not the workspace of user "alice" \\[rule ForeignWorkspaceClaim`), workspacePolicyFile);
  });

  it('the own workspace, injected by the mutating webhook, passes', async () => {
    const created = await create(as.alice, podWith({ labels: sandboxLabels('alice') }));
    const claim = workspaceClaimName('sandbox-', { scope: 'thread', user: 'alice', thread: 't1' });
    expect(created.spec?.volumes).toContainEqual({ name: volumeNames.workspace, persistentVolumeClaim: { claimName: claim } });
  });
});

describe('the storage decides the rules, not the labels', () => {
  const laxPolicy = {
    apiVersion: 'sandbox-storage.io/v1alpha1',
    kind: 'SandboxStoragePolicy',
    metadata: { name: 'lax' },
    spec: {
      mode: 'shared',
      podSelector: { matchLabels: { 'sandbox-storage.io/inject': 'true', tier: 'lax' } },
      shared: {
        claimName: 'sandbox-data',
        mounts: [
          { subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox' },
          { subPath: 'users/{user}/skills', mountPath: '/skills', readOnly: true },
        ],
      },
      isolation: { exemptions: { users: ['alice'] } },
    },
  };
  let laxFile: string;
  beforeAll(async () => {
    laxFile = join(workDir, 'lax.json');
    await writeFile(laxFile, JSON.stringify(laxPolicy));
    const [lax] = (await import('../../src/policy/load.ts')).parsePolicies(JSON.stringify(laxPolicy), 'lax');
    webhook.setPolicies([examplePolicy('shared'), lax!]);
  });
  afterAll(() => webhook.setPolicies([examplePolicy('shared')]));

  it("a label that selects a policy without requester binding does not give a plain user another user's directories", async () => {
    const pod = podWith({ labels: { ...sandboxLabels('bob'), tier: 'lax' } });
    await expectDenied(create(as.alice, pod), /requester "alice" may only use user id "alice", not "bob" \[rule (RequesterBinding|StorageOwnerBinding), spec.isolation.requesters of policy "shared"\]/, [sharedPolicyFile, laxFile]);
  });

  it("an exemption in one owner policy does not open the share's root", async () => {
    await expectDenied(create(as.alice, podMounting({ tier: 'lax' }, sharedVolume(), {})), /\[rule SharedVolumeRoot, policy "shared", "lax"\]/, [sharedPolicyFile, laxFile]);
  });

  it('the policy annotation cannot be preset on a Pod no policy selects', async () => {
    const pod = podWith({ labels: { app: 'x' } }) as { metadata: Record<string, unknown> };
    pod.metadata.annotations = { 'sandbox-storage.io/policy': 'shared' };
    await expectDenied(create(as.alice, pod), /\[rule PolicyAnnotation\]/, [sharedPolicyFile, laxFile]);
  });

  it('a read-only template mounted through a read-only volume passes', async () => {
    const volume = { name: 'data', persistentVolumeClaim: { claimName: 'sandbox-data', readOnly: true } };
    const created = await create(as.alice, podMounting(sandboxLabels('alice'), volume, { subPath: 'users/alice/skills' }));
    expect(created.metadata?.uid).toBeTruthy();
    await expectReviewAllows([sharedPolicyFile, laxFile]);
  });
});
