// planStorage is the part of planPod that decides storage without touching the Pod; the controller reads a Pod's
// PVCs from it. It must agree with planPod on claims and denials, and leave the Pod as it was.
import type { V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { planPod } from '../../src/admission/plan-pod.ts';
import { planStorage } from '../../src/admission/plan-storage.ts';
import { defaultLabels } from '../../src/labels.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import { sandboxPod } from '../fixtures/pods.ts';

const [policy] = embeddedDefaultPolicies();
const request = { operation: 'CREATE', namespace: 'team-a', dryRun: false, userInfo: {} };

function both(pod: V1Pod) {
  const frozen = structuredClone(pod);
  const storage = planStorage(pod, policy!, 'team-a');
  expect(pod).toEqual(frozen);
  return { storage, plan: planPod(pod, [policy!], request) };
}

describe('planStorage', () => {
  it('plans the claims planPod plans, with the identity and layout', () => {
    const { storage, plan } = both(sandboxPod() as unknown as V1Pod);
    expect(storage.denials).toEqual([]);
    expect(storage.claims).toEqual(plan.claims);
    expect(storage.claims).toHaveLength(1);
    expect(storage.identity).toMatchObject({ user: 'alice', thread: 't1' });
    expect(storage.layout?.claim).toEqual(storage.claims[0]);
  });

  it('refuses what planPod refuses, with the same reasons', () => {
    const { storage, plan } = both(sandboxPod({ labels: { [defaultLabels.inject]: 'true' } }) as unknown as V1Pod);
    expect(storage.denials.length).toBeGreaterThan(0);
    expect(storage.denials).toEqual(plan.denials);
    expect(storage.denialReasons).toEqual(plan.denialReasons);
    expect(storage.claims).toEqual([]);
  });

  it('plans no claim when the container already mounts something else at every path', () => {
    const pod = sandboxPod({
      spec: {
        containers: [{ name: 'sandbox', image: 'i', volumeMounts: [{ name: 'mine', mountPath: policy!.spec.seed.path }] }],
        volumes: [{ name: 'mine', emptyDir: {} }],
      },
    }) as unknown as V1Pod;
    const { storage, plan } = both(pod);
    expect(storage.claims).toEqual([]);
    expect(plan.claims).toEqual([]);
    expect(storage.warnings).toEqual(plan.warnings);
  });
});
