// The one source of the SandboxStoragePolicy API: the CRD's structural OpenAPI schema (descriptions, defaults,
// enums, patterns, CEL rules) is generated from this object, and so are the TypeScript types
// (`npm run generate`). Offline validation (review, serve --policy) walks the same object, evaluating each CEL rule
// through the `check` function written beside it; an integration test proves the pairs agree with the API server.

import {
  dnsLabelPattern,
  dnsSubdomainPattern,
  isPositiveQuantity,
  isQuantity,
  labelValuePattern,
  quantityPattern,
} from '../naming/kubernetes-names.ts';

export interface ValidationRule {
  /** CEL, evaluated by the API server. */
  rule: string;
  message: string;
  /** Where the API server reports the error, relative to the node (e.g. `.shared.claimName`). */
  fieldPath?: string;
  reason?: 'FieldValueInvalid' | 'FieldValueRequired' | 'FieldValueForbidden';
  /** The same rule in TypeScript, for offline validation; `oldSelf` is set only for updates (transition rules). */
  check(self: any, oldSelf?: any): boolean;
}

export interface SchemaNode {
  type: 'object' | 'string' | 'boolean' | 'integer' | 'array';
  description?: string;
  default?: unknown;
  enum?: readonly string[];
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  maxProperties?: number;
  minimum?: number;
  maximum?: number;
  properties?: Record<string, SchemaNode>;
  required?: readonly string[];
  /** Maps (e.g. matchLabels): every value follows this schema. */
  additionalProperties?: SchemaNode;
  items?: SchemaNode;
  'x-kubernetes-validations'?: ValidationRule[];
  'x-kubernetes-list-type'?: 'atomic' | 'set' | 'map';
  'x-kubernetes-list-map-keys'?: string[];
  /** Name of the generated TypeScript type for this object (named types only; others are inlined). */
  typeName?: string;
}

const labelKeyPattern =
  '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?([A-Za-z0-9][-A-Za-z0-9_.]{0,61})?[A-Za-z0-9]$';
/** Absolute, normalised path: no empty, `.` or `..` segments, no trailing slash. */
const absolutePathPattern = '^(/[^/]+)+$';

/** A regular expression as a single-quoted CEL string literal. */
const celString = (pattern: string): string => `'${pattern.replaceAll('\\', '\\\\').replaceAll("'", "\\'")}'`;
/** Matches a '.' or '..' segment of an absolute path. */
const dotSegment = '/[.]{1,2}(/|$)';
/** Matches a '.' or '..' segment of a relative path. */
const relativeDotSegment = '(^|/)[.]{1,2}(/|$)';

function mountPathSchema(description: string, defaultValue?: string): SchemaNode {
  return {
    type: 'string',
    description: `${description} An absolute, normalised path outside /sandbox-storage/ (used by the seed init container).`,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
    pattern: absolutePathPattern,
    maxLength: 1024,
    'x-kubernetes-validations': [
      {
        rule: `!self.matches(${celString(dotSegment)})`,
        message: "must not contain '.' or '..' segments",
        check: (self: string) => !new RegExp(dotSegment).test(self),
      },
      {
        rule: "self != '/sandbox-storage' && !self.startsWith('/sandbox-storage/')",
        message: 'must not be under /sandbox-storage/, which the seed init container uses',
        check: (self: string) => self !== '/sandbox-storage' && !self.startsWith('/sandbox-storage/'),
      },
    ],
  };
}

function labelSelectorSchema(description: string, defaultValue: unknown): SchemaNode {
  return {
    type: 'object',
    typeName: 'LabelSelector',
    description,
    default: defaultValue,
    properties: {
      matchLabels: {
        type: 'object',
        description: 'Labels that must all be present with exactly these values.',
        maxProperties: 64,
        additionalProperties: { type: 'string', pattern: labelValuePattern, maxLength: 63 },
        'x-kubernetes-validations': [
          {
            rule: `self.all(k, k.matches(${celString(labelKeyPattern)}))`,
            message: 'keys must be valid label keys ([prefix/]name)',
            check: (self: Record<string, string>) => Object.keys(self).every((key) => new RegExp(labelKeyPattern).test(key)),
          },
        ],
      },
      matchExpressions: {
        type: 'array',
        description: 'Requirements that must all hold.',
        maxItems: 32,
        items: {
          type: 'object',
          typeName: 'LabelSelectorRequirement',
          required: ['key', 'operator'],
          properties: {
            key: { type: 'string', description: 'Label key.', pattern: labelKeyPattern, maxLength: 317 },
            operator: { type: 'string', description: 'How the key relates to the values.', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] },
            values: { type: 'array', description: 'Values for In and NotIn; empty for Exists and DoesNotExist.', maxItems: 64, items: { type: 'string', maxLength: 63 } },
          },
          'x-kubernetes-validations': [
            {
              rule: "(self.operator in ['In', 'NotIn']) == (has(self.values) && size(self.values) > 0)",
              message: 'values must be non-empty for In and NotIn, and empty for Exists and DoesNotExist',
              fieldPath: '.values',
              check: (self: { operator: string; values?: string[] }) =>
                ['In', 'NotIn'].includes(self.operator) === ((self.values ?? []).length > 0),
            },
          ],
        },
      },
    },
  };
}

