// Migration holds: the annotation read as hostile input, and planPod gating exactly the held identities.
import { describe, expect, it } from 'vitest';
import { holdOf } from '../../src/admission/migration-hold.ts';
import { planPod } from '../../src/admission/plan-pod.ts';
import type { ClaimLookup } from '../../src/admission/plan-types.ts';
import { formatMigrationHold, maxHoldValueBytes, migrationHoldKey, parseMigrationHolds } from '../../src/policy/migration-hold.ts';
import type { Policy } from '../../src/policy/types.ts';
import { policyFrom, sandboxPodFor, schedulingGatesOf } from '../fixtures/pods.ts';
import { storageSchedulingGate } from '../../src/labels.ts';

const plan = 'abcdefghijklmnopqrst';
const request = { operation: 'CREATE', namespace: 'agents', dryRun: false, userInfo: {} };
const holdOn = (policy: Policy, value: string, planId = plan): Policy => ({ ...policy, holds: parseMigrationHolds({ [migrationHoldKey(planId)]: value }) });
const perUser = policyFrom({ workspace: { scope: 'user' }, seed: { enabled: false }, provisioning: { schedulingGate: false } }, 'per-user');
const perThread = policyFrom({ seed: { enabled: false }, provisioning: { schedulingGate: false } }, 'per-thread');
// The policies ask for no gate (spec.provisioning.schedulingGate: false): only a hold gates their Pods.
const everyClaimReady: ClaimLookup = { get: () => undefined, ofUser: () => [] };
const gated = (policy: Policy, user: string, thread = 't1', namespace = 'agents') => {
  const planned = planPod(sandboxPodFor(user, thread), [policy], { ...request, namespace, claims: everyClaimReady });
  return { gated: schedulingGatesOf(planned.mutated as never).includes(storageSchedulingGate), warnings: planned.warnings };
};

describe('parseMigrationHolds', () => {
  it('reads listed identities per plan and ignores other annotations', () => {
    const holds = parseMigrationHolds({
      'kubectl.kubernetes.io/last-applied-configuration': '{}',
      [migrationHoldKey(plan)]: formatMigrationHold('agents', [{ user: 'alice' }, { user: 'bob', thread: 't2' }]),
    });
    expect(holds).toEqual([{ plan, namespace: 'agents', all: false, identities: [{ user: 'alice' }, { user: 'bob', thread: 't2' }] }]);
  });

  it.each([
    ['not JSON', '{'],
    ['an array', '[]'],
    ['no namespace', '{"identities":[["alice"]]}'],
    ['a namespace that is no string', '{"namespace":7,"identities":[]}'],
    ['identities that are no list', '{"namespace":"agents","identities":"alice"}'],
    ['an identity with three parts', '{"namespace":"agents","identities":[["a","b","c"]]}'],
    ['an empty user', '{"namespace":"agents","identities":[[""]]}'],
    ['a user that is an object', '{"namespace":"agents","identities":[[{"toString":"x"}]]}'],
    ['a value too long', JSON.stringify({ namespace: 'agents', identities: [['x'.repeat(maxHoldValueBytes)]] })],
  ])('holds every Pod of the policy in every namespace for %s, naming the annotation', (_why, value) => {
    const [hold] = parseMigrationHolds({ [migrationHoldKey(plan)]: value });
    expect(hold).toMatchObject({ plan, all: true, identities: [] });
    expect(hold?.namespace).toBeUndefined();
    expect(hold?.error).toContain(migrationHoldKey(plan));
    expect(gated(holdOn(perUser, value), 'anyone', 't1', 'elsewhere').gated).toBe(true);
  });

  it('holds the whole namespace when the list would not fit in an annotation', () => {
    const many = Array.from({ length: 3000 }, (_, index) => ({ user: `user-${index}-${'x'.repeat(50)}` }));
    const value = formatMigrationHold('agents', many);
    expect(Buffer.byteLength(value)).toBeLessThanOrEqual(maxHoldValueBytes);
    expect(parseMigrationHolds({ [migrationHoldKey(plan)]: value })).toEqual([{ plan, namespace: 'agents', all: true, identities: [] }]);
  });
});

describe('planPod under a migration hold', () => {
  it('gates a held identity, with a warning naming the plan, and leaves other identities and namespaces alone', () => {
    const policy = holdOn(perUser, formatMigrationHold('agents', [{ user: 'alice' }]));
    const alice = gated(policy, 'alice');
    expect(alice.gated).toBe(true);
    expect(alice.warnings.join('\n')).toContain(`waits behind the scheduling gate until migration ${plan}`);
    expect(gated(policy, 'bob')).toEqual({ gated: false, warnings: [] });
    expect(gated(policy, 'alice', 't1', 'other-namespace').gated).toBe(false);
    expect(gated(perUser, 'alice').gated).toBe(false);
  });

  it('matches the thread only when the policy keeps threads apart', () => {
    const value = formatMigrationHold('agents', [{ user: 'alice', thread: 't1' }]);
    expect(gated(holdOn(perThread, value), 'alice', 't1').gated).toBe(true);
    expect(gated(holdOn(perThread, value), 'alice', 't2').gated).toBe(false);
    // A user-scoped workspace is shared by every thread of the user: all of them wait.
    expect(gated(holdOn(perUser, value), 'alice', 't2').gated).toBe(true);
  });

  it('holds every identity of the namespace for a hold of all', () => {
    const policy = holdOn(perUser, JSON.stringify({ namespace: 'agents', all: true }));
    expect(gated(policy, 'zed').gated).toBe(true);
    expect(gated(policy, 'zed', 't1', 'other-namespace').gated).toBe(false);
  });

  it('is not fooled by identity labels that look like JSON or prototype keys', () => {
    const policy = holdOn(perUser, formatMigrationHold('agents', [{ user: 'alice' }]));
    expect(holdOf(policy, 'agents', { 'sandbox-storage.io/user': '__proto__' })).toBeUndefined();
    expect(holdOf(policy, 'agents', {})).toBeUndefined();
    expect(holdOf(policy, 'agents', undefined)).toBeUndefined();
  });
});
