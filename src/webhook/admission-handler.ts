// POST /mutate and /validate: one AdmissionReview in, one out (as JSON text), logged with who asked for what.
// Requests that arrive in the same event-loop turn are answered together, stage by stage: all their decisions, then
// all their answers, then all their metrics and log lines. Between two requests the socket work (TLS, the kernel's
// loopback and network stack) pushes the webhook's code and data out of the CPU caches, so a stage run once per
// request runs cold every time; run for the whole batch it stays warm after the first (bench: sandbox /mutate CPU).
// A request waits at most until the end of the turn it arrived in.
import type { Logger } from 'pino';
import { reviewJson, type AdmissionOutcome, type AdmissionReviewer, type AdmissionSources } from './review.ts';

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

/**
 * Answers one parsed request body: `send` gets the AdmissionReview to send, serialised, before metrics and the log
 * line are written; settles once they are. Rejects only on a bug (then `send` may not have been called).
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

interface Pending {
  body: unknown;
  send: (reviewText: string) => void;
  resolve: () => void;
  reject: (error: unknown) => void;
}

interface Decided {
  pending: Pending;
  outcome: AdmissionOutcome;
  durationSeconds: number;
}

function secondsSince(started: bigint): number {
  return Number(process.hrtime.bigint() - started) / 1e9;
}

export function admissionHandler(
  webhook: 'mutate' | 'validate',
  review: AdmissionReviewer,
  sources: () => AdmissionSources,
  logger: Logger,
  observe: AdmissionObserver = () => undefined,
): AdmissionHandler {
  const endpointLogger = logger.child({ webhook });
  let queue: Pending[] = [];

  /** Answers, then observes and logs, each decided request; a bug in one fails that one only. */
  const answer = (decided: Decided[]): void => {
    const sent: Decided[] = [];
    for (const item of decided) {
      try {
        item.pending.send(reviewJson(item.outcome.review));
        sent.push(item);
      } catch (error) {
        item.pending.reject(error);
      }
    }
    for (const item of sent) {
      try {
        observe(webhook, item.outcome, item.durationSeconds);
        if (item.outcome.result !== 'skipped') logOutcome(endpointLogger, item.outcome, item.durationSeconds); // the fast path stays quiet
        item.pending.resolve();
      } catch (error) {
        item.pending.reject(error);
      }
    }
  };

  /** Decides every queued request; one that waits on a look-up is answered on its own when that returns. */
  const drain = (): void => {
    const batch = queue;
    queue = [];
    const decided: Decided[] = [];
    for (const pending of batch) {
      const started = process.hrtime.bigint();
      try {
        const outcome = review(pending.body, sources());
        if (outcome instanceof Promise) {
          outcome.then((settled) => answer([{ pending, outcome: settled, durationSeconds: secondsSince(started) }]), pending.reject);
        } else {
          decided.push({ pending, outcome, durationSeconds: secondsSince(started) });
        }
      } catch (error) {
        pending.reject(error);
      }
    }
    answer(decided);
  };

  return (body, send) =>
    new Promise<void>((resolve, reject) => {
      queue.push({ body, send, resolve, reject });
      if (queue.length === 1) setImmediate(drain);
    });
}
