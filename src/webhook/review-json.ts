// Serialising the AdmissionReview answer, the cheap way for the two answers that dominate: most Pods are not
// sandbox Pods and get a bare "allowed" (a fixed template around the uid), and a sandbox Pod's answer is mostly
// its base64 patch (tens of KB: the seed script travels in it), which needs no JSON escaping, so it is appended
// as is instead of being scanned again by JSON.stringify.
import { admissionApiVersion, type AdmissionResponse, type AdmissionReviewResponse } from './review.ts';

const allowedPrefix = `{"apiVersion":${JSON.stringify(admissionApiVersion)},"kind":"AdmissionReview","response":{"uid":`;
const allowedSuffix = ',"allowed":true}}';

/** `{uid, allowed: true}` and nothing else (no patch, warnings, status or annotations). */
function isBareAllowance(response: AdmissionResponse): boolean {
  if (response.allowed !== true) return false;
  let fields = 0;
  for (const key in response) if ((response as unknown as Record<string, unknown>)[key] !== undefined) fields++;
  return fields === 2;
}

/** `response.patch`, when set, is base64 (as admission.k8s.io/v1 requires): only `A-Z a-z 0-9 + / =`. */
export function reviewJson(review: AdmissionReviewResponse): string {
  const response = review.response;
  if (isBareAllowance(response)) return allowedPrefix + JSON.stringify(response.uid) + allowedSuffix;
  const { patch, ...rest } = response;
  if (patch === undefined) return JSON.stringify(review);
  const text = JSON.stringify({ ...review, response: rest }); // ends with the two closing braces of response and review
  return `${text.slice(0, -2)},"patch":"${patch}"}}`;
}
