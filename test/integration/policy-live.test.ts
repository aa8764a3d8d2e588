// Policies as SandboxStoragePolicy objects: the webhook follows creates, edits and deletes without a restart, and
// audit mode admits what enforce mode denies, with a warning the Pod's author sees.
import { seedScriptConfigMapName } from '../../src/admission/seed-script-delivery.ts';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import * as k8s from '@kubernetes/client-node';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { policyGroup, policyNames, policyVersion } from '../../src/policy/schema.ts';
import { auditEventObserver } from '../../src/kube/audit-events.ts';
import { writePolicyStatus } from '../../src/kube/policy-status-writer.ts';
import { watchClusterPolicies } from '../../src/kube/cluster-policy-source.ts';
import type { PolicyStatus } from '../../src/policy/types.ts';
import type { PolicySet } from '../../src/policy/sources/policy-set.ts';
import { createTestNamespace, startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/wait.ts';
import { installPolicyCrd } from '../harness/policy-crd.ts';
import { startLivePolicyWebhook } from '../harness/webhook.ts';

const root = new URL('../..', import.meta.url).pathname;
const target = { group: policyGroup, version: policyVersion, plural: policyNames.plural };
let controlPlane: ControlPlane;
let webhook: Awaited<ReturnType<typeof startLivePolicyWebhook>>;
let policies: PolicySet;
let objects: k8s.CustomObjectsApi;
let core: k8s.CoreV1Api;
let namespace: string;

const labels = { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'alice', 'sandbox-storage.io/thread': 't1' };

function pod(podLabels: Record<string, string> = labels): k8s.V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { generateName: 'sandbox-', labels: podLabels },
    spec: { containers: [{ name: 'sandbox', image: 'registry.example/sandbox:1' }] },
  };
}

const dryRun = (body: k8s.V1Pod) => core.createNamespacedPod({ namespace, body, dryRun: 'All' });
const injected = (created: k8s.V1Pod) => (created.spec?.volumes ?? []).some((volume) => volume.name === 'sandbox-storage-workspace');
const seeded = (created: k8s.V1Pod) => (created.spec?.initContainers ?? []).some((container) => container.name === 'sandbox-storage-seed');

async function patchPolicy(name: string, spec: Record<string, unknown>) {
  await objects.patchClusterCustomObject(
    { ...target, name, body: { spec } },
    k8s.setHeaderOptions('Content-Type', k8s.PatchStrategy.MergePatch),
  );
}

beforeAll(async () => {
  controlPlane = await startControlPlane();
  core = controlPlane.kubeConfig.makeApiClient(k8s.CoreV1Api);
  objects = controlPlane.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  await installPolicyCrd(controlPlane);
  namespace = await createTestNamespace(controlPlane, 'policy-live');
  const logger = pino({ level: 'silent' });
  policies = await watchClusterPolicies(controlPlane.kubeConfig, logger);
  webhook = await startLivePolicyWebhook(controlPlane.kubeConfig, policies, logger, auditEventObserver(controlPlane.kubeConfig, logger, 'policy-live-test'));
});

afterAll(async () => {
  await webhook?.stop();
  await policies?.stop();
  await controlPlane?.stop();
});

describe('policies from the cluster, live', () => {
  it('follows a policy being created, edited, switched to audit and deleted, without a restart', async () => {
    expect(policies.ready()).toBe(true);
    expect(injected(await dryRun(pod()))).toBe(false); // no policy yet: the webhook lets it pass

    await objects.createClusterCustomObject({
      ...target,
      body: { apiVersion: `${policyGroup}/${policyVersion}`, kind: 'SandboxStoragePolicy', metadata: { name: 'team' }, spec: {} },
    });
    await waitFor(async () => injected(await dryRun(pod())), { description: 'the new policy to apply', timeoutMs: 30_000 });
    expect(seeded(await dryRun(pod()))).toBe(true);

    await patchPolicy('team', { seed: { enabled: false } });
    await waitFor(async () => !seeded(await dryRun(pod())), { description: 'the edit to apply', timeoutMs: 30_000 });
    expect(policies.states()).toEqual([{ name: 'team', origin: 'cluster', generation: 2, ready: true, servingGeneration: 2 }]);

    const anonymous = `apiVersion: v1\nkind: Pod\nmetadata: {name: anonymous, labels: {sandbox-storage.io/inject: "true", sandbox-storage.io/thread: t1}}\nspec: {containers: [{name: sandbox, image: registry.example/sandbox:1}]}\n`;
    const enforced = await controlPlane.kubectl(['create', '--dry-run=server', '-n', namespace, '-f', '-'], { input: anonymous });
    expect(enforced.code).not.toBe(0);
    expect(enforced.stderr).toContain('label sandbox-storage.io/user (the user id) is required');

    await patchPolicy('team', { enforcement: 'audit' });
    const audited = await waitFor(
      async () => {
        const result = await controlPlane.kubectl(['create', '--dry-run=server', '-n', namespace, '-f', '-'], { input: anonymous });
        return result.code === 0 ? result : undefined;
      },
      { description: 'audit mode to apply', timeoutMs: 30_000 },
    );
    expect(audited.stderr).toContain(
      'Warning: sandbox-storage: audit mode, policy "team" would deny: label sandbox-storage.io/user (the user id) is required',
    );
    // A real create (not a dry run) leaves a Warning Event on the policy.
    const admitted = await controlPlane.kubectl(['create', '-n', namespace, '-f', '-'], { input: anonymous });
    expect(admitted.code).toBe(0);
    const event = await waitFor(
      async () =>
        (await core.listNamespacedEvent({ namespace: 'default' })).items.find(
          (candidate) => candidate.involvedObject.kind === 'SandboxStoragePolicy' && candidate.involvedObject.name === 'team',
        ),
      { description: 'the audit Event on policy team', timeoutMs: 30_000 },
    );
    expect([event.type, event.reason]).toEqual(['Warning', 'PolicyViolation']);
    expect(event.message).toContain(`pod ${namespace}/anonymous`);
    expect(event.message).toContain('would deny: label sandbox-storage.io/user (the user id) is required');

    await objects.deleteClusterCustomObject({ ...target, name: 'team' });
    await waitFor(async () => !injected(await dryRun(pod())), { description: 'the deletion to apply', timeoutMs: 30_000 });
    expect(policies.current()).toEqual([]);
  });
});

