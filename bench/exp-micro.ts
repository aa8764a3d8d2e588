import { reviewAdmission, reviewPodMutation } from '../src/admission/admission-review.ts';
import { planPod } from '../src/admission/plan-pod.ts';
import { embeddedDefaultPolicies } from '../src/policy/embedded-default.ts';
import { staticNamespaceLabels } from '../src/k8s/namespace-labels.ts';
import { admissionPayloads } from './lib/admission-payloads.ts';
import jsonPatch from 'fast-json-patch';
import pino from 'pino';
const sources = { policies: embeddedDefaultPolicies(), namespaceLabels: staticNamespaceLabels(undefined) };
function time(name: string, n: number, fn: () => unknown) {
  for (let i = 0; i < 200; i++) fn();
  const t = process.cpuUsage(); for (let i = 0; i < n; i++) fn(); const d = process.cpuUsage(t);
  console.log(name.padEnd(40), ((d.user + d.system) / n).toFixed(1), 'µs');
}
for (const p of admissionPayloads()) {
  console.log('==', p.id, p.body.length);
  const body = JSON.parse(p.body);
  time('JSON.parse', 3000, () => JSON.parse(p.body));
  time('structuredClone', 3000, () => structuredClone(body.request.object));
  time('planPod', 3000, () => planPod(body.request.object, sources.policies, { operation: 'CREATE', namespace: 'agents', namespaceLabels: undefined, dryRun: false, userInfo: body.request.userInfo }));
  time('reviewPodMutation', 3000, () => reviewPodMutation(body.request, { policies: sources.policies }));
  const plan = planPod(body.request.object, sources.policies, { operation: 'CREATE', namespace: 'agents', namespaceLabels: undefined, dryRun: false, userInfo: body.request.userInfo });
  if (plan.mutated) time('compare', 3000, () => jsonPatch.compare(body.request.object, plan.mutated!));
  const out = reviewPodMutation(body.request, { policies: sources.policies });
  time('stringify answer', 3000, () => JSON.stringify(out.review));
}
