// The validating webhook (POST /validate): every Pod CREATE, Pod UPDATE and `pods/ephemeralcontainers` UPDATE in a
// governed namespace, judged by the isolation rules. Same envelope and error handling as the mutating webhook.
import { isObject } from '../plain-json.ts';
import {
  answer,
  errorReview,
  reviewBody,
  type AdmissionContext,
  type AdmissionOutcome,
  type AdmissionRequest,
  type AdmissionSources,
} from './review.ts';
import type { PodValidation } from '../admission/isolation/validate-pod.ts';
import { referencedClaimNames } from '../admission/isolation/governed-volumes.ts';
import { validateClaim } from '../admission/isolation/validate-claim.ts';
import { validateSeedConfigMap } from '../admission/isolation/validate-seed-configmap.ts';
import { isSeedScriptConfigMap } from '../admission/seed-script-configmap.ts';
import { connectSubResources, governingPolicies, validatePod } from '../admission/isolation/validate-pod.ts';
import { malformedPodStatus, podShapeErrors } from '../admission/pod-shape.ts';
import { usesNamespaceSelector } from '../policy/select-policy.ts';

const judgedSubResources = ['', 'ephemeralcontainers'];

/** exec, attach and portforward on a Pod: the request names the Pod and carries only the connect options. */
function isConnectRequest(request: AdmissionRequest): boolean {
  const resource = isObject(request.resource) ? request.resource : {};
  return request.operation === 'CONNECT' && (resource.group ?? '') === '' && resource.resource === 'pods' &&
    typeof request.subResource === 'string' && connectSubResources.includes(request.subResource);
}

/** Pod requests this webhook judges; anything else (other kinds, status updates, deletes) passes. */
function isJudgedPodRequest(request: AdmissionRequest): boolean {
  const kind = isObject(request.kind) ? request.kind : {};
  const subResource = typeof request.subResource === 'string' ? request.subResource : '';
  return (kind.group ?? '') === '' && kind.kind === 'Pod' && judgedSubResources.includes(subResource) &&
    (request.operation === 'CREATE' || request.operation === 'UPDATE');
}

/** PVC CREATE and UPDATE: who may plant governed storage or write the ownership marks (validate-claim.ts). */
function isJudgedClaimRequest(request: AdmissionRequest): boolean {
  const kind = isObject(request.kind) ? request.kind : {};
  const subResource = typeof request.subResource === 'string' ? request.subResource : '';
  return (kind.group ?? '') === '' && kind.kind === 'PersistentVolumeClaim' && subResource === '' &&
    (request.operation === 'CREATE' || request.operation === 'UPDATE');
}

/** ConfigMap CREATE, UPDATE and DELETE: only the controller touches the seed-script ConfigMaps (validate-seed-configmap.ts). */
function isJudgedConfigMapRequest(request: AdmissionRequest): boolean {
  const kind = isObject(request.kind) ? request.kind : {};
  const subResource = typeof request.subResource === 'string' ? request.subResource : '';
  return (kind.group ?? '') === '' && kind.kind === 'ConfigMap' && subResource === '' &&
    (request.operation === 'CREATE' || request.operation === 'UPDATE' || request.operation === 'DELETE');
}

export function reviewConfigMapValidation(request: AdmissionRequest, context: AdmissionContext): AdmissionOutcome {
  const uid = request.uid;
  const needs = { CREATE: ['object'], UPDATE: ['object', 'oldObject'], DELETE: ['oldObject'] }[request.operation as 'CREATE'] ?? [];
  const missing = needs.filter((field) => !isObject(request[field as 'object' | 'oldObject']));
  if (missing.length > 0) {
    return { request, result: 'error', review: errorReview(uid, 400, `a ConfigMap ${request.operation} AdmissionReview needs the ConfigMap in ${missing.join(' and ')}`) };
  }
  const validation = validateSeedConfigMap(
    {
      operation: request.operation as string,
      object: request.object,
      oldObject: request.oldObject,
      userInfo: isObject(request.userInfo) ? request.userInfo : {},
      ...(context.controllerUsername !== undefined ? { controllerUsername: context.controllerUsername } : {}),
      namespaceTerminating: context.namespaceTerminating === true,
    },
    governingPolicies(context.policies, context.namespaceLabels),
  );
  return decided(request, validation);
}

