// What the admission webhooks did: latency by webhook, operation and decision; decisions by policy and reason;
// policies loaded; when the serving certificate expires.
import { Gauge, type Registry } from 'prom-client';
import { hotCounter, hotHistogram } from './hot-series.ts';
import type { AdmissionOutcome } from '../webhook/review.ts';
import type { PolicyLoadState } from '../policy/sources/policy-set.ts';

export type WebhookName = 'mutate' | 'validate';

export interface AdmissionMetrics {
  observe(webhook: WebhookName, outcome: AdmissionOutcome, durationSeconds: number): void;
  setPolicies(states: readonly PolicyLoadState[]): void;
  setCertificateExpiry(notAfter: Date): void;
}

export function admissionMetrics(registry: Registry): AdmissionMetrics {
  // Recorded on every admission: hot series (hot-series.ts), not prom-client's per-call label hashing.
  const durationOf = hotHistogram(registry, {
    name: 'sandbox_storage_admission_duration_seconds',
    help: 'Time to answer an admission request, by webhook, operation and decision.',
    labelNames: ['webhook', 'operation', 'decision'],
    // Sub-millisecond resolution: the whole budget of a Pod create is a few milliseconds.
    buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
  });
  const decisionsOf = hotCounter(registry, {
    name: 'sandbox_storage_admission_decisions_total',
    help: 'Admission decisions on sandbox Pods, by webhook, policy, decision and reason.',
    labelNames: ['webhook', 'policy', 'decision', 'reason'],
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