/** One path segment of a template: literal text with at most one {user} or {thread}. */
const templateSegment = '[^/{}\\\\]*(?:(?:\\{user\\}|\\{thread\\})[^/{}\\\\]*)?';
const templateSyntax = `^${templateSegment}(?:/${templateSegment})*$`;
/** Matches an empty, '.' or '..' path segment anywhere. */
const badSegment = '(^|/)([.]{1,2})?(/|$)';

const subPathTemplateRules: ValidationRule[] = [
  {
    rule: "!self.startsWith('/')",
    message: 'must be a relative path',
    check: (self: string) => !self.startsWith('/'),
  },
  {
    rule: `!self.matches(${celString(badSegment)})`,
    message: "must not contain empty, '.' or '..' segments",
    check: (self: string) => !new RegExp(badSegment).test(self),
  },
  {
    rule: "self.contains('{user}')",
    message: 'must contain {user}, so that every user gets a directory of their own',
    check: (self: string) => self.includes('{user}'),
  },
  {
    rule: `self.matches(${celString(templateSyntax)})`,
    message: 'placeholders are {user} and {thread}, at most one per path segment; no other braces or backslashes',
    check: (self: string) => new RegExp(templateSyntax).test(self),
  },
];

const storageLayoutRule: ValidationRule = {
  rule:
    'self.mode == oldSelf.mode && self.workspace.scope == oldSelf.workspace.scope && ' +
    'self.workspace.claimNamePrefix == oldSelf.workspace.claimNamePrefix && self.shared.claimName == oldSelf.shared.claimName && ' +
    'self.shared.mounts.map(m, m.subPath) == oldSelf.shared.mounts.map(m, m.subPath)',
  message:
    'the storage layout (mode, workspace.scope, workspace.claimNamePrefix, shared.claimName, shared subPath templates) is immutable: changing it would orphan every user\'s data; create a new policy instead',
  check: (self: any, oldSelf?: any) =>
    oldSelf === undefined ||
    (self.mode === oldSelf.mode &&
      self.workspace.scope === oldSelf.workspace.scope &&
      self.workspace.claimNamePrefix === oldSelf.workspace.claimNamePrefix &&
      self.shared.claimName === oldSelf.shared.claimName &&
      JSON.stringify(self.shared.mounts.map((mount: { subPath: string }) => mount.subPath)) ===
        JSON.stringify(oldSelf.shared.mounts.map((mount: { subPath: string }) => mount.subPath))),
};

/** A list of requester names (usernames or groups) as the API server reports them in userInfo. */
function requesterListSchema(description: string): SchemaNode {
  return {
    type: 'array',
    description,
    default: [],
    maxItems: 64,
    'x-kubernetes-list-type': 'set',
    items: { type: 'string', pattern: '^.+$', maxLength: 512 },
  };
}

