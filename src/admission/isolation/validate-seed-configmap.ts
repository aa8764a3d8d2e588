// The validating decision for a ConfigMap CREATE, UPDATE or DELETE in a governed namespace: the seed script runs as
// root over the tenants' storage, so nobody but the controller creates, changes or deletes a ConfigMap under the
// seed-script name prefix or with the seed-script label (a planted look-alike, a tenant's ConfigMap labelled as ours,
// a delete that breaks Pods). The Pod's hash check stays the last line. Pure.
import type { RequesterInfo } from '../plan-types.ts';
import type { Policy } from '../../policy/types.ts';
import { isSeedScriptConfigMap } from '../seed-script-configmap.ts';
import { seedScriptConfigMapPrefix } from '../seed-script-delivery.ts';
import { controllerName, isController } from './governed-claims.ts';
import { isObject } from '../../plain-json.ts';
import { seedScriptLabel } from '../../labels.ts';

export interface SeedConfigMapValidationInput {
  operation: string;
  object: unknown;
  oldObject?: unknown;
  userInfo: RequesterInfo;
  /** The controller's username; undefined when unknown (then nobody is the controller). */
  controllerUsername?: string;
  /** The namespace is being deleted: its namespace controller removes everything in it, our ConfigMaps too. */
  namespaceTerminating?: boolean;
}

export interface SeedConfigMapValidation {
  governed: boolean;
  denials: string[];
  denialReasons?: string[];
}

const verbs: Record<string, string> = { CREATE: 'create', UPDATE: 'change', DELETE: 'delete' };

export function validateSeedConfigMap(input: SeedConfigMapValidationInput, governing: readonly Policy[]): SeedConfigMapValidation {
  const concerned = [input.object, input.oldObject].some(isSeedScriptConfigMap);
  if (governing.length === 0 || !concerned) return { governed: false, denials: [] };
  if (isController(input.userInfo, input.controllerUsername)) return { governed: true, denials: [] };
  if (input.operation === 'DELETE' && input.namespaceTerminating) return { governed: true, denials: [] };
  const subject = input.operation === 'DELETE' ? input.oldObject : input.object;
  const metadata = isObject(subject) && isObject(subject.metadata) ? subject.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const verb = verbs[input.operation] ?? input.operation.toLowerCase();
  return {
    governed: true,
    denials: [
      `ConfigMap ${JSON.stringify(name)} is refused: metadata.name starting with ${seedScriptConfigMapPrefix} or the label metadata.labels[${JSON.stringify(seedScriptLabel)}] marks the seed script that runs as root over the sandboxes' storage; only ${controllerName(input.controllerUsername)} may ${verb} it [rule SeedScriptConfigMap]`,
    ],
    denialReasons: ['SeedScriptConfigMap'],
  };
}