describe('policy status', () => {
  it('shows Ready, and names overlapping policies with who wins', async () => {
    const writer = writePolicyStatus(controlPlane.kubeConfig, policies, pino({ level: 'silent' }), 1_000);
    const policy = (name: string, spec: unknown) => ({ apiVersion: `${policyGroup}/${policyVersion}`, kind: 'SandboxStoragePolicy', metadata: { name }, spec });
    const readyOf = async (name: string) => {
      const object = (await objects.getClusterCustomObjectStatus({ ...target, name })) as { metadata: { generation: number }; status?: PolicyStatus };
      const ready = object.status?.conditions?.find((condition) => condition.type === 'Ready');
      return object.status?.observedGeneration === object.metadata.generation ? ready : undefined;
    };
    try {
      await objects.createClusterCustomObject({ ...target, body: policy('alpha', {}) });
      const alone = await waitFor(() => readyOf('alpha'), { description: 'alpha to get a status', timeoutMs: 30_000 });
      expect([alone.status, alone.reason, alone.message]).toEqual(['True', 'Serving', 'serving generation 1']);

      await objects.createClusterCustomObject({ ...target, body: policy('beta', { podSelector: { matchLabels: { 'sandbox-storage.io/inject': 'true', gpu: 'yes' } } }) });
      await objects.createClusterCustomObject({ ...target, body: policy('gamma', { podSelector: { matchLabels: { 'sandbox-storage.io/inject': 'false' } } }) });
      const overlapped = await waitFor(async () => ((await readyOf('alpha'))?.reason === 'ServingWithOverlap' ? readyOf('alpha') : undefined), {
        description: 'alpha to report its overlap with beta',
        timeoutMs: 30_000,
      });
      expect(overlapped?.message).toBe('serving generation 1; can select the same Pods as: beta (beta wins)');
      const beta = await waitFor(() => readyOf('beta'), { description: 'beta to get a status', timeoutMs: 30_000 });
      expect(beta.message).toBe('serving generation 1; can select the same Pods as: alpha (this policy wins)');
      const gamma = await waitFor(() => readyOf('gamma'), { description: 'gamma to get a status', timeoutMs: 30_000 });
      expect(gamma.reason).toBe('Serving');

      const listed = await controlPlane.kubectl(['get', 'ssp', 'gamma', '--no-headers']);
      expect(listed.stdout.split(/\s+/).slice(0, 2)).toEqual(['gamma', 'workspace']);
      expect(listed.stdout).toContain('True');
    } finally {
      writer.stop();
      for (const name of ['alpha', 'beta', 'gamma']) await objects.deleteClusterCustomObject({ ...target, name }).catch(() => undefined);
    }
  });
});

