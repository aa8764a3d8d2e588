// The seed-script ConfigMap as the controller creates it, what makes one ours (hostile look-alikes are not), and the
// validating rule that only the controller creates, changes or deletes one. Pure.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { validateSeedConfigMap } from '../../src/admission/isolation/validate-seed-configmap.ts';
import { isSeedScriptConfigMap, seedScriptConfigMapBody, seedScriptConfigMapProblem } from '../../src/admission/seed-script-configmap.ts';
import { seedScriptConfigMapName } from '../../src/admission/seed-script-delivery.ts';
import { scriptSha256, seedScriptSource } from '../../src/admission/seed-script.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { reviewValidation } from '../../src/webhook/validate.ts';
import { staticNamespaceLabels } from '../../src/admission/namespace-labels.ts';

const ours = (): V1ConfigMap => seedScriptConfigMapBody('agents');

describe('the seed-script ConfigMap', () => {
  it('is immutable, marked, named after the hash of the one script it holds', () => {
    const configMap = ours();
    expect(configMap.metadata?.name).toBe(seedScriptConfigMapName());
    expect(configMap.immutable).toBe(true);
    expect(configMap.data).toEqual({ 'seed.sh': seedScriptSource });
    expect(configMap.metadata?.labels).toEqual({
      'app.kubernetes.io/managed-by': 'sandbox-storage-webhook',
      'sandbox-storage.io/seed-script': scriptSha256(seedScriptSource).slice(0, 16),
    });
    expect(seedScriptConfigMapProblem(configMap)).toBeUndefined();
  });

  it('an older version of ours is still ours (so that it can be collected)', () => {
    const script = 'echo an older seeder\n';
    const version = scriptSha256(script).slice(0, 16);
    const older: V1ConfigMap = {
      metadata: { name: `sandbox-storage-seed-${version}`, labels: { 'app.kubernetes.io/managed-by': 'sandbox-storage-webhook', 'sandbox-storage.io/seed-script': version } },
      immutable: true,
      data: { 'seed.sh': script },
    };
    expect(seedScriptConfigMapProblem(older)).toBeUndefined();
  });

  it('refuses every look-alike: other content, no marks, mutable, extra keys, binary data, another name', () => {
    const cases: Array<[string, (configMap: V1ConfigMap) => void, RegExp]> = [
      ['other content', (c) => (c.data = { 'seed.sh': 'echo owned' }), /the SHA-256 differs/],
      ['one byte appended', (c) => (c.data = { 'seed.sh': `${seedScriptSource}x` }), /the SHA-256 differs/],
      ['no marks', (c) => (c.metadata!.labels = {}), /lacks the marks/],
      ['another managed-by', (c) => (c.metadata!.labels!['app.kubernetes.io/managed-by'] = 'Helm'), /lacks the marks/],
      ['label of another version', (c) => (c.metadata!.labels!['sandbox-storage.io/seed-script'] = '0'.repeat(16)), /lacks the marks/],
      ['mutable', (c) => (c.immutable = false), /not immutable/],
      ['immutable unset', (c) => delete c.immutable, /not immutable/],
      ['an extra key', (c) => (c.data = { ...c.data, 'evil.sh': 'id' }), /not exactly the key seed.sh/],
      ['binary data', (c) => (c.binaryData = { 'seed.sh': 'aWQ=' }), /not exactly the key seed.sh/],
      ['another key', (c) => (c.data = { 'run.sh': seedScriptSource }), /not exactly the key seed.sh/],
      ['a name without the hash', (c) => (c.metadata!.name = 'sandbox-storage-seed-latest'), /its name is not/],
      ['uppercase hex', (c) => (c.metadata!.name = c.metadata!.name!.toUpperCase()), /its name is not/],
    ];
    for (const [what, change, reason] of cases) {
      const configMap = ours();
      change(configMap);
      expect(seedScriptConfigMapProblem(configMap), what).toMatch(reason);
    }
  });

  it('is recognised by the name prefix or the label, whatever else it carries', () => {
    expect(isSeedScriptConfigMap({ metadata: { name: 'sandbox-storage-seed-x' } })).toBe(true);
    expect(isSeedScriptConfigMap({ metadata: { name: 'innocent', labels: { 'sandbox-storage.io/seed-script': '' } } })).toBe(true);
    expect(isSeedScriptConfigMap({ metadata: { name: 'kube-root-ca.crt' } })).toBe(false);
    expect(isSeedScriptConfigMap({ metadata: { name: 'x', labels: { 'app.kubernetes.io/managed-by': 'sandbox-storage-webhook' } } })).toBe(false);
    for (const hostile of [null, 'text', 7, { metadata: null }, { metadata: { name: 12, labels: 'x' } }, []]) expect(isSeedScriptConfigMap(hostile)).toBe(false);
  });
});