const isolationSchema: SchemaNode = {
  type: 'object',
  typeName: 'IsolationSpec',
  description: 'Who may go around the storage scope (exemptions), and who may create sandbox Pods for which user ids (requesters).',
  default: {},
  properties: {
    exemptions: {
      type: 'object',
      description: "Requesters exempt from the storage-scope rules of this policy's volumes, e.g. the component that manages the shared PVC and mounts its root.",
      default: {},
      properties: {
        users: requesterListSchema('Exempt usernames, e.g. system:serviceaccount:platform:gateway.'),
        groups: requesterListSchema('Exempt groups.'),
      },
    },
    requesters: {
      type: 'object',
      description: 'Requester binding: which requester may create (or debug) a sandbox Pod for which user id.',
      default: {},
      properties: {
        enforce: {
          type: 'boolean',
          description: "Bind user ids to requesters: trusted users and groups may use any user id, anyone else only its own username (after usernameTransform).",
          default: false,
        },
        trustedUsers: requesterListSchema('Requesters that may use any user id, e.g. the spawner service account.'),
        trustedGroups: requesterListSchema('Groups whose members may use any user id, e.g. system:serviceaccounts:platform.'),
        usernameTransform: {
          type: 'object',
          description: 'How a requester username becomes the user id it may use.',
          default: {},
          properties: {
            stripPrefix: {
              type: 'string',
              description: 'Removed from the username (e.g. "oidc:"); a username without it may use no user id.',
              default: '',
              maxLength: 253,
            },
          },
        },
      },
      'x-kubernetes-validations': [
        {
          rule: "self.enforce || (size(self.trustedUsers) == 0 && size(self.trustedGroups) == 0 && self.usernameTransform.stripPrefix == '')",
          message: 'trusted requesters and a usernameTransform only take effect with enforce: true',
          fieldPath: '.enforce',
          check: (self: any) =>
            self.enforce || (self.trustedUsers.length === 0 && self.trustedGroups.length === 0 && self.usernameTransform.stripPrefix === ''),
        },
      ],
    },
  },
};

/** Provisioning hints of a PVC the controller creates: workspace PVCs, and a shared PVC created when missing. */
function claimHintProperties(defaults: { size: string; accessModes: string[] }): Record<string, SchemaNode> {
  return {
    storageClassName: { type: 'string', description: "StorageClass of created PVCs; unset means the cluster's default.", pattern: dnsSubdomainPattern, maxLength: 253 },
    size: {
      type: 'string',
      description: 'Requested size of created PVCs (a Kubernetes quantity).',
      default: defaults.size,
      pattern: quantityPattern,
      maxLength: 64,
      'x-kubernetes-validations': [
        {
          rule: "!isQuantity(self) || quantity(self).isGreaterThan(quantity('0'))",
          message: 'must be greater than zero',
          check: (self: string) => !isQuantity(self) || isPositiveQuantity(self),
        },
      ],
    },
    accessModes: {
      type: 'array',
      description: 'Access modes of created PVCs.',
      default: defaults.accessModes,
      minItems: 1,
      maxItems: 4,
      'x-kubernetes-list-type': 'set',
      items: { type: 'string', enum: ['ReadWriteOnce', 'ReadWriteOncePod', 'ReadWriteMany', 'ReadOnlyMany'] },
    },
    volumeMode: {
      type: 'string',
      description: 'Volume mode of created PVCs; only Filesystem can be mounted at a path.',
      default: 'Filesystem',
      enum: ['Filesystem'],
    },
  };
}

const maxRetentionSeconds = 366 * 24 * 3600;
/** An image reference pinned by digest: a mutable tag could hand the root seeder another script. */
const digestPinnedImagePattern = '^[^@\\s]+@sha256:[0-9a-f]{64}$';
/** Octal directory mode, e.g. 0700 or 750. */
const octalModePattern = '^0?[0-7]{3}$';

