// The structure of the Pod fields this product reads, checked before anything reads them: a malformed Pod (a list
// that is an object, a null container, a label value that is a number) gets a denial naming every bad field, never
// an internal error. The API server decodes Pods before admission, so this matters for requests sent straight to
// the webhook and for `sandbox-storage review`; it also lets the rest of the code trust the types it reads.
// Pure: no I/O. A field that is null counts as absent (as when the API server decodes it); a null list entry is an
// error.
import { selectorMatches } from '../policy/selector.ts';
import type { Policy } from '../policy/types.ts';
import { isObject } from '../plain-json.ts';

/** Where a container value sits, built as the walk descends and turned into text only for an error. */
interface Place {
  parent?: Place;
  key: string | number;
}

/**
 * One walk over a Pod. The first walk has `paths` off: it only finds out whether anything is wrong and allocates
 * nothing per field (a Pod has hundreds, and this runs on every sandbox admission); only then a second walk builds
 * the places that name each bad field.
 */
interface Walk {
  paths: boolean;
  errors: string[];
}

/** Checks `value`, found at `key` of the container at `parent` (undefined while `paths` is off). */
type Check = (value: unknown, parent: Place | undefined, key: string | number, walk: Walk) => void;

function report(walk: Walk, parent: Place | undefined, key: string | number, problem: string): void {
  walk.errors.push(walk.paths ? `${fieldPath(parent, key)}${problem}` : problem);
}

function fieldPath(parent: Place | undefined, key: string | number): string {
  let text = '';
  for (let step: Place | undefined = { parent, key }; step?.parent !== undefined; step = step.parent) {
    text = typeof step.key === 'number' ? `[${step.key}]${text}` : step.parent.parent === undefined ? `${step.key}${text}` : `.${step.key}${text}`;
  }
  return text === '' ? '<root>' : text;
}

const string: Check = (value, parent, key, walk) => {
  if (typeof value !== 'string') report(walk, parent, key, ': must be a string');
};
const boolean: Check = (value, parent, key, walk) => {
  if (typeof value !== 'boolean') report(walk, parent, key, ': must be a boolean');
};
const integer: Check = (value, parent, key, walk) => {
  if (!Number.isInteger(value)) report(walk, parent, key, ': must be an integer');
};

/**
 * An object whose listed fields, when present and not null, pass their checks; other fields are not read. The
 * walk goes over the fields the value has (few) and looks each up in the table, not the other way round.
 */
function object(fields: Record<string, Check> = {}, required: readonly string[] = [], others?: Check): Check {
  const table: Record<string, Check | undefined> = Object.assign(Object.create(null), fields);
  return (value, parent, key, walk) => {
    if (!isObject(value)) {
      report(walk, parent, key, ': must be an object');
      return;
    }
    const place: Place | undefined = walk.paths ? { parent, key } : undefined;
    for (const name of required) {
      if (!Object.hasOwn(value, name) || value[name] === null) report(walk, place, name, ': Required value');
    }
    for (const name in value) {
      const check = table[name] ?? others;
      const field = value[name];
      if (check !== undefined && field !== null && field !== undefined && Object.hasOwn(value, name)) check(field, place, name, walk);
    }
  };
}

function list(item: Check): Check {
  return (value, parent, key, walk) => {
    if (!Array.isArray(value)) {
      report(walk, parent, key, ': must be a list');
      return;
    }
    const place: Place | undefined = walk.paths ? { parent, key } : undefined;
    for (let index = 0; index < value.length; index += 1) item(value[index], place, index, walk);
  };
}

/** Labels and annotations: string keys to string values. */
const stringMap: Check = (value, parent, key, walk) => {
  if (!isObject(value)) {
    report(walk, parent, key, ': must be an object');
    return;
  }
  for (const name in value) {
    if (typeof value[name] !== 'string' && Object.hasOwn(value, name)) report(walk, parent, key, `[${name}]: must be a string`);
  }
};

const objectReference = object({ apiGroup: string, kind: string, name: string, namespace: string });

