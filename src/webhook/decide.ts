// The whole admission decision the API server reaches for one request: the mutating webhook, then the validating
// webhook on the mutated Pod, added up into one answer. What `sandbox-storage review` prints.
import jsonPatch from 'fast-json-patch';
import { reviewAdmission } from './mutate.ts';
import { errorReview, type AdmissionOutcome, type AdmissionReviewResponse, type AdmissionSources } from './review.ts';
import { reviewValidation } from './validate.ts';

/** The whole admission decision the API server reaches: mutating webhook, then validating webhook on its result. */
export function combineDecisions(
  mutation: AdmissionOutcome,
  validation: AdmissionOutcome | undefined,
): AdmissionReviewResponse {
  const mutating = mutation.review.response;
  if (!validation || !mutating.allowed) return mutation.review;
  const validating = validation.review.response;
  const warnings = [...(mutating.warnings ?? []), ...(validating.warnings ?? [])];
  const combined = { ...mutating, ...(warnings.length > 0 ? { warnings } : {}) };
  if (validating.allowed) return { ...mutation.review, response: combined };
  const { patch: _patch, patchType: _patchType, ...refused } = combined;
  return { ...mutation.review, response: { ...refused, allowed: false, ...(validating.status ? { status: validating.status } : {}) } };
}

export function mutatedPod(outcome: AdmissionOutcome): unknown {
  const answer = outcome.review.response;
  const original = structuredClone(outcome.request?.object);
  if (!answer.patch) return original;
  const operations = JSON.parse(Buffer.from(answer.patch, 'base64').toString('utf8'));
  return jsonPatch.applyPatch(original, operations, true, true).newDocument;
}

/** The request the validating webhook receives: the same one, carrying the Pod after mutation. */
export function validationBody(body: unknown, outcome: AdmissionOutcome): unknown {
  const request = (body as { request?: Record<string, unknown> }).request;
  if (!outcome.review.response.patch || typeof request !== 'object' || request === null) return body;
  return { ...(body as object), request: { ...request, object: mutatedPod(outcome) } };
}

export interface AdmissionDecision {
  mutation: AdmissionOutcome;
  /** Absent when the mutating webhook already refused. */
  validation?: AdmissionOutcome;
  /** The one answer both webhooks add up to. */
  decided: AdmissionReviewResponse;
}

/** Mutating webhook, then the validating webhook on the mutated Pod, exactly like the API server chains them. */
export async function decideAdmission(body: unknown, sources: AdmissionSources): Promise<AdmissionDecision> {
  const mutation = await reviewAdmission(body, sources);
  let validation: AdmissionOutcome | undefined;
  if (mutation.review.response.allowed) {
    try {
      validation = await reviewValidation(validationBody(body, mutation), sources);
    } catch (thrown) {
      const uid = mutation.review.response.uid;
      validation = { result: 'error', review: errorReview(uid, 500, `cannot apply the mutating webhook's patch: ${(thrown as Error).message}`) };
    }
  }
  return { mutation, ...(validation ? { validation } : {}), decided: combineDecisions(mutation, validation) };
}
