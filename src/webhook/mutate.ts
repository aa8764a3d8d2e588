// The mutating webhook (POST /mutate): a sandbox Pod CREATE gets its storage (planPod), as a JSON patch against
// the object exactly as received; anything else passes untouched (the fast path).
import { isObject } from '../plain-json.ts';
import { jsonPatchDiff } from './json-patch-diff.ts';
import { planPod } from '../admission/plan-pod.ts';
import { malformedPodStatus, podShapeErrorsIfSelectable } from '../admission/pod-shape.ts';
import { needsNamespaceLabels } from '../policy/select-policy.ts';
import {
  answer,
  errorReview,
  isPodRequest,
  reviewBody,
  type AdmissionContext,
  type AdmissionOutcome,
  type AdmissionRequest,
  type AdmissionSources,
} from './review.ts';

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
  if (context.withoutController && plan.seedScriptConfigMap && plan.denials.length === 0) {
    plan.warnings.push(
      `sandbox-storage: the seed script comes from ConfigMap ${plan.seedScriptConfigMap} (policy "${plan.policyName}", spec.seed.scriptDelivery: configMap), which only the controller creates, and this server runs without it (serve) and was told of none (--controller-username): unless a controller runs in the cluster, the Pod stays gated; set scriptDelivery to inline or imageVolume for webhook-only installs`,
    );
  }

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
  const operations = plan.mutated ? jsonPatchDiff(request.object, plan.mutated) : [];
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

/** The cluster look-ups the decision needs (namespace labels), then the decision; synchronous when none is needed. */
export function mutatePod(request: AdmissionRequest, sources: AdmissionSources): AdmissionOutcome | Promise<AdmissionOutcome> {
  const podLabels = (request.object as { metadata?: { labels?: Record<string, string> } } | undefined)?.metadata?.labels;
  const namespace = request.namespace;
  if (isPodRequest(request) && namespace && needsNamespaceLabels(sources.policies, podLabels)) {
    return sources.namespaceLabels(namespace).then((namespaceLabels) => decideMutation(request, sources, namespaceLabels));
  }
  return decideMutation(request, sources, undefined);
}

function decideMutation(request: AdmissionRequest, sources: AdmissionSources, namespaceLabels: Record<string, string> | undefined): AdmissionOutcome {
  const outcome = reviewPodMutation(request, {
    policies: sources.policies,
    namespaceLabels,
    ...(sources.claims ? { claims: sources.claims } : {}),
    ...(sources.ownershipKey ? { ownershipKey: sources.ownershipKey } : {}),
    ...(sources.withoutController ? { withoutController: true } : {}),
  });
  if (outcome.plan?.denialReasons?.includes('OwnershipUnproven')) sources.onUnproven?.();
  return outcome;
}

/** POST /mutate: any body in, an AdmissionReview out. */
export const reviewAdmission = reviewBody(mutatePod);
