import { seedScriptConfigMapName } from '../../src/admission/seed-script-delivery.ts';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { stringify } from 'yaml';
import { workspaceClaimName } from '../../src/naming/identity-names.ts';
import { admissionReviewFor, decodePatch, sandboxPod } from '../fixtures/pods.ts';
import { seedParameters } from '../harness/seed-parameters.ts';

const root = new URL('../..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'sandbox-storage-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function file(name: string, content: unknown): string {
  const path = join(scratch, name);
  writeFileSync(path, typeof content === 'string' ? content : stringify(content));
  return path;
}

function cli(args: string[], input?: string) {
  const result = spawnSync(process.execPath, [join(root, 'src/cli.ts'), ...args], { cwd: root, encoding: 'utf8', input });
  let json: any;
  try {
    json = JSON.parse(result.stdout);
  } catch {
    json = undefined;
  }
  return { code: result.status, stdout: result.stdout, stderr: result.stderr, json };
}

describe('sandbox-storage review', () => {
  it('uses the embedded default policy on the example pod and prints the AdmissionReview', () => {
    const { code, json, stderr } = cli(['review', '--pod', 'examples/sandbox-pod.yaml']);
    expect(stderr).toBe('');
    expect(code).toBe(0);
    expect(json.kind).toBe('AdmissionReview');
    expect(json.response.allowed).toBe(true);
    expect(json.response.auditAnnotations).toEqual({ policy: 'default' });
    const patch = decodePatch(json.response.patch) as Array<{ path: string; value: any }>;
    const claim = workspaceClaimName('sandbox-', { scope: 'thread', user: 'Alice_Smith', thread: 'thread-42' });
    expect(patch.find((operation) => operation.path === '/spec/volumes')?.value).toEqual([
      { name: 'sandbox-storage-workspace', persistentVolumeClaim: { claimName: claim } },
      { name: 'sandbox-storage-seed-script', configMap: { name: seedScriptConfigMapName(), defaultMode: 0o444 } },
    ]);
  });

  it('prints the mutated pod with --output pod', () => {
    const { code, json } = cli(['review', '--pod', 'examples/sandbox-pod.yaml', '--output', 'pod']);
    expect(code).toBe(0);
    expect(json.kind).toBe('Pod');
    expect(json.spec.initContainers[0].name).toBe('sandbox-storage-seed');
    expect(seedParameters(json.spec.initContainers[0])).toMatchObject({ SEED_UID: '1000' });
    expect(json.spec.containers[0].volumeMounts).toEqual([{ name: 'sandbox-storage-workspace', mountPath: '/sandbox', subPath: '.sandbox-storage-home' }]);
    expect(json.metadata.generateName).toBe('sandbox-');
  });

  it('applies a shared-mode policy file', () => {
    const { code, json } = cli(['review', '--policy', 'examples/shared-policy.yaml', '--pod', 'examples/sandbox-pod.yaml', '--output', 'pod']);
    expect(code).toBe(0);
    expect(json.spec.containers[0].volumeMounts).toEqual([
      { name: 'sandbox-storage-shared', mountPath: '/sandbox', subPath: 'users/_alice___smith/threads/thread-42/user-data' },
      { name: 'sandbox-storage-shared', mountPath: '/skills', subPath: 'users/_alice___smith/skills', readOnly: true },
    ]);
  });

  it('exits 1 with the reason on stderr when the pod is denied', () => {
    const pod = file('no-user.yaml', sandboxPod({ labels: { 'sandbox-storage.io/inject': 'true' } }));
    const { code, json, stderr } = cli(['review', '--pod', pod]);
    expect(code).toBe(1);
    expect(json.response.allowed).toBe(false);
    expect(json.response.status.code).toBe(403);
    expect(stderr).toMatch(/^denied: sandbox-storage: label sandbox-storage.io\/user \(the user id\) is required/);
    const podOutput = cli(['review', '--pod', pod, '--output', 'pod']);
    expect(podOutput.code).toBe(1);
    expect(podOutput.stdout).toBe('');
  });

  it('takes a whole AdmissionReview in JSON from stdin and applies command-line overrides', () => {
    const review = admissionReviewFor(sandboxPod(), { namespace: 'other', dryRun: false });
    const { code, json } = cli(['review', '--review', '-', '--namespace', 'team-a'], JSON.stringify(review));
    expect(code).toBe(0);
    expect(json.response.uid).toBe(review.request.uid);
    expect(json.response.allowed).toBe(true);
  });

  it('judges a storage gate removal by the requester named with --controller-username, as the server does', () => {
    const before = sandboxPod() as { spec: Record<string, unknown> };
    before.spec.schedulingGates = [{ name: 'sandbox-storage.io/storage' }];
    const after = structuredClone(before);
    after.spec.schedulingGates = [];
    const controller = 'system:serviceaccount:sandbox-storage-system:sandbox-storage-webhook';
    const review = JSON.stringify(admissionReviewFor(after, { operation: 'UPDATE', oldObject: before, userInfo: { username: controller } }));
    const unknown = cli(['review', '--review', '-'], review);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toMatch(/only the sandbox-storage controller removes it \[rule StorageGateHeld\]/);
    const named = cli(['review', '--review', '-', '--controller-username', controller], review);
    expect(named.stderr).toBe('');
    expect(named.code).toBe(0);
  });

  it('honours --namespace-labels for policies with a namespaceSelector', () => {
    const policy = file('ns-policy.yaml', {
      apiVersion: 'sandbox-storage.io/v1alpha1',
      kind: 'SandboxStoragePolicy',
      metadata: { name: 'agents-only' },
      spec: { namespaceSelector: { matchLabels: { tier: 'agents' } } },
    });
    const matching = cli(['review', '--policy', policy, '--pod', 'examples/sandbox-pod.yaml', '--namespace-labels', 'tier=agents']);
    const other = cli(['review', '--policy', policy, '--pod', 'examples/sandbox-pod.yaml', '--namespace-labels', 'tier=web']);
    expect(matching.json.response.patchType).toBe('JSONPatch');
    expect(other.json.response).toEqual({ uid: other.json.response.uid, allowed: true });
  });

  describe('refuses rather than answer without an input the server would have', () => {
    const nsPolicy = () =>
      file('ns-only.yaml', {
        apiVersion: 'sandbox-storage.io/v1alpha1',
        kind: 'SandboxStoragePolicy',
        metadata: { name: 'agents-only' },
        spec: { namespaceSelector: { matchLabels: { tier: 'agents' } } },
      });
    const missingLabels =
      'error: policy "agents-only" has a namespaceSelector, so the answer depends on the namespace\'s labels: give them with --namespace-labels K=V,... or use --from-cluster\n';

    it('a sandbox Pod under a policy with a namespaceSelector, without --namespace-labels', () => {
      const { code, stdout, stderr } = cli(['review', '--policy', nsPolicy(), '--pod', 'examples/sandbox-pod.yaml']);
      expect(stderr).toBe(missingLabels);
      expect(stdout).toBe('');
      expect(code).toBe(2);
    });

    it('any Pod: the validating webhook reads the labels too', () => {
      const plain = file('plain-pod.yaml', { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'web' }, spec: { containers: [{ name: 'web', image: 'nginx' }] } });
      const { code, stderr } = cli(['review', '--policy', nsPolicy(), '--pod', plain]);
      expect(stderr).toBe(missingLabels);
      expect(code).toBe(2);
      const given = cli(['review', '--policy', nsPolicy(), '--pod', plain, '--namespace-labels', 'tier=web']);
      expect(given.code).toBe(0);
    });

    it('exec into a Pod in a governed namespace, which the server would read', () => {
      const review = file('connect.json', {
        apiVersion: 'admission.k8s.io/v1',
        kind: 'AdmissionReview',
        request: {
          uid: 'c-1',
          kind: { group: '', version: 'v1', kind: 'PodExecOptions' },
          resource: { group: '', version: 'v1', resource: 'pods' },
          subResource: 'exec',
          name: 'sandbox-1',
          namespace: 'default',
          operation: 'CONNECT',
          userInfo: { username: 'mallory' },
          object: { apiVersion: 'v1', kind: 'PodExecOptions', command: ['sh'] },
        },
      });
      const { code, stdout, stderr } = cli(['review', '--review', review]);
      expect(stderr).toBe('error: the server judges exec/attach/portforward by the Pod they connect to, which it reads from the cluster: use --from-cluster\n');
      expect(stdout).toBe('');
      expect(code).toBe(2);
    });
  });

  it('denies a malformed Pod naming the field (422), not an internal error', () => {
    const malformed = file('malformed-pod.yaml', {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'broken', labels: { 'sandbox-storage.io/inject': 'true', 'sandbox-storage.io/user': 'alice', 'sandbox-storage.io/thread': 't1' } },
      spec: { containers: [{ name: 'sandbox', image: 'x', volumeMounts: {} }], schedulingGates: {} },
    });
    const { code, json, stderr } = cli(['review', '--pod', malformed]);
    expect(code).toBe(1);
    expect(json.response.allowed).toBe(false);
    expect(json.response.status).toEqual({
      code: 422,
      reason: 'Invalid',
      message: 'sandbox-storage: the Pod is malformed: spec.containers[0].volumeMounts: must be a list; spec.schedulingGates: must be a list',
    });
    expect(stderr).toContain('denied: sandbox-storage: the Pod is malformed: spec.containers[0].volumeMounts: must be a list');
  });

  it('exits 2 with every policy error on stderr', () => {
    const policy = file('bad-policy.yaml', {
      apiVersion: 'sandbox-storage.io/v1alpha1',
      kind: 'SandboxStoragePolicy',
      metadata: { name: 'bad' },
      spec: { mode: 'shared', workspace: { size: 'big' } },
    });
    const { code, stdout, stderr } = cli(['review', '--policy', policy, '--pod', 'examples/sandbox-pod.yaml']);
    expect(code).toBe(2);
    expect(stdout).toBe('');
    expect(stderr).toContain('spec.shared.claimName: Invalid value: shared mode needs the name of an existing PVC (a DNS-1123 subdomain)');
    expect(stderr).toContain("spec.workspace.size: Invalid value: \"big\": spec.workspace.size in body should match");
  });

  it('names the file, the document, the policy and the field of a policy error', () => {
    const good = { apiVersion: 'sandbox-storage.io/v1alpha1', kind: 'SandboxStoragePolicy', metadata: { name: 'good' }, spec: {} };
    const policy = file('second-bad.yaml', `${stringify(good)}---\n${stringify({ ...good, metadata: { name: 'x' }, spec: { mode: 'shared', shared: { claimName: 'team', mounts: [{ subPath: '../{user}', mountPath: '/sandbox' }] } } })}`);
    const { code, stderr } = cli(['review', '--policy', policy, '--pod', 'examples/sandbox-pod.yaml']);
    expect(code).toBe(2);
    expect(stderr).toBe(`error: ${policy}: document 2 (SandboxStoragePolicy "x"): spec.shared.mounts[0].subPath: Invalid value: "../{user}": must not contain empty, '.' or '..' segments\n`);
  });

  it('names file, line and column of a YAML syntax error in the Pod, and of JSON on stdin', () => {
    const pod = file('broken-pod.yaml', 'apiVersion: v1\nkind: Pod\nmetadata:\n  name: p\n   labels: {a: b}\n');
    const fromFile = cli(['review', '--pod', pod]);
    expect(fromFile.code).toBe(2);
    expect(fromFile.stderr.startsWith(`error: ${pod}:4:9: Nested mappings are not allowed in compact mappings\n`)).toBe(true);
    const fromStdin = cli(['review', '--pod', '-'], '{"kind": "Pod",\n "metadata": {"name": }');
    expect(fromStdin.code).toBe(2);
    expect(fromStdin.stderr).toMatch(/^error: <stdin>:2:\d+: /);
  });

  it('refuses a Pod file of several documents, naming it', () => {
    const pods = file('two-pods.yaml', 'kind: Pod\n---\nkind: Pod\n');
    const { code, stderr } = cli(['review', '--pod', pods]);
    expect(code).toBe(2);
    expect(stderr).toBe(`error: ${pods}: holds 2 documents; give one object\n`);
  });

  it.each([
    [['review'], 'give exactly one of --pod FILE or --review FILE'],
    [['review', '--pod', 'missing.yaml'], 'error: missing.yaml: cannot read: ENOENT: no such file or directory\n'],
    [['review', '--pod', 'examples/shared-policy.yaml'], 'is not a Pod manifest (kind: Pod)'],
    [['review', '--pod', 'examples/sandbox-pod.yaml', '--output', 'yaml'], '--output must be review or pod, got yaml'],
    [['review', '--pod', 'examples/sandbox-pod.yaml', '--bogus'], "Unknown option '--bogus'"],
    [['frobnicate'], 'unknown command "frobnicate"'],
  ])('exits 2 on bad input: %j', (args, message) => {
    const { code, stderr } = cli(args);
    expect(code).toBe(2);
    expect(stderr).toContain(message);
  });

  it('exits 2 for an AdmissionReview that is not one', () => {
    const review = file('not-a-review.json', JSON.stringify({ kind: 'Pod' }));
    const { code, stderr, json } = cli(['review', '--review', review]);
    expect(code).toBe(2);
    expect(stderr).toContain('error: expected kind AdmissionReview');
    expect(json.response.status.code).toBe(400);
  });

  it('prints usage with --help', () => {
    const { code, stdout } = cli(['review', '--help']);
    expect(code).toBe(0);
    expect(stdout).toMatch(/^Usage: sandbox-storage review/);
  });
});
