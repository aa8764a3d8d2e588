// CPU cost per admission call, in-process: /validate next to /mutate (the baseline), same Pods, same run.
// Run: npx node test/bench/admission-cost.ts [calls]
import { type AdmissionSources } from '../../src/webhook/review.ts';
import { reviewValidation } from '../../src/webhook/validate.ts';
import { staticNamespaceLabels } from '../../src/admission/namespace-labels.ts';
import { admissionReviewFor } from '../fixtures/pods.ts';
import { examplePolicy, podWith, requesters, sandboxLabels } from '../fixtures/isolation.ts';
import { mutatedPod } from '../../src/webhook/decide.ts';
import { reviewAdmission } from '../../src/webhook/mutate.ts';

const calls = Number(process.argv[2] ?? 20000);

/** A sandbox Pod of realistic size (≈5 KB as JSON): env, resources, probes, a sidecar, a few volumes. */
function realisticPod(): Record<string, unknown> {
  const pod = podWith({ labels: { ...sandboxLabels('Alice_Smith', 'thread-42'), app: 'agent', tier: 'sandbox' } });
  const env = Array.from({ length: 30 }, (_, index) => ({ name: `SETTING_${index}`, value: `value-${index}-`.repeat(3) }));
  (pod.spec as Record<string, unknown>).containers = [
    {
      name: 'sandbox',
      image: 'ghcr.io/example/agent-sandbox:1.4.0',
      command: ['sleep', 'infinity'],
      env,
      resources: { requests: { cpu: '250m', memory: '256Mi' }, limits: { memory: '1Gi' } },
      volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }, { name: 'config', mountPath: '/etc/agent', readOnly: true }],
    },
    { name: 'log-shipper', image: 'registry.example/shipper:2', volumeMounts: [{ name: 'tmp', mountPath: '/logs', readOnly: true }] },
  ];
  (pod.spec as Record<string, unknown>).volumes = [{ name: 'tmp', emptyDir: {} }, { name: 'config', configMap: { name: 'agent-config' } }];
  return pod;
}

function cpuMicros(run: () => unknown): Promise<number> {
  return (async () => {
    const before = process.cpuUsage();
    for (let index = 0; index < calls; index += 1) await run();
    const used = process.cpuUsage(before);
    return (used.user + used.system) / calls;
  })();
}

for (const policyName of ['workspace', 'shared'] as const) {
  const sources: AdmissionSources = { policies: [examplePolicy(policyName)], namespaceLabels: staticNamespaceLabels(undefined) };
  const body = admissionReviewFor(realisticPod(), { userInfo: requesters.spawner });
  const mutation = await reviewAdmission(body, sources);
  // What /validate really receives: the Pod after mutation.
  const mutatedBody = admissionReviewFor(mutatedPod(mutation), { userInfo: requesters.spawner });
  const plainBody = admissionReviewFor({ ...realisticPod(), metadata: { generateName: 'web-', labels: { app: 'web' } } }, { userInfo: requesters.spawner });
  const validation = await reviewValidation(mutatedBody, sources);
  if (validation.review.response.allowed !== true) throw new Error(`the bench pod is denied: ${validation.review.response.status?.message}`);
  // Warm-up so that both run JIT-compiled.
  await cpuMicros(() => reviewAdmission(body, sources));
  await cpuMicros(() => reviewValidation(mutatedBody, sources));
  const mutateCost = await cpuMicros(() => reviewAdmission(body, sources));
  const validateCost = await cpuMicros(() => reviewValidation(mutatedBody, sources));
  const validatePlainCost = await cpuMicros(() => reviewValidation(plainBody, sources));
  const mutatePlainCost = await cpuMicros(() => reviewAdmission(plainBody, sources));
  console.log(
    `${policyName.padEnd(9)} pod ${JSON.stringify(body).length} B: /mutate ${mutateCost.toFixed(1)} µs CPU per call, ` +
      `/validate (mutated sandbox pod) ${validateCost.toFixed(1)} µs, /validate (unlabelled pod) ${validatePlainCost.toFixed(1)} µs, ` +
      `/mutate (unlabelled pod, the fast path) ${mutatePlainCost.toFixed(2)} µs  [${calls} calls each]`,
  );
}
