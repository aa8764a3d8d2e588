// POST /mutate and /validate: one AdmissionReview in, one out (as JSON text), logged with who asked for what.
import type { Logger } from 'pino';
import { reviewJson, type AdmissionOutcome, type AdmissionSources } from './review.ts';

/** Called after each answer, e.g. to record metrics. `webhook` is the endpoint's name (`mutate`). */
export interface AdmissionObserver {
  (webhook: 'mutate' | 'validate', outcome: AdmissionOutcome, durationSeconds: number): void;
}

function podName(outcome: AdmissionOutcome): string | undefined {
  const request = outcome.request;
  if (!request) return undefined;
  if (request.name) return request.name;
  const metadata = (request.object as { metadata?: { name?: string; generateName?: string } } | undefined)?.metadata;
  return metadata?.name ?? (metadata?.generateName ? `${metadata.generateName}*` : undefined);
}

export type AdmissionReviewer = (body: unknown, sources: AdmissionSources) => Promise<AdmissionOutcome>;

/**
 * Answers one parsed request body: `send` gets the AdmissionReview to send, serialised, before metrics and the log
 * line are written. Rejects (without having sent) only on a bug.
 */
export type AdmissionHandler = (body: unknown, send: (reviewText: string) => void) => Promise<void>;

/** The info lines written once per admission (one per sandbox Pod): the bulk of a webhook's log. */
export const admissionLogMessages: ReadonlySet<string> = new Set(['pod mutated', 'pod admitted unchanged', 'pod denied']);

/** `logger` is the endpoint's own child, which carries `webhook` serialised once, not once per line. */
function logOutcome(logger: Logger, outcome: AdmissionOutcome, durationSeconds: number): void {
  const answer = outcome.review.response;
  const request = outcome.request;
  // One flat object, one call, no spread per line (this runs for every sandbox Pod).
  const fields = {
    uid: answer.uid,
    operation: request?.operation,
    kind: request?.kind?.kind,
    namespace: request?.namespace,
    name: podName(outcome),
    user: request?.userInfo?.username,
    dryRun: request?.dryRun === true,
    subResource: request?.subResource || undefined,
    policy: outcome.plan?.policyName ?? outcome.validation?.policyName,
    result: outcome.result,
    claims: outcome.plan?.claims.map((claim) => claim.name),
    warnings: answer.warnings,
    durationMs: Math.round(durationSeconds * 1e6) / 1e3,
    status: outcome.result === 'error' ? answer.status : undefined,
    reason: outcome.result === 'denied' ? answer.status?.message : undefined,
  };
  if (outcome.result === 'error') logger.error(fields, 'admission request failed');
  else if (outcome.result === 'denied') logger.info(fields, 'pod denied');
  else if (outcome.result === 'audited') logger.warn(fields, 'pod admitted in audit mode although the policy would deny it');
  else logger.info(fields, outcome.result === 'mutated' ? 'pod mutated' : 'pod admitted unchanged');
}

export function admissionHandler(
  webhook: 'mutate' | 'validate',
  review: AdmissionReviewer,
  sources: () => AdmissionSources,
  logger: Logger,
  observe: AdmissionObserver = () => undefined,
): AdmissionHandler {
  const endpointLogger = logger.child({ webhook });
  return async (body, send) => {
    const started = process.hrtime.bigint();
    const outcome = await review(body, sources());
    const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    send(reviewJson(outcome.review));
    observe(webhook, outcome, durationSeconds);
    if (outcome.result !== 'skipped') logOutcome(endpointLogger, outcome, durationSeconds); // the fast path stays quiet
  };
}
