// Whether a Pod is held by the storage gate (src/labels.ts): the webhook adds it, the controller removes it.
import { storageSchedulingGate } from '../labels.ts';

export function hasStorageGate(pod: { spec?: { schedulingGates?: Array<{ name: string }> } }): boolean {
  return (pod.spec?.schedulingGates ?? []).some((gate) => gate.name === storageSchedulingGate);
}
