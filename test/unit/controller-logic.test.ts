import { describe, expect, it } from 'vitest';
import { parseControllerConfig } from '../../src/commands/controller-options.ts';
import { runConfigFrom } from '../../src/commands/run.ts';
import { parseDuration } from '../../src/commands/duration.ts';
import { pendingRecheckAfterMs } from '../../src/controller/claim-reconciler.ts';
import { retentionDecision } from '../../src/controller/retention.ts';
import { WorkQueue } from '../../src/controller/work-queue.ts';
import { podChangeMatters } from '../../src/controller/pod-claims.ts';
import { storageSchedulingGate } from '../../src/labels.ts';
import { validatePolicyDocument } from '../../src/policy/validate.ts';

const retention = (changes: object = {}) => ({ whenUnused: 'Retain' as const, gracePeriodSeconds: 60, idleTTLSeconds: 0, ...changes });
const t0 = Date.parse('2026-01-01T00:00:00Z');

describe('retention decision', () => {
  it('Retain without idle TTL never deletes', () => {
    expect(retentionDecision(retention(), undefined, t0)).toEqual({ action: 'keep' });
    expect(retentionDecision(retention(), '2020-01-01T00:00:00Z', t0)).toEqual({ action: 'keep' });
  });

  it('Delete: marks first, waits out the grace period, then deletes', () => {
    const policy = retention({ whenUnused: 'Delete' });
    expect(retentionDecision(policy, undefined, t0)).toEqual({ action: 'mark', recheckAfterMs: 60_000 });
    expect(retentionDecision(policy, new Date(t0 - 20_000).toISOString(), t0)).toEqual({ action: 'wait', recheckAfterMs: 40_000 });
    expect(retentionDecision(policy, new Date(t0 - 60_000).toISOString(), t0)).toMatchObject({ action: 'delete' });
  });

  it('idle TTL applies under Retain; the sooner of grace and TTL wins under Delete', () => {
    expect(retentionDecision(retention({ idleTTLSeconds: 10 }), new Date(t0 - 10_000).toISOString(), t0)).toMatchObject({
      action: 'delete',
      reason: expect.stringContaining('idleTTLSeconds: 10'),
    });
    expect(retentionDecision(retention({ whenUnused: 'Delete', idleTTLSeconds: 600 }), new Date(t0 - 60_000).toISOString(), t0)).toMatchObject({
      action: 'delete',
      reason: expect.stringContaining('gracePeriodSeconds: 60'),
    });
  });

  it('an unreadable timestamp restarts the clock rather than deleting', () => {
    expect(retentionDecision(retention({ whenUnused: 'Delete' }), 'yesterday', t0)).toEqual({ action: 'mark', recheckAfterMs: 60_000 });
  });
});

describe('re-checking a Pending PVC', () => {
  const limitMs = 120_000;
  it('waits for the warning limit, then looks for the binder\'s reason at doubling intervals for two minutes only', () => {
    expect(pendingRecheckAfterMs(20_000, limitMs, false)).toBe(100_100);
    expect(pendingRecheckAfterMs(limitMs, limitMs, false)).toBe(5_000);
    expect(pendingRecheckAfterMs(limitMs + 5_000, limitMs, false)).toBe(5_000);
    expect(pendingRecheckAfterMs(limitMs + 10_000, limitMs, false)).toBe(10_000);
    expect(pendingRecheckAfterMs(limitMs + 40_000, limitMs, false)).toBe(40_000);
    // Without a provisioner the reason may never come: from then on only the periodic resync looks again.
    expect(pendingRecheckAfterMs(limitMs + 120_000, limitMs, false)).toBeUndefined();
    expect(pendingRecheckAfterMs(10 * limitMs, limitMs, false)).toBeUndefined();
    let waited = limitMs;
    let lookups = 0;
    for (let next = pendingRecheckAfterMs(waited, limitMs, false); next !== undefined; next = pendingRecheckAfterMs(waited, limitMs, false)) {
      lookups += 1;
      waited += next;
    }
    expect(lookups).toBeLessThanOrEqual(7);
  });

  it('stops once the reason is known', () => {
    expect(pendingRecheckAfterMs(limitMs + 1_000, limitMs, true)).toBeUndefined();
  });
});

describe('work queue', () => {
  it('hands a key out once however often it is added, and re-queues a key changed while in progress', async () => {
    const queue = new WorkQueue();
    queue.add('a');
    queue.add('a');
    queue.add('b');
    expect(queue.depth).toBe(2);
    const first = await queue.get();
    expect(first).toBe('a');
    queue.add('a'); // changed while processing: not handed to a second worker
    expect(await queue.get()).toBe('b');
    expect(queue.depth).toBe(0);
    queue.done('a');
    expect(await queue.get()).toBe('a');
  });

  it('backs off exponentially up to the cap and forgets on success', () => {
    const queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 1000 });
    expect([1, 2, 3, 4, 5, 6].map(() => queue.addRateLimited('k'))).toEqual([100, 200, 400, 800, 1000, 1000]);
    queue.forget('k');
    expect(queue.addRateLimited('k')).toBe(100);
    queue.shutDown();
  });

  it('shutDown releases waiting workers', async () => {
    const queue = new WorkQueue();
    const waiting = queue.get();
    queue.shutDown();
    expect(await waiting).toBeUndefined();
  });
});

