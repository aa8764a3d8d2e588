// What the admission webhooks did: latency by webhook, operation and decision; decisions by policy and reason;
// policies loaded; when the serving certificate expires.
import { Counter, Gauge, Histogram, type Registry } from 'prom-client';
import type { AdmissionOutcome } from '../webhook/review.ts';
import type { PolicyLoadState } from '../policy/sources/policy-set.ts';

export type WebhookName = 'mutate' | 'validate';

export interface AdmissionMetrics {
  observe(webhook: WebhookName, outcome: AdmissionOutcome, durationSeconds: number): void;
  setPolicies(states: readonly PolicyLoadState[]): void;
  setCertificateExpiry(notAfter: Date): void;
}

/**
 * prom-client hashes the label set on every observe()/inc(); this looks each labelled child up once per
 * combination of label values instead (a handful: webhooks × operations × decisions × policies).
 */
function labelledChildren<Values extends string[], Child>(create: (...values: Values) => Child): (...values: Values) => Child {
  const children = new Map<string, Child>();
  return (...values) => {
    const key = values.join('\u0000');
    let child = children.get(key);
    if (child === undefined) {
      child = create(...values);
      children.set(key, child);
    }
    return child;
  };
}

export function admissionMetrics(registry: Registry): AdmissionMetrics {
  const duration = new Histogram({
    name: 'sandbox_storage_admission_duration_seconds',
    help: 'Time to answer an admission request, by webhook, operation and decision.',
    labelNames: ['webhook', 'operation', 'decision'],
    // Sub-millisecond resolution: the whole budget of a Pod create is a few milliseconds.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
    registers: [registry],
  });
  const decisions = new Counter({
    name: 'sandbox_storage_admission_decisions_total',
    help: 'Admission decisions on sandbox Pods, by webhook, policy, decision and reason.',
    labelNames: ['webhook', 'policy', 'decision', 'reason'],
    registers: [registry],
  });
  const policies = new Gauge({
    name: 'sandbox_storage_policies',
    help: 'Policies known to this process, by state (ready: serving the latest version; invalid: latest version rejected).',
    labelNames: ['state'],
    registers: [registry],
  });
  const certificateExpiry = new Gauge({
    name: 'sandbox_storage_certificate_expiry_timestamp_seconds',
    help: 'When the serving certificate expires (Unix time).',
    registers: [registry],
  });

  const durationOf = labelledChildren((webhook: string, operation: string, decision: string) =>
    duration.labels({ webhook, operation, decision }),
  );
  const decisionsOf = labelledChildren((webhook: string, policy: string, decision: string, reason: string) =>
    decisions.labels({ webhook, policy, decision, reason }),
  );

  return {
    observe(webhook, outcome, durationSeconds) {
      const operation = outcome.request?.operation ?? 'unknown';
      durationOf(webhook, operation, outcome.result).observe(durationSeconds);
      if (outcome.result === 'skipped') return;
      const reason =
        outcome.result === 'denied' || outcome.result === 'audited'
          ? (outcome.plan?.denialReasons?.[0] ?? outcome.validation?.denialReasons?.[0] ?? 'Unspecified')
          : outcome.result === 'error'
            ? `Code${outcome.review.response.status?.code ?? 500}`
            : 'None';
      const policy = outcome.plan?.policyName ?? outcome.validation?.policyName ?? '';
      decisionsOf(webhook, policy, outcome.result, reason).inc();
    },
    setPolicies(states) {
      policies.set({ state: 'ready' }, states.filter((state) => state.ready).length);
      policies.set({ state: 'invalid' }, states.filter((state) => !state.ready).length);
    },
    setCertificateExpiry(notAfter) {
      certificateExpiry.set(notAfter.getTime() / 1000);
    },
  };
}