const preparationSchema: SchemaNode = {
  type: 'object',
  typeName: 'PreparationSpec',
  description:
    "Shared mode: before a sandbox Pod starts, the controller runs a short Pod that creates the identity's directories on the share owned by the sandbox's uid:gid (kubelet would create a missing subPath as root, which a seeder running as the sandbox user cannot write to). The Pod waits behind the scheduling gate meanwhile.",
  default: {},
  properties: {
    enabled: { type: 'boolean', description: 'Prepare the directories before sandbox Pods start.', default: false },
    claimName: {
      type: 'string',
      description: "A PVC on the same share as spec.shared.claimName, in the preparation namespace (an admin-provided second claim, e.g. a second PV for the same NFS export); required when enabled.",
      default: '',
      maxLength: 253,
    },
    namespace: {
      type: 'string',
      description: "Namespace of the preparation Pods and of claimName; empty means the controller's own namespace.",
      default: '',
      maxLength: 63,
      'x-kubernetes-validations': [
        {
          rule: `self == '' || self.matches(${celString(dnsLabelPattern)})`,
          message: 'must be empty or a namespace name (a DNS-1123 label)',
          check: (self: string) => self === '' || new RegExp(dnsLabelPattern).test(self),
        },
      ],
    },
    image: {
      type: 'string',
      description: "Image of the preparation Pod (needs sh, mkdir, chown, chmod, stat, id: the sandbox-storage image); empty means the controller's --preparation-image.",
      default: '',
      maxLength: 512,
    },
    runAs: {
      type: 'string',
      description:
        "root: mounts only the identity's prefix and chowns (keeps CHOWN, DAC_OVERRIDE, FOWNER). identity: for NFS with root_squash, runs as the sandbox's uid:gid and creates the prefix in its parent, which the admin makes writable (e.g. mode 1733).",
      default: 'root',
      enum: ['root', 'identity'],
    },
    mode: {
      type: 'string',
      description: "Octal mode of the prepared directories; 0700 keeps other users out even if they share a group.",
      default: '0700',
      pattern: octalModePattern,
      maxLength: 4,
    },
  },
  'x-kubernetes-validations': [
    {
      rule: `!self.enabled || self.claimName.matches(${celString(dnsSubdomainPattern)})`,
      message: 'preparation needs claimName: a PVC on the same share in the preparation namespace (a DNS-1123 subdomain)',
      fieldPath: '.claimName',
      check: (self: any) => !self.enabled || new RegExp(dnsSubdomainPattern).test(self.claimName),
    },
  ],
};

