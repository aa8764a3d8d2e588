// AdmissionReview (admission.k8s.io/v1) in, AdmissionReview out. Shared by the HTTPS server and the review CLI,
// so both give the same answer. Every outcome, bad input included, is a well-formed AdmissionReview.
import jsonPatch from 'fast-json-patch';
import type { Policy } from '../policy/types.ts';
import type { ClaimMetadata } from '../admission/isolation/governed-volumes.ts';
import type { PodValidation } from '../admission/isolation/validate-pod.ts';
import type { NamespaceLabelLookup } from '../admission/namespace-labels.ts';
import { planPod } from '../admission/plan-pod.ts';
import { malformedPodStatus, podShapeErrorsIfSelectable } from '../admission/pod-shape.ts';
import { needsNamespaceLabels } from '../policy/select-policy.ts';
import type { ClaimLookup, PodPlan, RequesterInfo } from '../admission/plan-types.ts';

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
}

export function answer(uid: string, response: Omit<AdmissionResponse, 'uid'>): AdmissionReviewResponse {
  return { apiVersion: admissionApiVersion, kind: 'AdmissionReview', response: { uid, ...response } };
}

/** An AdmissionReview that refuses the request with an embedded status (bad input, internal errors). */
export function errorReview(uid: string, code: number, message: string): AdmissionReviewResponse {
  const reason = code >= 500 ? 'InternalError' : 'BadRequest';
  return answer(uid, { allowed: false, status: { code, reason, message } });
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
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

export function reviewPodMutation(request: AdmissionRequest, context: AdmissionContext): AdmissionOutcome {
  const uid = request.uid;
  if (!isPodRequest(request) || request.operation !== 'CREATE') {
    return { request, result: 'skipped', review: answer(uid, { allowed: true }) };
  }
  if (!isObject(request.object)) {
    return { request, result: 'error', review: errorReview(uid, 400, 'AdmissionReview request has no Pod object') };
  }
  const shapeErrors = podShapeErrorsIfSelectable(request.object, context.policies);
  if (shapeErrors.length > 0) return { request, result: 'denied', review: answer(uid, { allowed: false, status: malformedPodStatus(shapeErrors) }) };
  const plan = planPod(request.object, context.policies, {
    operation: request.operation,
    namespace: request.namespace ?? (request.object.metadata as { namespace?: string } | undefined)?.namespace ?? '',
    namespaceLabels: context.namespaceLabels,
    dryRun: request.dryRun === true,
    userInfo: request.userInfo ?? {},
    ...(context.claims ? { claims: context.claims } : {}),
    ...(context.ownershipKey ? { ownershipKey: context.ownershipKey } : {}),
  });
  if (!plan.selected) return { request, plan, result: 'skipped', review: answer(uid, { allowed: true }) };
  const policy = context.policies.find((candidate) => candidate.name === plan.policyName);

  const warnings = plan.warnings.length > 0 ? { warnings: plan.warnings } : {};
  const auditAnnotations = { policy: plan.policyName ?? '' };
  if (plan.denials.length > 0 && policy?.spec.enforcement === 'audit') {
    // Audit mode: admit the Pod as it came, and tell its author what enforcement would refuse.
    const wouldDeny = plan.denials.map((denial) => `sandbox-storage: audit mode, policy "${plan.policyName}" would deny: ${denial}`);
    return {
      request,
      plan,
      result: 'audited',
      review: answer(uid, { allowed: true, warnings: [...plan.warnings, ...wouldDeny], auditAnnotations }),
    };
  }
  if (plan.denials.length > 0) {
    return {
      request,
      plan,
      result: 'denied',
      review: answer(uid, {
        allowed: false,
        status: { code: 403, reason: 'Forbidden', message: `sandbox-storage: ${plan.denials.join('; ')}` },
        ...warnings,
        auditAnnotations,
      }),
    };
  }
  // Diff against the object exactly as received, so fields this code does not know survive untouched.
  const operations = plan.mutated ? jsonPatch.compare(request.object, plan.mutated) : [];
  if (operations.length === 0) {
    return { request, plan, result: 'unchanged', review: answer(uid, { allowed: true, ...warnings, auditAnnotations }) };
  }
  return {
    request,
    plan,
    result: 'mutated',
    review: answer(uid, {
      allowed: true,
      patchType: 'JSONPatch',
      patch: Buffer.from(JSON.stringify(operations)).toString('base64'),
      ...warnings,
      auditAnnotations,
    }),
  };
}

export interface AdmissionSources {
  policies: readonly Policy[];
  /** Only called when a policy that selects the Pod also has a namespaceSelector (any policy, for /validate). */
  namespaceLabels: NamespaceLabelLookup;
  /** Looks up the labels of these PVCs in a namespace (missing ones left out); absent without cluster access. */
  claimMetadata?(namespace: string, claimNames: string[]): Promise<ClaimMetadata>;
  /** Reads a Pod (undefined when it does not exist), for CONNECT requests; absent without cluster access. */
  pod?(namespace: string, name: string): Promise<unknown>;
  /** Observed PVCs, when the server watches them (sandbox-storage run); undefined otherwise. */
  claims?: ClaimLookup;
  /** The ownership key, once read from its Secret (serve, run); undefined before that or without cluster access. */
  ownershipKey?: Uint8Array;
  /** The controller's username, for PVC admission (see AdmissionContext). */
  controllerUsername?: string;
  /** Called when a PVC could not be proven, so that a replica without the key reads its Secret again soon. */
  onUnproven?(): void;
}

/** Envelope check + decision, catching bugs so that the caller always has an AdmissionReview to send. */
export async function reviewAdmission(body: unknown, sources: AdmissionSources): Promise<AdmissionOutcome> {
  const { request, error } = readAdmissionRequest(body);
  if (!request) return { result: 'error', review: error as AdmissionReviewResponse };
  try {
    const podLabels = (request.object as { metadata?: { labels?: Record<string, string> } } | undefined)?.metadata?.labels;
    const namespaceLabels =
      isPodRequest(request) && request.namespace && needsNamespaceLabels(sources.policies, podLabels)
        ? await sources.namespaceLabels(request.namespace)
        : undefined;
    const outcome = reviewPodMutation(request, {
      policies: sources.policies,
      namespaceLabels,
      ...(sources.claims ? { claims: sources.claims } : {}),
      ...(sources.ownershipKey ? { ownershipKey: sources.ownershipKey } : {}),
    });
    if (outcome.plan?.denialReasons?.includes('OwnershipUnproven')) sources.onUnproven?.();
    return outcome;
  } catch (thrown) {
    return { request, result: 'error', review: errorReview(request.uid, 500, `internal error: ${(thrown as Error).message}`) };
  }
}
