// The AdmissionReview envelope (admission.k8s.io/v1): its types, decoding a request, encoding an answer (with the
// fast path for the answers that dominate), errorReview, and reviewBody, which turns a typed handler (request in,
// outcome out: mutate.ts, validate.ts) into one that takes any body. Shared by the HTTPS server and the review CLI,
// so both give the same answer. Every outcome, bad input included, is a well-formed AdmissionReview.
import type { ClaimMetadata } from '../admission/isolation/governed-volumes.ts';
import type { PodValidation } from '../admission/isolation/validate-pod.ts';
import type { NamespaceLabelLookup } from '../admission/namespace-labels.ts';
import type { ClaimLookup, PodPlan, RequesterInfo } from '../admission/plan-types.ts';
import type { Policy } from '../policy/types.ts';
import { isObject } from '../plain-json.ts';

export const admissionApiVersion = 'admission.k8s.io/v1';

export interface AdmissionStatus {
  code: number;
  message: string;
  reason?: string;
}

export interface AdmissionResponse {
  uid: string;
  allowed: boolean;
  status?: AdmissionStatus;
  patchType?: 'JSONPatch';
  patch?: string;
  warnings?: string[];
  auditAnnotations?: Record<string, string>;
}

export interface AdmissionReviewResponse {
  apiVersion: typeof admissionApiVersion;
  kind: 'AdmissionReview';
  response: AdmissionResponse;
}

export interface AdmissionRequest {
  uid: string;
  kind?: { group?: string; version?: string; kind?: string };
  resource?: { group?: string; version?: string; resource?: string };
  subResource?: string;
  name?: string;
  namespace?: string;
  operation?: string;
  userInfo?: RequesterInfo;
  object?: unknown;
  oldObject?: unknown;
  dryRun?: boolean;
}

/** What one admission decided, for logs and metrics as well as the answer. */
export interface AdmissionOutcome {
  review: AdmissionReviewResponse;
  request?: AdmissionRequest;
  plan?: PodPlan;
  /** The validating webhook's decision (POST /validate). */
  validation?: PodValidation;
  /** 'skipped' = not ours to judge (fast path); 'audited' = admitted although it breaks an audit-mode policy. */
  result: 'skipped' | 'mutated' | 'unchanged' | 'denied' | 'audited' | 'error';
}

export interface AdmissionContext {
  policies: readonly Policy[];
  /** Namespace labels for policies with a namespaceSelector; undefined when not known. */
  namespaceLabels?: Record<string, string>;
  /** Labels of the PVCs the Pod references, for the validating webhook's ownership checks; empty when not known. */
  claimMetadata?: ClaimMetadata;
  /** Observed PVCs (an informer cache); undefined when the server has none, and then every sandbox Pod is gated. */
  claims?: ClaimLookup;
  /** The ownership key (see ownership-proof.ts); undefined when not (yet) read: nothing can then be proven. */
  ownershipKey?: Uint8Array;
  /**
   * Who may write ownership marks and create PVCs in the governed name space: the controller's username
   * (system:serviceaccount:NS:SA). Undefined when unknown: then nobody may, except a policy's exemptions for its
   * shared claim.
   */
  controllerUsername?: string;
  /**
   * True when no controller runs in this process (`serve`): a Pod that mounts the seed-script ConfigMap is then
   * admitted with a warning that only a controller elsewhere creates it and lifts the gate.
   */
  withoutController?: boolean;
  /** The request's namespace is being deleted (seed-script ConfigMap deletes only; false when unknown). */
  namespaceTerminating?: boolean;
}

export function answer(uid: string, response: Omit<AdmissionResponse, 'uid'>): AdmissionReviewResponse {
  return { apiVersion: admissionApiVersion, kind: 'AdmissionReview', response: { uid, ...response } };
}

/** The AdmissionReview the API server sends for creating the Pod `pod` (`request` overrides or adds fields). */
export function podCreateReview(pod: unknown, request: Partial<AdmissionRequest> & Record<string, unknown>): { apiVersion: typeof admissionApiVersion; kind: 'AdmissionReview'; request: AdmissionRequest } {
  return {
    apiVersion: admissionApiVersion,
    kind: 'AdmissionReview',
    request: {
      uid: '',
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      operation: 'CREATE',
      object: pod,
      dryRun: false,
      ...request,
    },
  };
}

