// The controller caches a reduced view of each sandbox Pod: everything it decides from the Pod must come out the
// same as from the full, admitted Pod, for every kind of Pod the planning core distinguishes.
import type * as k8s from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { planPod } from '../../src/admission/plan-pod.ts';
import { hasStorageGate } from '../../src/admission/scheduling-gate.ts';
import { plannedClaims } from '../../src/controller/pod-claims.ts';
import { controllerPodView, sharingPodView } from '../../src/controller/pod-view.ts';
import { SharedStrings } from '../../src/kube/shared-strings.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import type { Policy } from '../../src/policy/types.ts';
import { admissionPayloads } from '../../bench/lib/admission-payloads.ts';
import { policyFrom, sandboxPod } from '../fixtures/pods.ts';

/** The Pod as the API server stores it after our webhook: mutated, with namespace, uid and status. */
function admitted(raw: unknown, policies: readonly Policy[], namespace = 'agents'): k8s.V1Pod {
  const plan = planPod(structuredClone(raw), policies, { operation: 'CREATE', namespace, dryRun: false, userInfo: {} });
  const pod = structuredClone((plan.mutated ?? raw) as k8s.V1Pod);
  pod.metadata = {
    ...pod.metadata,
    name: pod.metadata?.name ?? 'sandbox-x1',
    namespace,
    uid: '3f0c0000-0000-4000-8000-000000000001',
    resourceVersion: '4711',
    annotations: { ...pod.metadata?.annotations, 'kubectl.kubernetes.io/last-applied-configuration': JSON.stringify(raw) },
  };
  pod.status = { phase: 'Pending', conditions: [{ type: 'PodScheduled', status: 'False', reason: 'SchedulingGated' }] };
  return pod;
}

const defaults = embeddedDefaultPolicies();
const securityPolicy = policyFrom({ seed: { runAs: 'root' } }, 'root-seeder');

const cases: Array<{ name: string; pod: k8s.V1Pod; policies: readonly Policy[] }> = [
  { name: 'bench sandbox Pod (5.5 KB review)', pod: admitted(admissionPayloads()[0]!.pod, defaults), policies: defaults },
  { name: 'bench sandbox Pod (20 KB review)', pod: admitted(admissionPayloads()[1]!.pod, defaults), policies: defaults },
  { name: 'minimal sandbox Pod', pod: admitted(sandboxPod(), defaults), policies: defaults },
  {
    name: 'sandbox user and volumes of its own',
    pod: admitted(
      sandboxPod({
        spec: {
          securityContext: { runAsUser: 1000, runAsGroup: 1000, fsGroup: 1000 },
          volumes: [{ name: 'cache', emptyDir: {} }],
          containers: [
            { name: 'sidecar', image: 'registry.example/sidecar:1' },
            { name: 'sandbox', image: 'registry.example/sandbox:1', volumeMounts: [{ name: 'cache', mountPath: '/cache' }], securityContext: { runAsNonRoot: true } },
          ],
        },
      }),
      [securityPolicy],
    ),
    policies: [securityPolicy],
  },
  {
    name: 'a Pod that mounts something else at the storage path (no claim)',
    pod: admitted(
      sandboxPod({
        spec: {
          volumes: [{ name: 'own', emptyDir: {} }],
          containers: [{ name: 'sandbox', image: 'registry.example/sandbox:1', volumeMounts: [{ name: 'own', mountPath: '/sandbox' }] }],
        },
      }),
      defaults,
    ),
    policies: defaults,
  },
  { name: 'a Pod of an unknown policy', pod: { ...admitted(sandboxPod(), defaults), metadata: { ...admitted(sandboxPod(), defaults).metadata, annotations: { 'sandbox-storage.io/policy': 'gone' } } }, policies: defaults },
];

describe('controller Pod view', () => {
  for (const { name, pod, policies } of cases) {
    it(`plans the same claims, gates and identity as the full Pod: ${name}`, () => {
      const view = controllerPodView(structuredClone(pod));
      expect(plannedClaims(view, policies)).toEqual(plannedClaims(pod, policies));
      expect(hasStorageGate(view)).toBe(hasStorageGate(pod));
      expect(view.spec?.schedulingGates).toEqual(pod.spec?.schedulingGates);
      expect(view.metadata).toMatchObject({ name: pod.metadata?.name, namespace: pod.metadata?.namespace, uid: pod.metadata?.uid, resourceVersion: pod.metadata?.resourceVersion });
      expect(view.metadata?.labels).toEqual(pod.metadata?.labels);
      expect(view.status).toEqual({ phase: 'Pending' });
    });
  }

  it('with shared strings, is the same view (one table for all Pods, bounded)', () => {
    const strings = new SharedStrings(8);
    const view = sharingPodView(strings);
    for (const { pod } of cases) expect(view(structuredClone(pod))).toEqual(controllerPodView(structuredClone(pod)));
    // Past its capacity the table starts over instead of growing; the views stay right.
    for (let index = 0; index < 50; index += 1) expect(strings.intern(`thread-${index}`)).toBe(`thread-${index}`);
    expect(view(structuredClone(cases[0]!.pod))).toEqual(controllerPodView(structuredClone(cases[0]!.pod)));
  });

  it('shares strings without changing values: undefined fields left out, dates and numbers kept', () => {
    const strings = new SharedStrings();
    const when = new Date('2026-01-01T00:00:00Z');
    expect(strings.share({ a: 'x', b: undefined, c: [1, 'y', null], d: when, e: { f: true } })).toEqual({ a: 'x', c: [1, 'y', null], d: when, e: { f: true } });
    expect(strings.share({ d: when }).d).toBe(when);
  });

  it('keeps a deletion timestamp, and is several times smaller than an admitted Pod', () => {
    const pod = cases[0]!.pod;
    const deleting = controllerPodView({ ...pod, metadata: { ...pod.metadata, deletionTimestamp: new Date('2026-01-01T00:00:00Z') } });
    expect(deleting.metadata?.deletionTimestamp).toEqual(new Date('2026-01-01T00:00:00Z'));
    const view = controllerPodView(pod);
    expect(plannedClaims(pod, defaults).claims).toHaveLength(1);
    expect(JSON.stringify(view).length * 5).toBeLessThan(JSON.stringify(pod).length);
    expect(JSON.stringify(view)).not.toContain('sandbox-storage seed');
  });

  it('plans nothing for a Pod that carries the policy annotation without being that policy\'s sandbox', () => {
    const pod = cases[0]!.pod;
    const unselected = { ...pod, metadata: { ...pod.metadata, labels: {} } };
    expect(plannedClaims(unselected, defaults)).toMatchObject({ claims: [], problem: expect.stringMatching(/does not select it/) });
    const unmounted = { ...pod, spec: { ...pod.spec, containers: pod.spec?.containers ?? [], volumes: [] } };
    expect(plannedClaims(unmounted, defaults)).toMatchObject({ claims: [], problem: expect.stringMatching(/does not mount PVC/) });
  });
});
