// Audit mode, seen from the cluster: each would-be denial becomes a Warning Event on the policy
// (`kubectl describe ssp NAME`), never on a dry run (the webhooks declare sideEffects NoneOnDryRun).
import type * as k8s from '@kubernetes/client-node';
import type { Logger } from 'pino';
import type { AdmissionOutcome } from '../webhook/review.ts';
import { eventRecorder } from './events.ts';
import { policyGroup, policyVersion } from '../policy/schema.ts';

export const auditEventReason = 'PolicyViolation';

export function auditEventObserver(config: k8s.KubeConfig, logger: Logger, instance: string) {
  const events = eventRecorder(config, logger, instance);
  return (_webhook: 'mutate' | 'validate', outcome: AdmissionOutcome): void => {
    if (outcome.result !== 'audited' || outcome.request?.dryRun === true) return;
    const policy = outcome.plan?.policyName ?? outcome.validation?.policyName;
    if (!policy) return;
    const request = outcome.request;
    const object = (request?.object as { metadata?: { name?: string; generateName?: string } } | undefined)?.metadata;
    const pod = `${request?.namespace ?? ''}/${request?.name || object?.name || `${object?.generateName ?? ''}*`}`;
    const denial = outcome.review.response.warnings?.find((warning) => warning.includes('would deny')) ?? 'would be denied';
    events.warning(
      { kind: 'SandboxStoragePolicy', apiVersion: `${policyGroup}/${policyVersion}`, namespace: 'default', name: policy },
      auditEventReason,
      `pod ${pod} (user ${request?.userInfo?.username ?? 'unknown'}): ${denial}`,
    );
  };
}