export function reviewClaimValidation(request: AdmissionRequest, context: AdmissionContext): AdmissionOutcome {
  const uid = request.uid;
  if (!isObject(request.object)) {
    return { request, result: 'error', review: errorReview(uid, 400, 'AdmissionReview request has no PersistentVolumeClaim object') };
  }
  if (request.operation === 'UPDATE' && !isObject(request.oldObject)) {
    return { request, result: 'error', review: errorReview(uid, 400, 'an UPDATE AdmissionReview needs the PersistentVolumeClaim as it was (oldObject)') };
  }
  const validation = validateClaim(
    {
      operation: request.operation as string,
      object: request.object,
      oldObject: request.oldObject,
      userInfo: isObject(request.userInfo) ? request.userInfo : {},
      ...(context.controllerUsername !== undefined ? { controllerUsername: context.controllerUsername } : {}),
    },
    governingPolicies(context.policies, context.namespaceLabels),
  );
  return decided(request, validation);
}

/** The Pod a CONNECT request goes to, as read from the cluster: undefined when it was not (or could not be) read. */
export interface ConnectContext {
  connectedPod?: unknown;
}

function reviewConnect(request: AdmissionRequest, context: AdmissionContext & ConnectContext): AdmissionOutcome {
  const uid = request.uid;
  if (governingPolicies(context.policies, context.namespaceLabels).length === 0) {
    return { request, result: 'skipped', review: answer(uid, { allowed: true }) };
  }
  if (!isObject(context.connectedPod)) {
    // No Pod to judge (no cluster access, or it does not exist): RBAC alone decides, as without this webhook.
    const warning = `sandbox-storage: ${request.subResource} not checked: the webhook could not read the pod`;
    return { request, result: 'skipped', review: answer(uid, { allowed: true, warnings: [warning] }) };
  }
  return decided(request, validatePod(
    {
      operation: 'CONNECT',
      subResource: request.subResource as string,
      object: context.connectedPod,
      connectOptions: request.object,
      namespaceLabels: context.namespaceLabels,
      userInfo: isObject(request.userInfo) ? request.userInfo : {},
      ...podRequestFacts(request, context),
    },
    context.policies,
  ));
}

/** What the storage rules need about the request's namespace: its PVCs and the key that checks their proofs. */
function podRequestFacts(request: AdmissionRequest, context: AdmissionContext) {
  return {
    namespace: typeof request.namespace === 'string' ? request.namespace : '',
    claimMetadata: context.claimMetadata ?? {},
    ...(context.ownershipKey ? { ownershipKey: context.ownershipKey } : {}),
    ...(context.controllerUsername !== undefined ? { controllerUsername: context.controllerUsername } : {}),
  };
}

function decided(request: AdmissionRequest, validation: PodValidation): AdmissionOutcome {
  const uid = request.uid;
  if (!validation.governed) return { request, validation, result: 'skipped', review: answer(uid, { allowed: true }) };
  const auditAnnotations = validation.policyName ? { auditAnnotations: { policy: validation.policyName } } : {};
  if (validation.denials.length === 0) {
    return { request, validation, result: 'unchanged', review: answer(uid, { allowed: true, ...auditAnnotations }) };
  }
  if (validation.auditOnly) {
    const warnings = validation.denials.map((denial) => `sandbox-storage: audit mode, would deny: ${denial}`);
    return { request, validation, result: 'audited', review: answer(uid, { allowed: true, warnings, ...auditAnnotations }) };
  }
  return {
    request,
    validation,
    result: 'denied',
    review: answer(uid, {
      allowed: false,
      status: { code: 403, reason: 'Forbidden', message: `sandbox-storage: ${validation.denials.join('; ')}` },
      ...auditAnnotations,
    }),
  };
}

