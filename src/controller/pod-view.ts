// What the controller keeps of a sandbox Pod in its watch cache. A sandbox Pod as admitted carries the seed script
// in an init container, env, probes and managedFields (≈ 20 KB as a JS object); with 10,000 Pods cached that was
// most of the controller's memory. The view keeps exactly what planning the Pod's claims (`plannedClaims`), the
// reconciler (gate removal, Events, deletion) and the indexes read; everything else is dropped on arrival.
import type * as k8s from '@kubernetes/client-node';
import { seedContainerName } from '../admission/seed-container.ts';
import { SharedStrings } from '../kube/shared-strings.ts';
import { seedTerminationMessage } from './seed-report.ts';

/** Annotations that can be large and that nothing in the controller reads. */
const droppedAnnotations = ['kubectl.kubernetes.io/last-applied-configuration'];

/** The view function the controller's Pod watch uses: views whose recurring texts are shared. */
export function sharingPodView(strings = new SharedStrings()): (pod: k8s.V1Pod) => k8s.V1Pod {
  return (pod) => controllerPodView(pod, strings);
}

export function controllerPodView(pod: k8s.V1Pod, strings?: SharedStrings): k8s.V1Pod {
  const metadata = pod.metadata ?? {};
  const spec = pod.spec;
  const share = <T>(value: T): T => (strings ? strings.share(value) : value);
  // name, uid, resourceVersion and timestamps are the Pod's own: not worth a lookup.
  const view: k8s.V1Pod = {
    metadata: {
      ...pick(metadata, ['name', 'uid', 'resourceVersion', 'creationTimestamp', 'deletionTimestamp']),
      ...share(pick(metadata, ['namespace', 'labels'])),
    },
  };
  if (metadata.annotations) {
    const annotations = { ...metadata.annotations };
    for (const key of droppedAnnotations) delete annotations[key];
    view.metadata!.annotations = share(annotations);
  }
  if (spec) {
    // Planning reads the sandbox container's name, image, mounts and security context, the Pod's volumes and
    // security context; the reconciler reads the scheduling gates.
    view.spec = share({
      containers: (spec.containers ?? []).map((container) =>
        pick(container, ['name', 'image', 'imagePullPolicy', 'volumeMounts', 'securityContext']),
      ) as k8s.V1Container[],
      ...pick(spec, ['volumes', 'securityContext', 'schedulingGates']),
    });
  }
  if (pod.status?.phase !== undefined) view.status = { phase: pod.status.phase };
  // The seed container's report, only when it has one (a few hundred bytes, on few Pods).
  const message = seedTerminationMessage(pod);
  if (message !== undefined) {
    view.status = { ...view.status, initContainerStatuses: [{ name: seedContainerName, state: { terminated: { exitCode: 0, message } } } as k8s.V1ContainerStatus] };
  }
  return view;
}

function pick<T extends object, K extends keyof T>(source: T, keys: readonly K[]): Pick<T, K> {
  const picked = {} as Pick<T, K>;
  for (const key of keys) if (source[key] !== undefined) picked[key] = source[key];
  return picked;
}
