// The CRD generated from src/policy/schema.ts, installed into a real API server: it must accept and reject exactly
// what offline validation (review, serve --policy) accepts and rejects, with the same field paths and messages,
// and apply the same defaults.
import * as k8s from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { crdPath } from '../../scripts/policy-artifacts.ts';
import { policyGroup, policyNames, policyVersion } from '../../src/policy/schema.ts';
import { validatePolicyDocument } from '../../src/policy/validate.ts';
import { startControlPlane, type ControlPlane } from '../harness/controlplane.ts';
import { waitFor } from '../harness/wait.ts';

const root = new URL('../..', import.meta.url).pathname;
let controlPlane: ControlPlane;
let objects: k8s.CustomObjectsApi;
let counter = 0;

const target = { group: policyGroup, version: policyVersion, plural: policyNames.plural };

function policy(spec: unknown, name = `p${++counter}`) {
  return { apiVersion: `${policyGroup}/${policyVersion}`, kind: 'SandboxStoragePolicy', metadata: { name }, spec };
}

function statusOf(error: unknown): { message: string; details?: { causes?: Array<{ field?: string; message?: string }> } } {
  if (!(error instanceof k8s.ApiException)) throw error;
  return typeof error.body === 'string' ? JSON.parse(error.body) : error.body;
}

/** The API server's field errors for creating `body`, as `field: message` lines; empty when it was accepted. */
async function serverErrors(body: ReturnType<typeof policy>): Promise<string[]> {
  try {
    await objects.createClusterCustomObject({ ...target, body, fieldValidation: 'Strict' });
    return [];
  } catch (error) {
    const status = statusOf(error);
    return (status.details?.causes ?? []).map((cause) => `${cause.field}: ${cause.message}`).sort();
  }
}

function offlineErrors(body: ReturnType<typeof policy>): string[] {
  return validatePolicyDocument(body).errors.map((error) => `${error.field}: ${error.message}`).sort();
}

beforeAll(async () => {
  controlPlane = await startControlPlane();
  objects = controlPlane.kubeConfig.makeApiClient(k8s.CustomObjectsApi);
  const applied = await controlPlane.kubectl(['apply', '--server-side', '-f', `${root}${crdPath}`]);
  expect(applied.stderr).toBe('');
  const established = await controlPlane.kubectl([
    'wait', '--for=condition=Established', `crd/${policyNames.plural}.${policyGroup}`, '--timeout=60s',
  ]);
  expect(established.code).toBe(0);
});

afterAll(async () => {
  await controlPlane?.stop();
});

