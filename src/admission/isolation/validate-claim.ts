// The validating decision for one PVC CREATE or UPDATE in a governed namespace: nobody but the controller plants a
// PVC a sandbox would take as its own storage. Refused on CREATE: a name in the governed name space, the product's
// ownership labels or proof annotation, a data source that copies governed storage; on UPDATE: any change (add,
// change, removal) of those labels or of the proof. The admins of a policy's shared claim (its exemptions) may
// create that claim. Pure.
import type { Policy } from '../../policy/types.ts';
import type { RequesterInfo } from '../plan-types.ts';
import { claimNameOwners, controllerName, dataSourceProblems, exemptIn, governedClaimName, isController, stringRecord } from './governed-claims.ts';
import { isObject } from '../../plain-json.ts';
import { managedByValue, ownershipLabels, ownershipProofAnnotation } from '../../labels.ts';

export interface ClaimValidationInput {
  operation: string;
  object: unknown;
  oldObject?: unknown;
  userInfo: RequesterInfo;
  /** The controller's username; undefined when unknown (then nobody is the controller). */
  controllerUsername?: string;
}

export interface ClaimValidation {
  governed: boolean;
  denials: string[];
  auditOnly?: boolean;
  denialReasons?: string[];
}

const markedLabels = [ownershipLabels.managedBy, ownershipLabels.identityHash, ownershipLabels.policy];

function metadataOf(object: unknown): { name: string; labels: Record<string, string>; annotations: Record<string, string> } {
  const metadata = isObject(object) && isObject(object.metadata) ? object.metadata : {};
  return {
    name: typeof metadata.name === 'string' ? metadata.name : '',
    labels: stringRecord(metadata.labels),
    annotations: stringRecord(metadata.annotations),
  };
}

/** The ownership marks on a PVC's metadata, as "field=value" for messages. */
function marksOf(labels: Record<string, string>, annotations: Record<string, string>): string[] {
  const marks: string[] = [];
  for (const key of markedLabels) {
    if (!Object.hasOwn(labels, key)) continue;
    // Another tool's managed-by value is none of our business.
    if (key === ownershipLabels.managedBy && labels[key] !== managedByValue) continue;
    marks.push(`metadata.labels[${JSON.stringify(key)}]`);
  }
  if (Object.hasOwn(annotations, ownershipProofAnnotation)) marks.push(`metadata.annotations[${JSON.stringify(ownershipProofAnnotation)}]`);
  return marks;
}

export function validateClaim(input: ClaimValidationInput, governing: readonly Policy[]): ClaimValidation {
  if (governing.length === 0) return { governed: false, denials: [] };
  const result: ClaimValidation = { governed: true, denials: [] };
  if (isController(input.userInfo, input.controllerUsername)) return finish(result, governing);
  const who = controllerName(input.controllerUsername);
  const { name, labels, annotations } = metadataOf(input.object);
  const pvc = `PVC ${JSON.stringify(name)}`;

  if (input.operation === 'CREATE') {
    const governed = governedClaimName(name, governing);
    if (governed) {
      const adminMay = governed.kind === 'shared' && exemptIn(claimNameOwners(name, governing), input.userInfo) !== undefined;
      if (!adminMay) {
        const mayCreate =
          governed.kind === 'shared'
            ? `only ${who} (with spec.provisioning.shared.createIfMissing) or a requester in spec.isolation.exemptions of policy "${governed.policy.name}" may create it`
            : `only ${who} creates workspace PVCs`;
        result.denials.push(`${pvc} is refused: metadata.name is in the governed PVC name space: ${governed.because}; ${mayCreate} [rule ClaimInGovernedNames]`);
      }
    }
    const marks = marksOf(labels, annotations);
    if (marks.length > 0) {
      result.denials.push(`${pvc} is refused: it carries ${marks.join(', ')}, the ownership marks of sandbox-storage; only ${who} writes them [rule ClaimOwnershipMarks]`);
    }
    const spec = isObject(input.object) ? input.object.spec : undefined;
    for (const problem of dataSourceProblems(spec, governing)) {
      if (exemptIn(problem.concerned, input.userInfo) !== undefined) continue;
      const mayCopy = problem.governed
        ? `only ${who} or a requester in spec.isolation.exemptions of policy "${problem.governed.policy.name}" may`
        : `only a requester in spec.isolation.exemptions of a policy governing this namespace may`;
      result.denials.push(`${pvc} is refused: spec.${problem.description}; ${mayCopy} [rule ClaimCopiesGovernedStorage]`);
    }
    return finish(result, governing);
  }

  if (input.operation === 'UPDATE') {
    const before = metadataOf(input.oldObject);
    const changed: string[] = [];
    for (const key of markedLabels) {
      const differs =
        key === ownershipLabels.managedBy ? (before.labels[key] === managedByValue) !== (labels[key] === managedByValue) : before.labels[key] !== labels[key];
      if (differs) changed.push(`metadata.labels[${JSON.stringify(key)}]`);
    }
    if (before.annotations[ownershipProofAnnotation] !== annotations[ownershipProofAnnotation]) {
      changed.push(`metadata.annotations[${JSON.stringify(ownershipProofAnnotation)}]`);
    }
    if (changed.length > 0) {
      result.denials.push(`${pvc} update is refused: it adds, changes or removes ${changed.join(', ')}, the ownership marks of sandbox-storage; only ${who} writes them [rule ClaimOwnershipMarks]`);
    }
  }
  return finish(result, governing);
}

function finish(result: ClaimValidation, governing: readonly Policy[]): ClaimValidation {
  if (result.denials.length > 0) result.denialReasons = result.denials.map((denial) => /\[rule (\w+)/.exec(denial)?.[1] ?? 'Unspecified');
  if (governing.every((policy) => policy.spec.enforcement === 'audit')) result.auditOnly = true;
  return result;
}