describe('validateSeedConfigMap', () => {
  const governing = embeddedDefaultPolicies();
  const controller = 'system:serviceaccount:sandbox-storage-system:sandbox-storage-webhook';
  const judge = (operation: string, object: unknown, oldObject: unknown, username: string, extra: { namespaceTerminating?: boolean } = {}) =>
    validateSeedConfigMap({ operation, object, oldObject, userInfo: { username }, controllerUsername: controller, ...extra }, governing);

  it('the controller may create and delete; nobody else may create, change or delete', () => {
    expect(judge('CREATE', ours(), undefined, controller).denials).toEqual([]);
    expect(judge('DELETE', null, ours(), controller).denials).toEqual([]);
    for (const [operation, object, oldObject, verb] of [
      ['CREATE', ours(), undefined, 'create'],
      ['UPDATE', ours(), ours(), 'change'],
      ['DELETE', null, ours(), 'delete'],
    ] as const) {
      const result = judge(operation, object, oldObject, 'admin');
      expect(result.denials).toEqual([
        `ConfigMap "${seedScriptConfigMapName()}" is refused: metadata.name starting with sandbox-storage-seed- or the label metadata.labels["sandbox-storage.io/seed-script"] marks the seed script that runs as root over the sandboxes' storage; only the sandbox-storage controller (${controller}) may ${verb} it [rule SeedScriptConfigMap]`,
      ]);
    }
  });

  it('refuses labelling a ConfigMap as the seed script, and removing the label from one', () => {
    const plain = { metadata: { name: 'settings' }, data: {} };
    const labelled = { metadata: { name: 'settings', labels: { 'sandbox-storage.io/seed-script': 'x' } }, data: {} };
    expect(judge('UPDATE', labelled, plain, 'alice').denials).toHaveLength(1);
    expect(judge('UPDATE', plain, labelled, 'alice').denials).toHaveLength(1);
    expect(judge('UPDATE', plain, plain, 'alice')).toEqual({ governed: false, denials: [] });
  });

  it('with the controller unknown, nobody may; outside governed namespaces, the rule does not apply', () => {
    const unknown = validateSeedConfigMap({ operation: 'CREATE', object: ours(), userInfo: { username: controller } }, governing);
    expect(unknown.denials[0]).toContain('only the sandbox-storage controller may create it');
    expect(validateSeedConfigMap({ operation: 'CREATE', object: ours(), userInfo: { username: 'alice' } }, [])).toEqual({ governed: false, denials: [] });
  });

  it('a namespace being deleted may lose its ConfigMap (the namespace controller empties it); nothing else opens', () => {
    expect(judge('DELETE', null, ours(), 'system:serviceaccount:kube-system:namespace-controller', { namespaceTerminating: true }).denials).toEqual([]);
    expect(judge('CREATE', ours(), undefined, 'alice', { namespaceTerminating: true }).denials).toHaveLength(1);
    expect(judge('DELETE', null, ours(), 'system:serviceaccount:kube-system:namespace-controller').denials).toHaveLength(1);
  });
});

describe('POST /validate with ConfigMap reviews', () => {
  const sources = { policies: embeddedDefaultPolicies(), namespaceLabels: staticNamespaceLabels(undefined), controllerUsername: 'system:serviceaccount:x:y' };
  const body = (request: Record<string, unknown>) => ({
    apiVersion: 'admission.k8s.io/v1',
    kind: 'AdmissionReview',
    request: { uid: 'u1', kind: { group: '', version: 'v1', kind: 'ConfigMap' }, resource: { group: '', version: 'v1', resource: 'configmaps' }, namespace: 'agents', userInfo: { username: 'alice' }, ...request },
  });

  it('answers a malformed review with a valid AdmissionReview naming the missing field', async () => {
    const outcome = await reviewValidation(body({ operation: 'UPDATE', object: ours() }), sources);
    expect(outcome.review.response).toMatchObject({ uid: 'u1', allowed: false, status: { code: 400, message: expect.stringContaining('needs the ConfigMap in oldObject') } });
  });

  it('refuses a tenant deleting the seed-script ConfigMap, and lets other ConfigMaps pass untouched', async () => {
    const refused = await reviewValidation(body({ operation: 'DELETE', name: seedScriptConfigMapName(), object: null, oldObject: ours() }), sources);
    expect(refused.review.response.allowed).toBe(false);
    expect(refused.review.response.status?.code).toBe(403);
    expect(refused.review.response.status?.message).toContain('[rule SeedScriptConfigMap]');
    const other = await reviewValidation(body({ operation: 'DELETE', name: 'settings', object: null, oldObject: { metadata: { name: 'settings' } } }), sources);
    expect(other.review.response).toEqual({ uid: 'u1', allowed: true });
  });
});
