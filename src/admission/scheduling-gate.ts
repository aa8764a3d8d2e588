// Whether a Pod is held by the storage gate (src/labels.ts): the webhook adds it, the controller removes it.
import { storageSchedulingGate } from '../labels.ts';
import { isObject, podSpec } from '../plain-json.ts';

/** Any Pod, typed or as a request sent it: entries that are not objects, or names that are not strings, never count. */
export function hasStorageGate(pod: unknown): boolean {
  const gates = podSpec(pod).schedulingGates;
  return Array.isArray(gates) && gates.some((gate) => isObject(gate) && gate.name === storageSchedulingGate);
}