const volumeSources: Record<string, Check> = {
  persistentVolumeClaim: object({ claimName: string, readOnly: boolean }),
  ephemeral: object({
    volumeClaimTemplate: object({
      metadata: object({ labels: stringMap, annotations: stringMap }),
      spec: object({ accessModes: list(string), dataSource: objectReference, dataSourceRef: objectReference, storageClassName: string, volumeName: string }),
    }),
  }),
  image: object({ reference: string, pullPolicy: string }),
};

/** A volume: a name and sources, each of which is an object (every Kubernetes volume source is). */
const volume = object({ name: string, ...volumeSources }, [], object());

const container = object({
  name: string,
  image: string,
  imagePullPolicy: string,
  workingDir: string,
  targetContainerName: string,
  command: list(string),
  args: list(string),
  env: list(object({ name: string, value: string, valueFrom: object() })),
  envFrom: list(object()),
  resources: object(),
  volumeMounts: list(
    object({ name: string, mountPath: string, subPath: string, subPathExpr: string, readOnly: boolean, mountPropagation: string, recursiveReadOnly: string }),
  ),
  volumeDevices: list(object({ name: string, devicePath: string })),
  securityContext: object({
    runAsUser: integer,
    runAsGroup: integer,
    runAsNonRoot: boolean,
    privileged: boolean,
    allowPrivilegeEscalation: boolean,
    readOnlyRootFilesystem: boolean,
    capabilities: object({ add: list(string), drop: list(string) }),
  }),
});

const pod = object(
  {
    metadata: object({ name: string, generateName: string, namespace: string, labels: stringMap, annotations: stringMap }),
    spec: object(
      {
        volumes: list(volume),
        containers: list(container),
        initContainers: list(container),
        ephemeralContainers: list(container),
        securityContext: object({
          runAsUser: integer,
          runAsGroup: integer,
          fsGroup: integer,
          runAsNonRoot: boolean,
          supplementalGroups: list(integer),
          fsGroupChangePolicy: string,
        }),
        schedulingGates: list(object({ name: string })),
        shareProcessNamespace: boolean,
        hostPID: boolean,
        hostIPC: boolean,
        hostNetwork: boolean,
        serviceAccountName: string,
      },
      ['containers'],
    ),
  },
  ['spec'],
);

/** Every structural problem of the fields this product reads, each with its field path; empty when none. */
export function podShapeErrors(value: unknown): string[] {
  const probe: Walk = { paths: false, errors: [] };
  pod(value, undefined, '', probe);
  if (probe.errors.length === 0) return probe.errors;
  const walk: Walk = { paths: true, errors: [] };
  pod(value, undefined, '', walk);
  return walk.errors;
}

/** At most this many problems are listed in a denial (all are counted): the answer stays small for a huge Pod. */
const listedProblems = 20;

/** The denial for a malformed Pod, in the shape of the API server's own validation errors (422 Invalid). */
export function malformedPodStatus(errors: readonly string[]): { code: number; reason: string; message: string } {
  const listed = errors.slice(0, listedProblems).join('; ');
  const more = errors.length > listedProblems ? `; and ${errors.length - listedProblems} more` : '';
  return { code: 422, reason: 'Invalid', message: `sandbox-storage: the Pod is malformed: ${listed}${more}` };
}

/**
 * The mutating webhook's check: problems of a Pod that some policy's podSelector could select. Pods no policy selects
 * (the fast path) are not walked; labels that are not a map of strings cannot be judged, so they are reported.
 */
export function podShapeErrorsIfSelectable(value: unknown, policies: readonly Policy[]): string[] {
  const metadata = isObject(value) ? value.metadata : undefined;
  const labels = isObject(metadata) ? metadata.labels : undefined;
  const readable =
    (metadata === undefined || isObject(metadata)) &&
    (labels === undefined || labels === null || (isObject(labels) && Object.values(labels).every((entry) => typeof entry === 'string')));
  if (readable && !policies.some((policy) => selectorMatches(policy.spec.podSelector, (labels ?? undefined) as Record<string, string> | undefined))) {
    return [];
  }
  return podShapeErrors(value);
}