export const policySpecSchema: SchemaNode = {
  type: 'object',
  typeName: 'PolicySpec',
  description: 'Which Pods are sandboxes, whose they are, and which storage they get.',
  properties: {
    namespaceSelector: labelSelectorSchema('Namespaces the policy governs, by their labels. Empty selects every namespace.', {}),
    podSelector: labelSelectorSchema('Which Pods are sandboxes, by their labels.', {
      matchLabels: { 'sandbox-storage.io/inject': 'true' },
    }),
    identity: {
      type: 'object',
      description: 'The Pod labels that carry the tenant identity.',
      default: {},
      properties: {
        userLabel: { type: 'string', description: 'Label holding the user id (required on every sandbox Pod).', default: 'sandbox-storage.io/user', pattern: labelKeyPattern, maxLength: 317 },
        threadLabel: { type: 'string', description: 'Label holding the thread id (required when storage is per thread).', default: 'sandbox-storage.io/thread', pattern: labelKeyPattern, maxLength: 317 },
      },
      'x-kubernetes-validations': [
        {
          rule: 'self.userLabel != self.threadLabel',
          message: 'userLabel and threadLabel must differ',
          fieldPath: '.threadLabel',
          check: (self: { userLabel: string; threadLabel: string }) => self.userLabel !== self.threadLabel,
        },
      ],
    },
    container: {
      type: 'string',
      description: 'Name of the sandbox container that gets the mounts; empty means the first container.',
      default: '',
      maxLength: 63,
      'x-kubernetes-validations': [
        {
          rule: `self == '' || self.matches(${celString(dnsLabelPattern)})`,
          message: 'must be empty or a container name (a DNS-1123 label)',
          check: (self: string) => self === '' || new RegExp(dnsLabelPattern).test(self),
        },
      ],
    },
    mode: {
      type: 'string',
      description: 'workspace: a PVC per identity. shared: subPaths of one pre-existing ReadWriteMany PVC.',
      default: 'workspace',
      enum: ['workspace', 'shared'],
    },
    enforcement: {
      type: 'string',
      description:
        'enforce: Pods that break the policy are denied. audit: they are admitted unchanged and the would-be denial is reported (admission warning, log, metric), to roll a policy out safely.',
      default: 'enforce',
      enum: ['enforce', 'audit'],
    },
    workspace: {
      type: 'object',
      description: 'Workspace mode: one PVC per (user, thread), or per user.',
      default: {},
      properties: {
        scope: { type: 'string', description: 'thread: one PVC per (user, thread). user: one PVC per user.', default: 'thread', enum: ['thread', 'user'] },
        mountPath: mountPathSchema('Where the PVC is mounted in the sandbox container.', '/sandbox'),
        claimNamePrefix: {
          type: 'string',
          description: 'Fixed prefix of every workspace PVC name, so governed claims are recognisable from the policy alone.',
          default: 'sandbox-',
          pattern: '^[a-z][-a-z0-9]{0,29}$',
        },
        ...claimHintProperties({ size: '2Gi', accessModes: ['ReadWriteOnce'] }),
      },
    },
    shared: {
      type: 'object',
      description: 'Shared mode: per-identity subPaths of one pre-existing ReadWriteMany PVC.',
      default: {},
      properties: {
        claimName: { type: 'string', description: 'The shared PVC, in the Pod\'s namespace (required in shared mode).', default: '', maxLength: 253 },
        mounts: {
          type: 'array',
          description: 'Mounts of the shared PVC into the sandbox container.',
          default: [{ subPath: 'users/{user}/threads/{thread}/user-data', mountPath: '/sandbox', readOnly: false }],
          minItems: 1,
          maxItems: 16,
          items: {
            type: 'object',
            typeName: 'SharedMount',
            required: ['subPath', 'mountPath'],
            properties: {
              subPath: {
                type: 'string',
                description: 'Template of the subPath inside the shared PVC, with {user} and {thread} (each rendered with a reversible, case-free encoding of the id).',
                maxLength: 256,
                'x-kubernetes-validations': subPathTemplateRules,
              },
              mountPath: mountPathSchema('Where the subPath is mounted in the sandbox container.'),
              readOnly: { type: 'boolean', description: 'Mount read-only.', default: false },
            },
          },
        },
        preparation: preparationSchema,
      },
    },
    provisioning: {
      type: 'object',
      description: 'How the controller provides the storage sandbox Pods wait for.',
      default: {},
      properties: {
        schedulingGate: {
          type: 'boolean',
          description: 'Hold sandbox Pods with the scheduling gate sandbox-storage.io/storage until their PVC exists; the controller removes it.',
          default: true,
        },
        adoptExisting: {
          type: 'boolean',
          description: 'Take over a PVC of the planned name that carries the identity labels but was not created by sandbox-storage.',
          default: false,
        },
        pendingWarningSeconds: {
          type: 'integer',
          description: 'A PVC still Pending this many seconds after creation is reported with a Warning Event on its Pods.',
          default: 120,
          minimum: 1,
          maximum: 86400,
        },
        shared: {
          type: 'object',
          description: 'Shared mode: create spec.shared.claimName when it is missing, with these hints.',
          default: {},
          properties: {
            createIfMissing: { type: 'boolean', description: 'Create the shared PVC when it does not exist.', default: false },
            ...claimHintProperties({ size: '10Gi', accessModes: ['ReadWriteMany'] }),
          },
        },
      },
    },
    retention: {
      type: 'object',
      description: 'What happens to a workspace PVC once no Pod uses it. User data is kept unless this opts in.',
      default: {},
      properties: {
        whenUnused: {
          type: 'string',
          description: 'Retain: never deleted because Pods went away. Delete: deleted gracePeriodSeconds after the last Pod is gone.',
          default: 'Retain',
          enum: ['Retain', 'Delete'],
        },
        gracePeriodSeconds: { type: 'integer', description: 'Seconds after the last Pod is gone before Delete applies.', default: 3600, minimum: 0, maximum: maxRetentionSeconds },
        idleTTLSeconds: {
          type: 'integer',
          description: 'Opt-in, also under Retain: delete a workspace PVC no Pod has used for this many seconds; 0 means never.',
          default: 0,
          minimum: 0,
          maximum: maxRetentionSeconds,
        },
      },
    },
    quota: {
      type: 'object',
      description: 'Per-user limits on workspace PVCs in a namespace, enforced at admission and by the controller.',
      default: {},
      properties: {
        maxClaimsPerUser: { type: 'integer', description: 'Most workspace PVCs one user may have in a namespace; 0 means no limit.', default: 0, minimum: 0, maximum: 100000 },
        maxStoragePerUser: {
          type: 'string',
          description: "Most storage (sum of requests) of one user's workspace PVCs in a namespace, e.g. 20Gi; empty means no limit.",
          default: '',
          maxLength: 64,
          'x-kubernetes-validations': [
            {
              rule: "self == '' || (isQuantity(self) && quantity(self).isGreaterThan(quantity('0')))",
              message: "must be a Kubernetes quantity greater than zero, or '' for no limit",
              check: (self: string) => self === '' || (isQuantity(self) && isPositiveQuantity(self)),
            },
          ],
        },
      },
    },
    seed: {
      type: 'object',
      description: "Copy the image's original directory into the volume on first use (init container in the sandbox image).",
      default: {},
      properties: {
        enabled: { type: 'boolean', description: 'Add the seed init container.', default: true },
        path: mountPathSchema('Directory of the image that is copied; must be the mountPath of an injected read-write mount.', '/sandbox'),
        sentinel: {
          type: 'string',
          description: 'File in the volume that marks a complete seed.',
          default: '.sandbox-storage-seeded',
          pattern: '^[^/]+$',
          maxLength: 255,
          'x-kubernetes-validations': [
            { rule: "self != '.' && self != '..'", message: "must be a plain file name, not '.' or '..'", check: (self: string) => self !== '.' && self !== '..' },
          ],
        },
        reseed: {
          type: 'string',
          description:
            'What an image change does to a volume seeded before: merge copies what the image added and updates what it changed that the user never touched; never leaves the volume alone.',
          default: 'merge',
          enum: ['merge', 'never'],
        },
        imageOwnedPaths: {
          type: 'array',
          description:
            'Paths relative to seed.path that belong to the image: replaced on every image change even if the user edited them, and removed when the image drops them.',
          default: [],
          maxItems: 64,
          'x-kubernetes-list-type': 'set',
          items: {
            type: 'string',
            pattern: '^[^/]+(/[^/]+)*$',
            maxLength: 1024,
            'x-kubernetes-validations': [
              {
                rule: `!self.matches(${celString(relativeDotSegment)})`,
                message: "must be a normalised relative path: no '.' or '..' segments",
                check: (self: string) => !new RegExp(relativeDotSegment).test(self),
              },
            ],
          },
        },
        source: {
          type: 'string',
          description:
            "Where the seeder runs: shell runs it with the sandbox image's own sh and tar; imageVolume runs it in seederImage with the sandbox image mounted read-only as an image volume (KEP-4639), so images without a shell seed too.",
          default: 'shell',
          enum: ['shell', 'imageVolume'],
        },
        seederImage: {
          type: 'string',
          description: 'Image with sh, tar and the usual tools (e.g. the sandbox-storage image) for source imageVolume.',
          default: '',
          maxLength: 512,
        },
        scriptDelivery: {
          type: 'string',
          description:
            "How the seed init container gets the seed script. configMap: a content-addressed, immutable ConfigMap (sandbox-storage-seed-<hash>) that the controller keeps in the namespace; the Pod waits behind the scheduling gate until it exists. imageVolume: the sandbox-storage image (scriptImage) mounted read-only as an image volume. inline: the whole script in the container's command (about 16 KB in every Pod), for clusters without the controller. configMap and imageVolume check the script's SHA-256 before running it.",
          default: 'configMap',
          enum: ['configMap', 'imageVolume', 'inline'],
        },
        scriptImage: {
          type: 'string',
          description:
            'For scriptDelivery imageVolume: the sandbox-storage image, pinned by digest (name@sha256:<64 hex digits>), whose /app/dist/src/seed/seed.sh is run; it must carry the same script version as the webhook, which the hash check enforces.',
          default: '',
          maxLength: 512,
        },
        runAs: {
          type: 'string',
          description:
            "Who the seeder runs as: root (only the CHOWN, DAC_OVERRIDE, FOWNER and FSETID capabilities) chowns what it writes to the sandbox's runAsUser/runAsGroup; sandboxUser runs as the sandbox itself; auto picks root unless the namespace enforces the restricted Pod Security level (or, without namespace labels, the Pod declares runAsNonRoot).",
          default: 'auto',
          enum: ['auto', 'root', 'sandboxUser'],
        },
      },
      'x-kubernetes-validations': [
        {
          rule: "self.source != 'imageVolume' || self.seederImage != ''",
          message: 'source imageVolume runs the seeder in seederImage, which must be set',
          fieldPath: '.seederImage',
          check: (self: any) => self.source !== 'imageVolume' || self.seederImage !== '',
        },
        {
          rule: `self.scriptDelivery != 'imageVolume' || self.scriptImage.matches(${celString(digestPinnedImagePattern)})`,
          message: 'scriptDelivery imageVolume needs scriptImage: the sandbox-storage image pinned by digest (name@sha256:<64 hex digits>)',
          fieldPath: '.scriptImage',
          check: (self: any) => self.scriptDelivery !== 'imageVolume' || new RegExp(digestPinnedImagePattern).test(self.scriptImage),
        },
        {
          rule: "self.scriptImage == '' || self.scriptDelivery == 'imageVolume'",
          message: 'scriptImage is used only with scriptDelivery imageVolume',
          fieldPath: '.scriptImage',
          check: (self: any) => self.scriptImage === '' || self.scriptDelivery === 'imageVolume',
        },
      ],
    },
    isolation: isolationSchema,
  },
  'x-kubernetes-validations': [
    {
      rule: `self.mode != 'shared' || self.shared.claimName.matches(${celString(dnsSubdomainPattern)})`,
      message: 'shared mode needs the name of an existing PVC (a DNS-1123 subdomain)',
      fieldPath: '.shared.claimName',
      check: (self: any) => self.mode !== 'shared' || new RegExp(dnsSubdomainPattern).test(self.shared.claimName),
    },
    {
      rule: "self.mode != 'shared' || self.shared.mounts.all(m, self.shared.mounts.filter(n, n.mountPath == m.mountPath).size() == 1)",
      message: 'every shared mount needs a mountPath of its own',
      fieldPath: '.shared.mounts',
      check: (self: any) =>
        self.mode !== 'shared' ||
        new Set(self.shared.mounts.map((mount: { mountPath: string }) => mount.mountPath)).size === self.shared.mounts.length,
    },
    {
      rule:
        "!self.seed.enabled || (self.mode == 'workspace' ? self.seed.path == self.workspace.mountPath : " +
        'self.shared.mounts.exists(m, m.mountPath == self.seed.path && !m.readOnly))',
      message: 'seed.path must be the mountPath of an injected read-write mount, or set seed.enabled to false',
      fieldPath: '.seed.path',
      check: (self: any) =>
        !self.seed.enabled ||
        (self.mode === 'workspace'
          ? self.seed.path === self.workspace.mountPath
          : self.shared.mounts.some((mount: { mountPath: string; readOnly: boolean }) => mount.mountPath === self.seed.path && !mount.readOnly)),
    },
    {
      rule: "!self.shared.preparation.enabled || self.mode == 'shared'",
      message: 'directory preparation is for shared mode only (a workspace PVC of its own gets fsGroup or a root seeder)',
      fieldPath: '.shared.preparation.enabled',
      check: (self: any) => !self.shared.preparation.enabled || self.mode === 'shared',
    },
    {
      rule: '!self.shared.preparation.enabled || self.provisioning.schedulingGate',
      message: 'directory preparation holds sandbox Pods with the scheduling gate: spec.provisioning.schedulingGate must be true',
      fieldPath: '.provisioning.schedulingGate',
      check: (self: any) => !self.shared.preparation.enabled || self.provisioning.schedulingGate,
    },
    storageLayoutRule,
  ],
};