describe('policies whose storage collides', () => {
  it('the newer one does not serve, and says why; it serves once the older one is gone', async () => {
    const writer = writePolicyStatus(controlPlane.kubeConfig, policies, pino({ level: 'silent' }), 1_000);
    const shared = (name: string, subPath: string) => ({
      apiVersion: `${policyGroup}/${policyVersion}`,
      kind: 'SandboxStoragePolicy',
      metadata: { name },
      spec: { mode: 'shared', podSelector: { matchLabels: { collide: name } }, shared: { claimName: 'team-data', mounts: [{ subPath, mountPath: '/sandbox' }] } },
    });
    const conditionsOf = async (name: string) => {
      const object = (await objects.getClusterCustomObjectStatus({ ...target, name })) as { metadata: { generation: number }; status?: PolicyStatus };
      return object.status?.observedGeneration === object.metadata.generation ? object.status?.conditions : undefined;
    };
    const served = () => policies.current().map((policy) => policy.name).filter((name) => name.startsWith('collide-'));
    try {
      // Created in name order too, so that a creation-time tie (one-second resolution) gives the same answer.
      await objects.createClusterCustomObject({ ...target, body: shared('collide-a', 'users/{user}') });
      await waitFor(() => served().includes('collide-a'), { description: 'the first policy to serve', timeoutMs: 30_000 });
      await objects.createClusterCustomObject({ ...target, body: shared('collide-b', 'users/{user}-skills') });
      const refused = await waitFor(
        async () => {
          const conditions = await conditionsOf('collide-b');
          return conditions?.find((condition) => condition.type === 'Ready')?.reason === 'ConflictsWithPolicy' ? conditions : undefined;
        },
        { description: 'the newer policy to report the conflict', timeoutMs: 30_000 },
      );
      expect(served()).toEqual(['collide-a']);
      expect(refused.map((condition) => [condition.type, condition.status, condition.reason])).toEqual([
        ['Ready', 'False', 'ConflictsWithPolicy'],
        ['Invalid', 'True', 'ConflictsWithPolicy'],
      ]);
      expect(refused[1]?.message).toContain(
        'policy "collide-b": spec.shared.mounts[0].subPath: Invalid value: "users/{user}-skills": on claim "team-data" it collides with policy "collide-a"',
      );

      await objects.deleteClusterCustomObject({ ...target, name: 'collide-a' });
      await waitFor(async () => (await conditionsOf('collide-b'))?.find((condition) => condition.type === 'Ready')?.status === 'True', {
        description: 'the remaining policy to serve',
        timeoutMs: 30_000,
      });
      expect(served()).toEqual(['collide-b']);
    } finally {
      writer.stop();
      for (const name of ['collide-a', 'collide-b']) await objects.deleteClusterCustomObject({ ...target, name }).catch(() => undefined);
    }
  });
});

describe('looking at the cluster from the command line', () => {
  const cli = (args: string[]) =>
    spawnSync(process.execPath, [`${root}src/cli.ts`, ...args, '--kubeconfig', controlPlane.kubeconfigPath], { encoding: 'utf8' });

  it('lists policies in precedence order and reviews a Pod against exactly the installed policies', async () => {
    const policy = (name: string, spec: unknown) => ({ apiVersion: `${policyGroup}/${policyVersion}`, kind: 'SandboxStoragePolicy', metadata: { name }, spec });
    await objects.createClusterCustomObject({ ...target, body: policy('general', {}) });
    await objects.createClusterCustomObject({
      ...target,
      body: policy('ml-team', { namespaceSelector: { matchLabels: { team: 'ml' } }, mode: 'shared', shared: { claimName: 'ml-data' } }),
    });
    try {
      const listed = cli(['policies']);
      expect(listed.status).toBe(0);
      const lines = listed.stdout.trim().split('\n').map((line) => line.split(/\s+/));
      expect(lines.map((columns) => columns.slice(0, 4))).toEqual([
        ['NAME', 'MODE', 'ENFORCEMENT', 'STORAGE'],
        ['ml-team', 'shared', 'enforce', 'pvc/ml-data'],
        ['general', 'workspace', 'enforce', 'thread/2Gi/(default'],
      ]);

      const mlNamespace = await createTestNamespace(controlPlane, 'ml', { team: 'ml' });
      const podFile = `${webhook.tls.directory}/pod.json`;
      writeFileSync(podFile, JSON.stringify(pod()));
      const inMl = cli(['review', '--from-cluster', '--pod', podFile, '--namespace', mlNamespace, '--output', 'pod']);
      expect(inMl.status).toBe(0);
      expect(JSON.parse(inMl.stdout).spec.volumes).toEqual([
        { name: 'sandbox-storage-shared', persistentVolumeClaim: { claimName: 'ml-data' } },
        { name: 'sandbox-storage-seed-script', configMap: { name: seedScriptConfigMapName(), defaultMode: 0o444 } },
      ]);
      const elsewhere = cli(['review', '--from-cluster', '--pod', podFile, '--namespace', namespace, '--output', 'pod']);
      expect(JSON.parse(elsewhere.stdout).metadata.annotations).toEqual({ 'sandbox-storage.io/policy': 'general' });
    } finally {
      await objects.deleteClusterCustomObject({ ...target, name: 'general' });
      await objects.deleteClusterCustomObject({ ...target, name: 'ml-team' });
    }
  });
});