describe('controller flags', () => {
  it('parses durations', () => {
    expect([parseDuration('15s'), parseDuration('500ms'), parseDuration('5m'), parseDuration('2'), parseDuration('x')]).toEqual([
      15_000, 500, 300_000, 2_000, undefined,
    ]);
  });

  it('reports every problem at once', async () => {
    await expect(
      parseControllerConfig(['--workers=0', '--lease-duration=2s', '--renew-deadline=5s', '--leader-elect=maybe', '--policy=/nonexistent.yaml']),
    ).rejects.toThrow(
      /--workers must be an integer from 1 to 64, got 0\n--leader-elect must be true or false, got maybe\n--lease-duration must be longer than --renew-deadline\n--policy: cannot read \/nonexistent.yaml/,
    );
  });

  it('directory preparation: namespace from $POD_NAMESPACE unless given, image only when given, bad values reported', async () => {
    const saved = process.env.POD_NAMESPACE;
    process.env.POD_NAMESPACE = 'storage-system';
    try {
      expect(await parseControllerConfig([])).toMatchObject({ preparationNamespace: 'storage-system', preparationImage: '' });
      expect(await parseControllerConfig(['--preparation-namespace=ops', '--preparation-image=registry.example/ssw:1'])).toMatchObject({
        preparationNamespace: 'ops',
        preparationImage: 'registry.example/ssw:1',
      });
    } finally {
      if (saved === undefined) delete process.env.POD_NAMESPACE;
      else process.env.POD_NAMESPACE = saved;
    }
    await expect(parseControllerConfig(['--preparation-namespace=Ops_1', '--preparation-image=a b'])).rejects.toThrow(
      /--preparation-namespace must be a namespace name, got Ops_1\n--preparation-image must be an image reference, got a b/,
    );
    const run = await runConfigFrom(['--preparation-image', 'i', '--port', '1']);
    expect(run.controller.preparationImage).toBe('i');
    expect(run.serve.port).toBe(1);
  });

  it('run gives the ownership key Secret to both halves, and the controller username to the webhook', async () => {
    const run = await runConfigFrom(['--ownership-key-secret=k', '--ownership-key-namespace', 'ops', '--controller-username=u']);
    expect(run.controller).toMatchObject({ ownershipKeySecret: 'k', ownershipKeyNamespace: 'ops' });
    expect(run.serve).toMatchObject({ ownershipKeySecret: 'k', ownershipKeyNamespace: 'ops', controllerUsername: 'u' });
  });

  it('run gives policies and metrics to the webhook side, credentials to both, controller flags to the controller', async () => {
    const run = await runConfigFrom(['--tls-cert-file', 'c', '--policy', 'p.yaml', '--workers=2', '--metrics-port', '0', '--port', '8443', '--kubeconfig', 'k']);
    expect(run.serve).toMatchObject({ certFile: 'c', policyFiles: ['p.yaml'], metricsPort: 0, port: 8443, kubeconfig: 'k' });
    expect(run.controller).toMatchObject({ workers: 2, kubeconfig: 'k', policyFiles: [] });
    // Policy files and the metrics port are the webhook side's: the controller reports nothing about them.
    expect(run.problems.filter((problem) => problem.startsWith('--policy') || problem.startsWith('--metrics-port'))).toEqual(['--policy: cannot read p.yaml']);
  });
});

describe('policy fields of provisioning and retention', () => {
  const doc = (spec: unknown) => ({ apiVersion: 'sandbox-storage.io/v1alpha1', kind: 'SandboxStoragePolicy', metadata: { name: 'p' }, spec });
  it('reports every bad value with its path', () => {
    const fields = validatePolicyDocument(
      doc({
        mode: 'shared',
        shared: { claimName: 'team' },
        provisioning: { pendingWarningSeconds: 0, schedulingGate: 'yes', shared: { createIfMissing: true, size: 'big', accessModes: [] } },
        retention: { whenUnused: 'Sometimes', gracePeriodSeconds: -1, idleTTLSeconds: 1.5 },
      }),
    ).errors.map((error) => error.field);
    expect(fields).toEqual([
      'spec.provisioning.schedulingGate',
      'spec.provisioning.pendingWarningSeconds',
      'spec.provisioning.shared.size',
      'spec.provisioning.shared.accessModes',
      'spec.retention.whenUnused',
      'spec.retention.gracePeriodSeconds',
      'spec.retention.idleTTLSeconds',
      '<nil>',
    ]);
  });
});

describe('which Pod events are worth a reconcile', () => {
  const gated = { metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [], schedulingGates: [{ name: storageSchedulingGate }] } };
  const released = { metadata: { name: 'p', namespace: 'ns' }, spec: { containers: [] } };
  const claims = ['ns/sandbox-a'];
  const change = (changes: object = {}) => ({ known: true, deleted: false, previous: claims, next: claims, ...changes });

  it('skips only a known, ungated, live Pod whose PVCs stay the same (its own gate removal)', () => {
    expect(podChangeMatters(released, change())).toBe(false);
    expect(podChangeMatters(released, change({ known: false }))).toBe(true);
    expect(podChangeMatters(gated, change())).toBe(true);
    expect(podChangeMatters(released, change({ deleted: true }))).toBe(true);
    expect(podChangeMatters({ ...released, metadata: { ...released.metadata, deletionTimestamp: new Date() } }, change())).toBe(true);
    // Relabelled to another identity: both the old and the new PVC keys need a look.
    expect(podChangeMatters(released, change({ next: ['ns/sandbox-b'] }))).toBe(true);
    expect(podChangeMatters(released, change({ next: [] }))).toBe(true);
  });
});
