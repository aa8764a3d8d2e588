// Generic ephemeral volumes: for `volumes[i].ephemeral.volumeClaimTemplate`, kube-controller-manager creates PVC
// `<pod name>-<volume name>` with the template's labels, annotations and data source, on behalf of whoever could
// create the Pod. Pod create would thus be PVC create; this refuses the templates that would plant governed storage:
// a generated name in the governed name space, the ownership marks, or a data source that copies governed storage
// (a clone of a governed PVC, any VolumeSnapshot). The PVC admission (validate-claim.ts) refuses the same PVCs again
// when they are created. Pure.
import type { Policy } from '../../policy/types.ts';
import type { RequesterInfo } from '../plan-types.ts';
import { dataSourceProblems, exemptIn, generatedNameMayBeGoverned, governedClaimName, stringRecord } from './governed-claims.ts';
import { isObject, list } from '../../plain-json.ts';
import { managedByValue, ownershipLabels, ownershipProofAnnotation } from '../../labels.ts';

function ownershipMarksOf(metadata: Record<string, unknown>): string[] {
  const labels = stringRecord(metadata.labels);
  const annotations = stringRecord(metadata.annotations);
  const marks: string[] = [];
  if (labels[ownershipLabels.managedBy] === managedByValue) marks.push(`labels[${JSON.stringify(ownershipLabels.managedBy)}]`);
  for (const key of [ownershipLabels.identityHash, ownershipLabels.policy]) {
    if (Object.hasOwn(labels, key)) marks.push(`labels[${JSON.stringify(key)}]`);
  }
  if (Object.hasOwn(annotations, ownershipProofAnnotation)) marks.push(`annotations[${JSON.stringify(ownershipProofAnnotation)}]`);
  return marks;
}

/**
 * Denials (with `[rule ...]` tags) for the ephemeral volume templates of a Pod being created. `pod` is the Pod as
 * the request carries it: with metadata.name when known, else metadata.generateName. Exempt requesters may restore
 * snapshots and clone governed PVCs; nobody may plant governed names or ownership marks this way (the controller
 * never creates Pods).
 */
export function ephemeralClaimDenials(pod: unknown, governing: readonly Policy[], requester: RequesterInfo): string[] {
  if (governing.length === 0 || !isObject(pod)) return [];
  const metadata = isObject(pod.metadata) ? pod.metadata : {};
  const podName = typeof metadata.name === 'string' && metadata.name !== '' ? metadata.name : undefined;
  const generateName = typeof metadata.generateName === 'string' ? metadata.generateName : '';
  const spec = isObject(pod.spec) ? pod.spec : {};
  const denials: string[] = [];
  for (const [index, volume] of list(spec.volumes).entries()) {
    if (!isObject(volume) || !isObject(volume.ephemeral)) continue;
    const template = volume.ephemeral.volumeClaimTemplate;
    if (!isObject(template)) continue;
    const volumeName = typeof volume.name === 'string' ? volume.name : '';
    const field = `spec.volumes[${index}].ephemeral.volumeClaimTemplate`;
    const what = `volume ${JSON.stringify(volumeName)}`;

    if (podName !== undefined) {
      const claimName = `${podName}-${volumeName}`;
      const governed = governedClaimName(claimName, governing);
      if (governed) {
        denials.push(`${what} would have kube-controller-manager create PVC ${JSON.stringify(claimName)} (pod name + "-" + volume name), and ${governed.because}; such PVCs are created by the sandbox-storage controller only: rename the pod or the volume [rule EphemeralClaimInGovernedNames]`);
      }
    } else {
      const governed = generatedNameMayBeGoverned(`${generateName}`, governing);
      if (governed) {
        denials.push(`${what} would have kube-controller-manager create a PVC named after the generated pod name (metadata.generateName ${JSON.stringify(generateName)} + random suffix + "-${volumeName}"), and ${governed.because}; use a generateName no governed name can start with [rule EphemeralClaimInGovernedNames]`);
      }
    }

    const templateMetadata = isObject(template.metadata) ? template.metadata : {};
    const marks = ownershipMarksOf(templateMetadata);
    if (marks.length > 0) {
      denials.push(`${what} carries ${marks.map((mark) => `${field}.metadata.${mark}`).join(', ')}, the ownership marks of sandbox-storage, which only its controller writes [rule EphemeralClaimOwnershipMarks]`);
    }
    for (const problem of dataSourceProblems(template.spec, governing)) {
      if (exemptIn(problem.concerned, requester) !== undefined) continue;
      denials.push(`${what}: ${field}.spec.${problem.description}; only a requester in spec.isolation.exemptions of every policy concerned may [rule EphemeralClaimCopiesGovernedStorage]`);
    }
  }
  return denials;
}
