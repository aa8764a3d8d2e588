// V8 optimises a function only after it has run many times, so a fresh replica would admit its first few thousand
// Pods with unoptimised code: slower, in the API server's request path. Before it listens, the server runs its own
// admission path (parse, review, answer, log line) on synthetic sandbox Pods of the embedded default policy; nothing
// is written, counted or sent, and nothing the cluster holds is read.
import pino from 'pino';
import { staticNamespaceLabels } from '../admission/namespace-labels.ts';
import { embeddedDefaultPolicies } from '../policy/embedded-default.ts';
import type { Policy } from '../policy/types.ts';
import { admissionHandler } from './admission-handler.ts';
import { validationBody } from './decide.ts';
import { reviewAdmission } from './mutate.ts';
import { reviewValidation } from './validate.ts';
import { podCreateReview, type AdmissionOutcome, type AdmissionSources } from './review.ts';

/** A sandbox Pod the policy selects, as the API server sends it; `index` varies its identity and name. */
function syntheticReview(policy: Policy, index: number): string {
  const selector = policy.spec.podSelector.matchLabels ?? {};
  const labels = { ...selector, [policy.spec.identity.userLabel]: `warm-up-user-${index % 7}`, [policy.spec.identity.threadLabel]: `thread-${index}` };
  const container = {
    name: 'sandbox',
    image: 'registry.invalid/warm-up/sandbox:1',
    env: [{ name: 'WARM_UP', value: String(index) }],
    resources: { requests: { cpu: '100m', memory: '128Mi' } },
    terminationMessagePath: '/dev/termination-log',
    terminationMessagePolicy: 'File',
    imagePullPolicy: 'IfNotPresent',
  };
  const pod = {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `warm-up-${index}`, namespace: 'warm-up', labels, annotations: { 'warm-up.invalid/index': String(index) } },
    spec: { containers: [container], restartPolicy: 'Never', securityContext: { runAsUser: 1000, runAsGroup: 1000 } },
  };
  return JSON.stringify(
    podCreateReview(pod, {
      uid: `00000000-0000-4000-8000-${String(index).padStart(12, '0')}`,
      namespace: 'warm-up',
      userInfo: { username: 'system:serviceaccount:warm-up:spawner', groups: ['system:authenticated'] },
    }),
  );
}

/**
 * Runs `rounds` synthetic mutations, and validations of the same Pods, through the handlers the server uses. Returns
 * how many answers of each kind it produced (e.g. `mutate/mutated`), so that a test can tell the sandbox path ran.
 */
export async function warmUpAdmissions(rounds: number): Promise<Map<string, number>> {
  const results = new Map<string, number>();
  if (rounds <= 0) return results;
  const policies = embeddedDefaultPolicies();
  const policy = policies[0] as Policy;
  // Formats every line as the server's logger does, and drops it.
  const logger = pino({ level: 'info' }, { write: () => undefined });
  const sources: AdmissionSources = { policies, namespaceLabels: staticNamespaceLabels(undefined) };
  const count = (webhook: string, outcome: AdmissionOutcome) => {
    const key = `${webhook}/${outcome.result}`;
    results.set(key, (results.get(key) ?? 0) + 1);
  };
  const mutate = admissionHandler('mutate', reviewAdmission, () => sources, logger, count);
  const validate = admissionHandler('validate', reviewValidation, () => sources, logger, count);
  const drop = () => undefined;
  const pairs: { mutation: string; validation: string }[] = [];
  for (let index = 0; index < 16; index += 1) {
    const mutation = syntheticReview(policy, index);
    // The validating webhook sees the Pod as the mutating one left it.
    const body: unknown = JSON.parse(mutation);
    pairs.push({ mutation, validation: JSON.stringify(validationBody(body, await reviewAdmission(body, sources))) });
  }
  for (let round = 0; round < rounds; round += 1) {
    const { mutation, validation } = pairs[round % pairs.length] as { mutation: string; validation: string };
    await mutate(JSON.parse(mutation), drop);
    await validate(JSON.parse(validation), drop);
  }
  return results;
}
