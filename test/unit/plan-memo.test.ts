// The controller plans a Pod once per version that could plan differently: a reused plan must be the plan the Pod
// has now, so every input that can change on a Pod (labels, the policy annotation, the uid of a recreated Pod, a
// policy reload) plans again.
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { planPod } from '../../src/admission/plan-pod.ts';
import { plannedClaims } from '../../src/controller/pod-claims.ts';
import { PlanMemo } from '../../src/controller/plan-memo.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { defaultLabels, ownershipLabels } from '../../src/labels.ts';
import { sandboxPodFor } from '../fixtures/pods.ts';

const policies = embeddedDefaultPolicies();

function admitted(user: string, thread: string, uid = '3f0c0000-0000-4000-8000-000000000001'): k8s.V1Pod {
  const raw = sandboxPodFor(user, thread);
  const plan = planPod(structuredClone(raw), policies, { operation: 'CREATE', namespace: 'agents', dryRun: false, userInfo: {} });
  const pod = structuredClone((plan.mutated ?? raw) as k8s.V1Pod);
  pod.metadata = { ...pod.metadata, name: 'sandbox-x1', namespace: 'agents', uid, resourceVersion: '10' };
  return pod;
}

const claimNames = (claims: ReturnType<PlanMemo['plan']>) => claims.claims.map((claim) => claim.name);

describe('plan memo', () => {
  it('reuses the plan of a later version with the same labels (the gate removed), and it is the fresh plan', () => {
    const memo = new PlanMemo();
    const first = admitted('alice', 't1');
    const planned = memo.plan(first, policies);
    expect(planned.claims).toHaveLength(1);
    const released = { ...first, metadata: { ...first.metadata, resourceVersion: '11', labels: { ...first.metadata?.labels } }, spec: { ...first.spec!, schedulingGates: [] } };
    expect(memo.plan(released, policies)).toBe(planned);
    expect(plannedClaims(released, policies)).toEqual(planned);
  });

  it('plans again when a label, the policy annotation, the uid or the policy set changes', () => {
    const memo = new PlanMemo();
    const pod = admitted('alice', 't1');
    const before = claimNames(memo.plan(pod, policies));

    const relabelled = { ...pod, metadata: { ...pod.metadata, labels: { ...pod.metadata?.labels, [defaultLabels.thread]: 't2' } } };
    // The Pod still mounts t1's PVC: planning it now reports that, instead of reusing t1's claims.
    expect(memo.plan(relabelled, policies)).toEqual(plannedClaims(relabelled, policies));
    expect(memo.plan(relabelled, policies).claims).toEqual([]);

    const otherPolicy = { ...pod, metadata: { ...pod.metadata, annotations: { ...pod.metadata?.annotations, [ownershipLabels.policy]: 'gone' } } };
    expect(memo.plan(otherPolicy, policies).problem).toContain('"gone"');

    const recreated = admitted('bob', 't1', '3f0c0000-0000-4000-8000-000000000002');
    expect(claimNames(memo.plan(recreated, policies))).not.toEqual(before);

    const reloaded = [...policies];
    const again = admitted('alice', 't1');
    const once = memo.plan(again, policies);
    expect(memo.plan(again, reloaded)).not.toBe(once);
    expect(memo.plan(again, reloaded)).toEqual(once);
  });

  it('an extra label (same count of other labels changed) is a change', () => {
    const memo = new PlanMemo();
    const pod = admitted('alice', 't1');
    const planned = memo.plan(pod, policies);
    const { [defaultLabels.thread]: _thread, ...rest } = pod.metadata!.labels!;
    const swapped = { ...pod, metadata: { ...pod.metadata, labels: { ...rest, other: 't1' } } };
    expect(memo.plan(swapped, policies)).not.toBe(planned);
  });

  it('stays bounded: when full it forgets everything and plans again', () => {
    const memo = new PlanMemo(2);
    const a = admitted('alice', 't1');
    const planned = memo.plan(a, policies);
    memo.plan({ ...admitted('bob', 't1'), metadata: { ...admitted('bob', 't1').metadata, name: 'sandbox-x2' } }, policies);
    memo.plan({ ...admitted('carol', 't1'), metadata: { ...admitted('carol', 't1').metadata, name: 'sandbox-x3' } }, policies);
    expect(memo.plan(a, policies)).not.toBe(planned);
    expect(memo.plan(a, policies)).toEqual(planned);
  });
});