/** An AdmissionReview that refuses the request with an embedded status (bad input, internal errors). */
export function errorReview(uid: string, code: number, message: string): AdmissionReviewResponse {
  const reason = code >= 500 ? 'InternalError' : 'BadRequest';
  return answer(uid, { allowed: false, status: { code, reason, message } });
}

/** Checks the envelope; returns the request or the error answer to send. */
export function readAdmissionRequest(body: unknown): { request?: AdmissionRequest; error?: AdmissionReviewResponse } {
  if (!isObject(body)) return { error: errorReview('', 400, 'request body must be a JSON AdmissionReview object') };
  const request = body.request;
  const uid = isObject(request) && typeof request.uid === 'string' ? request.uid : '';
  if (body.kind !== 'AdmissionReview' || body.apiVersion !== admissionApiVersion) {
    return {
      error: errorReview(uid, 400, `expected kind AdmissionReview, apiVersion ${admissionApiVersion}; got kind ${String(body.kind)}, apiVersion ${String(body.apiVersion)}`),
    };
  }
  if (!isObject(request)) return { error: errorReview('', 400, 'AdmissionReview has no request') };
  if (uid === '') return { error: errorReview('', 400, 'AdmissionReview request has no uid') };
  return { request: request as unknown as AdmissionRequest };
}

export function isPodRequest(request: AdmissionRequest): boolean {
  const kind = request.kind;
  return (kind?.group ?? '') === '' && kind?.kind === 'Pod' && (request.subResource ?? '') === '';
}

export interface AdmissionSources {
  policies: readonly Policy[];
  /** Only called when a policy that selects the Pod also has a namespaceSelector (any policy, for /validate). */
  namespaceLabels: NamespaceLabelLookup;
  /** Looks up the labels of these PVCs in a namespace (missing ones left out); absent without cluster access. */
  claimMetadata?(namespace: string, claimNames: string[]): Promise<ClaimMetadata>;
  /** Reads a Pod (undefined when it does not exist), for CONNECT requests; absent without cluster access. */
  pod?(namespace: string, name: string): Promise<unknown>;
  /** Whether a namespace is being deleted, for seed-script ConfigMap deletes; absent without cluster access. */
  namespaceTerminating?(namespace: string): Promise<boolean>;
  /** Observed PVCs, when the server watches them (sandbox-storage run); undefined otherwise. */
  claims?: ClaimLookup;
  /** The ownership key, once read from its Secret (serve, run); undefined before that or without cluster access. */
  ownershipKey?: Uint8Array;
  /** The controller's username, for PVC admission (see AdmissionContext). */
  controllerUsername?: string;
  /** True in `serve`: no controller runs in this process (see AdmissionContext). */
  withoutController?: boolean;
  /** Called when a PVC could not be proven, so that a replica without the key reads its Secret again soon. */
  onUnproven?(): void;
}

/**
 * A typed handler: one decoded request and what it may look up, in; its outcome, out. Synchronous when it needs no
 * look-up, so that the caller can tell how long the decision itself took.
 */
export type AdmissionDecider = (request: AdmissionRequest, sources: AdmissionSources) => AdmissionOutcome | Promise<AdmissionOutcome>;

/** What reviewBody makes of a decider: any body in, an outcome out (synchronously when the decider answered so). */
export type AdmissionReviewer = (body: unknown, sources: AdmissionSources) => AdmissionOutcome | Promise<AdmissionOutcome>;

/**
 * Envelope check, then the decision, catching bugs so that the caller always has an AdmissionReview to send:
 * a body that is no AdmissionReview gets a 400 answer, a throw in the decision a 500 one.
 */
export function reviewBody(decide: AdmissionDecider): AdmissionReviewer {
  return (body, sources) => {
    const { request, error } = readAdmissionRequest(body);
    if (!request) return { result: 'error', review: error as AdmissionReviewResponse };
    const internalError = (thrown: unknown): AdmissionOutcome => ({
      request,
      result: 'error',
      review: errorReview(request.uid, 500, `internal error: ${(thrown as Error).message}`),
    });
    try {
      const outcome = decide(request, sources);
      return outcome instanceof Promise ? outcome.catch(internalError) : outcome;
    } catch (thrown) {
      return internalError(thrown);
    }
  };
}

// Encoding, the cheap way for the two answers that dominate: most Pods are not sandbox Pods and get a bare
// "allowed" (a fixed template around the uid), and a sandbox Pod's answer is mostly its base64 patch (tens of KB:
// the seed script travels in it), which needs no JSON escaping, so it is appended as is instead of being scanned
// again by JSON.stringify.
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