export const conditionSchema: SchemaNode = {
  type: 'object',
  typeName: 'PolicyCondition',
  required: ['type', 'status', 'lastTransitionTime', 'reason', 'message'],
  properties: {
    type: { type: 'string', description: 'Ready or Invalid.', maxLength: 316 },
    status: { type: 'string', enum: ['True', 'False', 'Unknown'] },
    observedGeneration: { type: 'integer' },
    lastTransitionTime: { type: 'string', description: 'RFC 3339 time of the last status change.' },
    reason: { type: 'string', description: 'CamelCase reason.', maxLength: 1024 },
    message: { type: 'string', description: 'Human-readable details.', maxLength: 32768 },
  },
};

export const policyStatusSchema: SchemaNode = {
  type: 'object',
  typeName: 'PolicyStatus',
  description: 'What the controller observed about the policy.',
  properties: {
    observedGeneration: { type: 'integer', description: 'The generation the conditions describe.' },
    conditions: {
      type: 'array',
      description: 'Ready: the policy is loaded and serving. Invalid: it is not (the last good version keeps serving).',
      'x-kubernetes-list-type': 'map',
      'x-kubernetes-list-map-keys': ['type'],
      maxItems: 8,
      items: conditionSchema,
    },
  },
};

export const policyGroup = 'sandbox-storage.io';
export const policyVersion = 'v1alpha1';
export const policyNames = {
  plural: 'sandboxstoragepolicies',
  singular: 'sandboxstoragepolicy',
  kind: 'SandboxStoragePolicy',
  listKind: 'SandboxStoragePolicyList',
  shortNames: ['ssp'],
  categories: ['sandbox-storage'],
};
