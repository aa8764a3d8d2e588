// Every label, annotation, scheduling gate and component name this project writes on cluster objects, in one place
// at the bottom of the layers: the webhook, the controller and the audit all read and write the same names.

/** Labels written on workspace PVCs: who owns it, and which policy manages it. */
export const ownershipLabels = {
  managedBy: 'app.kubernetes.io/managed-by',
  policy: 'sandbox-storage.io/policy',
  /** Hash of the exact identity a workspace PVC was created for; see workspaceIdentityHash. */
  identityHash: 'sandbox-storage.io/identity-hash',
} as const;
/** The `app.kubernetes.io/managed-by` value of everything this project creates. */
export const managedByValue = 'sandbox-storage-webhook';

/** The opt-in, user and thread labels of a policy that names none of its own. */
export const defaultLabels = {
  inject: 'sandbox-storage.io/inject',
  user: 'sandbox-storage.io/user',
  thread: 'sandbox-storage.io/thread',
} as const;

/** Annotation that carries the ownership proof on a PVC the controller created. */
export const ownershipProofAnnotation = 'sandbox-storage.io/ownership-proof';

/** Annotation on a managed workspace PVC: when its last Pod went away (RFC 3339); removed while Pods use it. */
export const lastUsedAnnotation = 'sandbox-storage.io/unused-since';

// The scheduling gate that holds a sandbox Pod until its storage exists. Gates can only be added when a Pod is
// created and only removed afterwards, so the webhook adds it and the controller removes it.
export const storageSchedulingGate = 'sandbox-storage.io/storage';

/** Label on preparation Pods: the hash of what they prepare (see preparationKey). */
export const preparationLabel = 'sandbox-storage.io/preparation';
export const preparationPurposeLabel = 'sandbox-storage.io/purpose';
export const preparationPurpose = 'prepare-directories';
/** Annotation on a preparation Pod: the work-queue key to reconcile when the Pod changes. */
export const preparationWorkKeyAnnotation = 'sandbox-storage.io/work-key';

/** Label on the seed-script ConfigMaps the controller keeps: the script's hash as in the name (16 hex digits). */
export const seedScriptLabel = 'sandbox-storage.io/seed-script';

/** Annotation on the certificate Secret: when its CA was last replaced. */
export const caRotatedAtAnnotation = 'sandbox-storage.io/ca-rotated-at';

/** The component named on the Events the controller records. */
export const controllerComponent = 'sandbox-storage-controller';

/** Label on the Jobs, Pods and record ConfigMap of `migrate`: the plan they work for. */
export const migrationPlanLabel = 'sandbox-storage.io/migration-plan';

/**
 * Annotation on a SandboxStoragePolicy, `<prefix><plan id>`: the identities a `migrate run` is copying into it. Their
 * new sandbox Pods stay behind the storage gate until it is gone (src/policy/migration-hold.ts).
 */
export const migrationHoldAnnotationPrefix = 'sandbox-storage.io/migration-hold-';