export function reviewPodValidation(request: AdmissionRequest, context: AdmissionContext & ConnectContext): AdmissionOutcome {
  const uid = request.uid;
  if (isConnectRequest(request)) return reviewConnect(request, context);
  if (!isJudgedPodRequest(request)) return { request, result: 'skipped', review: answer(uid, { allowed: true }) };
  if (!isObject(request.object)) {
    return { request, result: 'error', review: errorReview(uid, 400, 'AdmissionReview request has no Pod object') };
  }
  if (request.operation === 'UPDATE' && !isObject(request.oldObject)) {
    return { request, result: 'error', review: errorReview(uid, 400, 'an UPDATE AdmissionReview needs the Pod as it was (oldObject)') };
  }
  // A malformed Pod where a policy governs: a denial naming the fields, before the isolation rules read them.
  if (governingPolicies(context.policies, context.namespaceLabels).length > 0) {
    const shapeErrors = podShapeErrors(request.object);
    if (shapeErrors.length > 0) return { request, result: 'denied', review: answer(uid, { allowed: false, status: malformedPodStatus(shapeErrors) }) };
  }
  const userInfo = isObject(request.userInfo) ? request.userInfo : {};
  const validation = validatePod(
    {
      operation: request.operation as string,
      subResource: typeof request.subResource === 'string' ? request.subResource : '',
      object: request.object,
      oldObject: request.oldObject,
      namespaceLabels: context.namespaceLabels,
      userInfo,
      ...podRequestFacts(request, context),
    },
    context.policies,
  );
  return decided(request, validation);
}

/** The cluster look-ups the decision needs (namespace labels, the connected Pod, PVC metadata), then the decision. */
export async function validateRequest(request: AdmissionRequest, sources: AdmissionSources): Promise<AdmissionOutcome> {
  const connect = isConnectRequest(request);
  const claim = isJudgedClaimRequest(request);
  // Other ConfigMaps (kube-root-ca.crt in every namespace...) pass without a namespace look-up.
  const configMap = isJudgedConfigMapRequest(request) && [request.object, request.oldObject].some(isSeedScriptConfigMap);
  if (!connect && !claim && !configMap && !isJudgedPodRequest(request)) return reviewPodValidation(request, { policies: sources.policies });
  const namespace = typeof request.namespace === 'string' ? request.namespace : '';
  const namespaceLabels =
    namespace !== '' && usesNamespaceSelector(sources.policies) ? await sources.namespaceLabels(namespace) : undefined;
  if (claim || configMap) {
    const terminating = configMap && request.operation === 'DELETE' && namespace !== '' && sources.namespaceTerminating
      ? await sources.namespaceTerminating(namespace)
      : false;
    return (claim ? reviewClaimValidation : reviewConfigMapValidation)(request, {
      policies: sources.policies,
      namespaceLabels,
      ...(terminating ? { namespaceTerminating: true } : {}),
      ...(sources.controllerUsername !== undefined ? { controllerUsername: sources.controllerUsername } : {}),
    });
  }
  const governed = governingPolicies(sources.policies, namespaceLabels).length > 0;
  const name = typeof request.name === 'string' ? request.name : '';
  const connectedPod =
    connect && governed && sources.pod && namespace !== '' && name !== '' ? await sources.pod(namespace, name) : undefined;
  const pod = connect ? connectedPod : request.object;
  const claims = governed ? referencedClaimNames((pod as { spec?: { volumes?: unknown } } | undefined)?.spec?.volumes) : [];
  const claimMetadata =
    sources.claimMetadata && namespace !== '' && claims.length > 0 ? await sources.claimMetadata(namespace, claims) : {};
  const ownershipKey = sources.ownershipKey;
  const outcome = reviewPodValidation(request, {
    policies: sources.policies,
    namespaceLabels,
    claimMetadata,
    connectedPod,
    ...(ownershipKey ? { ownershipKey } : {}),
    ...(sources.controllerUsername !== undefined ? { controllerUsername: sources.controllerUsername } : {}),
  });
  // Without the key every existing workspace PVC is unproven: a replica that has not read it yet tries again soon.
  if (!ownershipKey && outcome.validation?.denialReasons?.includes('UnprovenClaim')) sources.onUnproven?.();
  return outcome;
}

/** POST /validate: any body in, an AdmissionReview out. */
export const reviewValidation = reviewBody(validateRequest);