describe('the SandboxStoragePolicy CRD and offline validation agree', () => {
  const invalidSpecs: Array<[string, unknown]> = [
    ['unsupported mode', { mode: 'nfs' }],
    ['bad container name', { container: 'Sandbox_1' }],
    ['too long container name', { container: 'x'.repeat(64) }],
    ['same identity labels', { identity: { userLabel: 'example.com/id', threadLabel: 'example.com/id' } }],
    ['bad identity label key', { identity: { userLabel: 'no spaces allowed' } }],
    ['workspace scope', { workspace: { scope: 'tenant' } }],
    ['workspace mount path with ..', { workspace: { mountPath: '/sandbox/../etc' }, seed: { path: '/sandbox/../etc' } }],
    ['workspace mount path under the staging dir', { workspace: { mountPath: '/sandbox-storage/x' }, seed: { enabled: false } }],
    ['relative mount path', { workspace: { mountPath: 'sandbox' } }],
    ['seed path not injected', { workspace: { mountPath: '/data' } }],
    ['claim name prefix', { workspace: { claimNamePrefix: 'WS-' } }],
    ['size not a quantity', { workspace: { size: '2 GB' } }],
    ['size zero', { workspace: { size: '0Gi' } }],
    ['no access modes', { workspace: { accessModes: [] } }],
    ['duplicate access modes', { workspace: { accessModes: ['ReadWriteOnce', 'ReadWriteOnce'] } }],
    ['unknown access mode', { workspace: { accessModes: ['RWO'] } }],
    ['block volume mode', { workspace: { volumeMode: 'Block' } }],
    ['storage class', { workspace: { storageClassName: 'Fast SSD' } }],
    ['shared without claim', { mode: 'shared' }],
    ['shared claim name', { mode: 'shared', shared: { claimName: 'Shared_Data' } }],
    [
      'shared templates',
      {
        mode: 'shared',
        shared: {
          claimName: 'data',
          mounts: [
            { subPath: '/abs/{user}', mountPath: '/sandbox' },
            { subPath: 'users/{user}{thread}', mountPath: '/a' },
            { subPath: 'users/../{user}', mountPath: '/b' },
            { subPath: '{thread}', mountPath: '/c' },
            { subPath: 'x/{tenant}/{user}', mountPath: '/d' },
            { subPath: 'users//{user}', mountPath: '/e' },
          ],
        },
      },
    ],
    ['shared mounts at one path', { mode: 'shared', shared: { claimName: 'data', mounts: [{ subPath: 'a/{user}', mountPath: '/sandbox' }, { subPath: 'b/{user}', mountPath: '/sandbox' }] } }],
    ['shared mount without subPath', { mode: 'shared', shared: { claimName: 'data', mounts: [{ mountPath: '/sandbox' }] } }],
    ['seeding a read-only mount', { mode: 'shared', shared: { claimName: 'data', mounts: [{ subPath: 'a/{user}', mountPath: '/sandbox', readOnly: true }] } }],
    ['sentinel', { seed: { sentinel: '..' } }],
    ['sentinel with a slash', { seed: { sentinel: 'a/b' } }],
    ['selector operator', { podSelector: { matchExpressions: [{ key: 'a', operator: 'Near' }] } }],
    ['selector values', { podSelector: { matchExpressions: [{ key: 'a', operator: 'In' }, { key: 'b', operator: 'Exists', values: ['x'] }] } }],
    ['selector label key', { namespaceSelector: { matchLabels: { 'bad key!': 'x' } } }],
    ['selector label value', { podSelector: { matchLabels: { app: 'not valid!' } } }],
    ['wrong types', { seed: { enabled: 'yes' }, workspace: { size: 2 }, mode: ['workspace'] }],
    ['isolation: empty names, trusted requesters without enforce', { isolation: { exemptions: { users: [''] }, requesters: { trustedGroups: ['platform'] } } }],
    ['isolation: duplicate names', { isolation: { exemptions: { groups: ['a', 'a'] } } }],
    ['preparation without claim', { mode: 'shared', shared: { claimName: 'data', preparation: { enabled: true } } }],
    ['preparation in workspace mode', { shared: { preparation: { enabled: true, claimName: 'admin-share' } } }],
    ['preparation without the gate', { mode: 'shared', shared: { claimName: 'data', preparation: { enabled: true, claimName: 'admin-share' } }, provisioning: { schedulingGate: false } }],
    ['preparation mode, runAs, namespace', { mode: 'shared', shared: { claimName: 'data', preparation: { mode: '0800', runAs: 'nobody', namespace: 'Bad_NS' } } }],
  ];

  it.each(invalidSpecs)('%s: both reject, with the same field errors', async (_, spec) => {
    const body = policy(spec);
    const offline = offlineErrors(body);
    expect(offline.length).toBeGreaterThan(0);
    expect(await serverErrors(body)).toEqual(offline);
  });

  it('unknown fields: both reject', async () => {
    const body = policy({ workspace: { sise: '1Gi' } });
    expect(offlineErrors(body)).toEqual(['spec.workspace.sise: Unknown field: field not declared in schema']);
    await expect(objects.createClusterCustomObject({ ...target, body, fieldValidation: 'Strict' })).rejects.toSatisfy(
      (error: unknown) => statusOf(error).message.includes('unknown field "spec.workspace.sise"'),
    );
  });

  const validSpecs: Array<[string, unknown]> = [
    ['empty spec: every default', {}],
    ['workspace per user', { workspace: { scope: 'user', storageClassName: 'fast', size: '10Gi', accessModes: ['ReadWriteOncePod'] } }],
    ['shared', { mode: 'shared', shared: { claimName: 'sandbox-data', mounts: [{ subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox' }, { subPath: 'users/{user}/skills', mountPath: '/skills', readOnly: true }] } }],
    ['selectors', { namespaceSelector: { matchExpressions: [{ key: 'tier', operator: 'In', values: ['agents'] }] }, podSelector: { matchLabels: { 'example.com/sandbox': 'yes' } } }],
    ['shared with preparation', { mode: 'shared', shared: { claimName: 'data', preparation: { enabled: true, claimName: 'admin-share', namespace: 'storage-admin', image: 'registry.example/sandbox-storage:1', runAs: 'identity', mode: '750' } } }],
    ['isolation', { isolation: { exemptions: { users: ['system:serviceaccount:platform:gateway'] }, requesters: { enforce: true, trustedGroups: ['system:serviceaccounts:platform'], usernameTransform: { stripPrefix: 'oidc:' } } } }],
  ];

  it.each(validSpecs)('%s: both accept and fill in the same defaults', async (_, spec) => {
    const body = policy(spec);
    const offline = validatePolicyDocument(body);
    expect(offline.errors).toEqual([]);
    const created = (await objects.createClusterCustomObject({ ...target, body, fieldValidation: 'Strict' })) as { spec: unknown };
    expect(created.spec).toEqual(offline.policy?.spec);
  });

  it('refuses to change the storage layout of an existing policy, offline and in the cluster', async () => {
    const name = 'layout-fixed';
    const created = (await objects.createClusterCustomObject({ ...target, body: policy({ workspace: { scope: 'thread' } }, name) })) as {
      metadata: { resourceVersion: string };
      spec: any;
    };
    const changed = policy({ ...created.spec, workspace: { ...created.spec.workspace, scope: 'user' } }, name);
    const offline = validatePolicyDocument(changed, created.spec).errors.map((error) => `${error.field}: ${error.message}`);
    expect(offline).toEqual([
      "spec: Invalid value: the storage layout (mode, workspace.scope, workspace.claimNamePrefix, shared.claimName, shared subPath templates) is immutable: changing it would orphan every user's data; create a new policy instead",
    ]);
    try {
      await objects.replaceClusterCustomObject({
        ...target,
        name,
        body: { ...changed, metadata: { name, resourceVersion: created.metadata.resourceVersion } },
      });
      expect.unreachable('the API server accepted a storage layout change');
    } catch (error) {
      const causes = (statusOf(error).details?.causes ?? []).map((cause) => `${cause.field}: ${cause.message}`);
      expect(causes).toEqual(offline);
    }
    // what is not layout may change
    const resized = { ...created.spec, workspace: { ...created.spec.workspace, size: '5Gi' } };
    expect(validatePolicyDocument(policy(resized, name), created.spec).errors).toEqual([]);
    await objects.replaceClusterCustomObject({ ...target, name, body: { ...policy(resized, name), metadata: { name, resourceVersion: created.metadata.resourceVersion } } });
  });

  it('teaches its fields through kubectl explain and shows useful columns', async () => {
    // The API server publishes a new CRD's OpenAPI document asynchronously.
    const explained = await waitFor(
      async () => {
        const result = await controlPlane.kubectl(['explain', 'ssp.spec.workspace.claimNamePrefix']);
        return result.code === 0 && result.stdout.length > 0 ? result : undefined;
      },
      { description: 'kubectl explain to know the CRD', timeoutMs: 60_000 },
    );
    expect(explained.stdout).toContain('Fixed prefix of every workspace PVC name');
    const listed = await controlPlane.kubectl(['get', 'ssp']);
    expect(listed.stdout.split('\n')[0]?.split(/\s+/)).toEqual(['NAME', 'MODE', 'CLAIM', 'CLASS', 'READY', 'AGE']);
  });
});
