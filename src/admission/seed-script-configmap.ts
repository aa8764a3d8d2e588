// The seed-script ConfigMap: what the controller creates in a namespace, and how anyone tells a ConfigMap of ours
// (marks, immutable, content matching the hash its name carries) from one planted under our name. Pure.
import type { V1ConfigMap } from '@kubernetes/client-node';
import { isObject } from '../plain-json.ts';
import { managedByValue, ownershipLabels, seedScriptLabel } from '../labels.ts';
import { scriptSha256, seedScriptSource } from './seed-script.ts';
import { seedScriptConfigMapName, seedScriptConfigMapPrefix, seedScriptKey, seedScriptNameHashLength } from './seed-script-delivery.ts';

/** The current script version's ConfigMap for `namespace`, as the controller creates it. */
export function seedScriptConfigMapBody(namespace: string): V1ConfigMap {
  const name = seedScriptConfigMapName();
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: {
      name,
      namespace,
      labels: { [ownershipLabels.managedBy]: managedByValue, [seedScriptLabel]: name.slice(seedScriptConfigMapPrefix.length) },
    },
    immutable: true,
    data: { [seedScriptKey]: seedScriptSource },
  };
}

/** A ConfigMap the seed-script rules are about: our name prefix or our label (an attacker may set either). */
export function isSeedScriptConfigMap(object: unknown): boolean {
  const metadata = isObject(object) && isObject(object.metadata) ? object.metadata : {};
  const name = typeof metadata.name === 'string' ? metadata.name : '';
  const labels = isObject(metadata.labels) ? metadata.labels : {};
  return name.startsWith(seedScriptConfigMapPrefix) || Object.hasOwn(labels, seedScriptLabel);
}

/**
 * Why a ConfigMap is not a seed-script ConfigMap of ours, or undefined when it is: the marks, `immutable: true`, one
 * data key whose script hashes to the version its name and label carry. Any version counts, not only the current.
 */
export function seedScriptConfigMapProblem(configMap: V1ConfigMap): string | undefined {
  const name = configMap.metadata?.name ?? '';
  const labels = configMap.metadata?.labels ?? {};
  const version = name.slice(seedScriptConfigMapPrefix.length);
  if (!name.startsWith(seedScriptConfigMapPrefix) || !new RegExp(`^[0-9a-f]{${seedScriptNameHashLength}}$`).test(version)) {
    return `its name is not ${seedScriptConfigMapPrefix}<${seedScriptNameHashLength} hex digits>`;
  }
  if (labels[ownershipLabels.managedBy] !== managedByValue || labels[seedScriptLabel] !== version) {
    return `it lacks the marks of sandbox-storage (labels ${ownershipLabels.managedBy}=${managedByValue}, ${seedScriptLabel}=${version})`;
  }
  if (configMap.immutable !== true) return 'it is not immutable';
  const keys = Object.keys(configMap.data ?? {});
  if (keys.length !== 1 || keys[0] !== seedScriptKey || Object.keys(configMap.binaryData ?? {}).length > 0) {
    return `its data is not exactly the key ${seedScriptKey}`;
  }
  if (scriptSha256(configMap.data?.[seedScriptKey] ?? '').slice(0, seedScriptNameHashLength) !== version) {
    return `its ${seedScriptKey} is not the script its name names (the SHA-256 differs)`;
  }
  return undefined;
}
