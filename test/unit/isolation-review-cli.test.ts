// `sandbox-storage review` as a process: the whole decision (mutating, then validating webhook) and its exit code.
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { admissionReviewFor } from '../fixtures/pods.ts';
import { podMounting, podWith, sandboxLabels, sharedVolume } from '../fixtures/isolation.ts';

const root = new URL('../..', import.meta.url).pathname;
const scratch = mkdtempSync(join(tmpdir(), 'sandbox-storage-isolation-cli-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function cli(args: string[], files: Record<string, unknown>) {
  for (const [name, content] of Object.entries(files)) writeFileSync(join(scratch, name), JSON.stringify(content));
  const result = spawnSync(process.execPath, [join(root, 'src/cli.ts'), 'review', ...args], { cwd: scratch, encoding: 'utf8' });
  return { code: result.status, stderr: result.stderr, json: result.stdout ? JSON.parse(result.stdout) : undefined };
}

const sharedPolicy = join(root, 'examples/policies/shared.yaml');

describe('review shows the decision of both webhooks', () => {
  it('a sandbox the mutating webhook would inject, but whose requester may not use that id: exit 1, no patch', () => {
    const { code, stderr, json } = cli(['--policy', sharedPolicy, '--pod', 'pod.json', '--user', 'bob'], {
      'pod.json': podWith({ labels: sandboxLabels('alice') }),
    });
    expect(code).toBe(1);
    expect(stderr).toMatch(/^denied by the validating webhook: sandbox-storage: requester "bob" may only use user id "bob", not "alice" \[rule RequesterBinding/);
    expect(json.kind).toBe('AdmissionReview');
    expect(json.response.allowed).toBe(false);
    expect(json.response.patch).toBeUndefined();
  });

  it('the same pod for its own user: exit 0 with the mutating patch', () => {
    const { code, json } = cli(['--policy', sharedPolicy, '--pod', 'pod.json', '--user', 'alice'], { 'pod.json': podWith({ labels: sandboxLabels('alice') }) });
    expect(code).toBe(0);
    expect(json.response.patchType).toBe('JSONPatch');
  });

  it('an UPDATE of pods/ephemeralcontainers with oldObject, given as an AdmissionReview', () => {
    const before = podMounting(sandboxLabels('alice'), sharedVolume(), { subPath: 'users/alice/threads/t1/user-data' });
    const after = structuredClone(before) as { spec: Record<string, unknown> };
    after.spec.ephemeralContainers = [{ name: 'debugger', image: 'busybox', volumeMounts: [{ name: 'data', mountPath: '/all' }] }];
    const review = admissionReviewFor(after, {
      operation: 'UPDATE',
      subResource: 'ephemeralcontainers',
      oldObject: before,
      userInfo: { username: 'alice' },
    });
    const { code, stderr } = cli(['--policy', sharedPolicy, '--review', 'debug.json'], { 'debug.json': review });
    expect(code).toBe(1);
    expect(stderr).toContain('ephemeral container "debugger" mounts volume "data" at /all: shared PVC "sandbox-data" is mounted at its root');
  });
});
