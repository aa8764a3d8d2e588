// The scheduling gate that holds a sandbox Pod until its storage exists. Gates can only be added when a Pod is
// created and only removed afterwards, so the webhook adds it and the controller removes it.
export const storageSchedulingGate = 'sandbox-storage.io/storage';

export function hasStorageGate(pod: { spec?: { schedulingGates?: Array<{ name: string }> } }): boolean {
  return (pod.spec?.schedulingGates ?? []).some((gate) => gate.name === storageSchedulingGate);
}
