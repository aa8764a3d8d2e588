// POST /mutate: one AdmissionReview in, one out, always HTTP 200, logged with who asked for what.
import type { Request, Response } from 'express';
import type { Logger } from 'pino';
import { reviewAdmission, type AdmissionOutcome, type AdmissionSources } from '../admission/admission-review.ts';

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

export function admissionHandler(
  webhook: 'mutate' | 'validate',
  sources: () => AdmissionSources,
  logger: Logger,
  observe: AdmissionObserver = () => undefined,
) {
  return async (request: Request, response: Response): Promise<void> => {
    const started = process.hrtime.bigint();
    const outcome = await reviewAdmission(request.body, sources());
    const durationSeconds = Number(process.hrtime.bigint() - started) / 1e9;
    response.status(200).json(outcome.review);
    observe(webhook, outcome, durationSeconds);
    if (outcome.result === 'skipped') return; // the fast path stays quiet
    const answer = outcome.review.response;
    const fields = {
      uid: answer.uid,
      operation: outcome.request?.operation,
      kind: outcome.request?.kind?.kind,
      namespace: outcome.request?.namespace,
      name: podName(outcome),
      user: outcome.request?.userInfo?.username,
      dryRun: outcome.request?.dryRun === true,
      policy: outcome.plan?.policyName,
      result: outcome.result,
      claims: outcome.plan?.claims.map((claim) => claim.name),
      warnings: answer.warnings,
      durationMs: Math.round(durationSeconds * 1e6) / 1e3,
    };
    if (outcome.result === 'error') logger.error({ ...fields, status: answer.status }, 'admission request failed');
    else if (outcome.result === 'denied') logger.info({ ...fields, reason: answer.status?.message }, 'pod denied');
    else if (outcome.result === 'audited') logger.warn(fields, 'pod admitted in audit mode although the policy would deny it');
    else logger.info(fields, outcome.result === 'mutated' ? 'pod mutated' : 'pod admitted unchanged');
  };
}
