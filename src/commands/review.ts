// `sandbox-storage review`: the webhook's decision, offline, through the same code path as the server.
import { randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { decideAdmission, mutatedPod } from '../webhook/decide.ts';
import { admissionApiVersion, type AdmissionSources } from '../webhook/review.ts';
import { staticNamespaceLabels, type NamespaceLabelLookup } from '../admission/namespace-labels.ts';
import { resolveConflicts } from '../policy/policy-conflicts.ts';
import { selectorMatches } from '../policy/selector.ts';
import type { Policy } from '../policy/types.ts';
import { loadPoliciesOrDefault } from '../policy/embedded-default.ts';
import { readProblem, readTextFile, yamlDocuments } from '../policy/yaml-text.ts';
import { isObject } from '../plain-json.ts';
import { UsageError } from './usage-error.ts';

export const reviewUsage = `Usage: sandbox-storage review [--policy FILE]... (--pod FILE | --review FILE) [options]

Prints the decision the API server would reach for a Pod (wrapped as a CREATE request) or for a whole
AdmissionReview (any operation, e.g. an UPDATE of pods/ephemeralcontainers with oldObject): the mutating
webhook, then the validating webhook on the mutated Pod, as one AdmissionReview. Files may be JSON or YAML;
'-' reads standard input.

Options:
  --policy FILE              SandboxStoragePolicy YAML (repeatable; default: the embedded default policy)
  --pod FILE                 a Pod manifest
  --review FILE              an AdmissionReview (admission.k8s.io/v1)
  --user NAME                requesting user (userInfo.username)
  --groups G1,G2             requesting user's groups
  --namespace NS             namespace of the request (default: the Pod's, else "default")
  --namespace-labels K=V,..  labels of that namespace, for policies with a namespaceSelector
  --controller-username NAME the controller's username, as the server has it (default: none, so nobody is the
                             controller: its PVC creates and gate removals are judged as anyone else's)
  --dry-run                  mark the request as a dry run
  --output review|pod        print the AdmissionReview (default) or the mutated Pod
  --from-cluster             use the SandboxStoragePolicies installed in the cluster, and its namespace labels
  --kubeconfig FILE          cluster credentials for --from-cluster (default: $KUBECONFIG, ~/.kube/config)

Without --from-cluster, review refuses (exit 2) rather than guess what the server reads from the cluster:
the namespace's labels when a policy has a namespaceSelector (give --namespace-labels), and the Pod an
exec/attach/portforward request connects to.

Exit status: 0 allowed, 1 denied (by either webhook), 2 bad input or policy, or an input the server would have
is missing.
`;

async function readInput(file: string): Promise<unknown> {
  const source = file === '-' ? '<stdin>' : file;
  let text: string;
  try {
    text = file === '-' ? await readStdin() : await readTextFile(file);
  } catch (error) {
    throw new UsageError(file === '-' ? readProblem(source, error) : (error as Error).message);
  }
  // YAML is a superset of JSON.
  const documents = yamlDocuments(text, source);
  const problems = documents.flatMap((document) => (document.problem === undefined ? [] : [document.problem]));
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  const values = documents.map((document) => document.value).filter((value) => value !== null && value !== undefined);
  if (values.length > 1) throw new UsageError(`${source}: holds ${values.length} documents; give one object`);
  return values[0] ?? null;
}

async function readStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

function parseLabelList(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',').filter((part) => part.length > 0)) {
    const equals = pair.indexOf('=');
    if (equals <= 0) throw new UsageError(`--namespace-labels expects KEY=VALUE pairs, got ${JSON.stringify(pair)}`);
    labels[pair.slice(0, equals)] = pair.slice(equals + 1);
  }
  return labels;
}

interface ReviewInputOptions {
  user?: string;
  groups?: string[];
  namespace?: string;
  dryRun: boolean;
}

/** Wraps a Pod manifest in the CREATE AdmissionReview the API server would send. */
export function podCreateReview(pod: Record<string, unknown>, options: ReviewInputOptions): Record<string, unknown> {
  const metadata = (pod.metadata ?? {}) as { name?: string; namespace?: string };
  const namespace = options.namespace ?? metadata.namespace ?? 'default';
  const userInfo: Record<string, unknown> = {};
  if (options.user !== undefined) userInfo.username = options.user;
  if (options.groups !== undefined) userInfo.groups = options.groups;
  return {
    apiVersion: admissionApiVersion,
    kind: 'AdmissionReview',
    request: {
      uid: randomUUID(),
      kind: { group: '', version: 'v1', kind: 'Pod' },
      resource: { group: '', version: 'v1', resource: 'pods' },
      requestKind: { group: '', version: 'v1', kind: 'Pod' },
      requestResource: { group: '', version: 'v1', resource: 'pods' },
      ...(metadata.name ? { name: metadata.name } : {}),
      namespace,
      operation: 'CREATE',
      userInfo,
      object: pod,
      oldObject: null,
      dryRun: options.dryRun,
      options: { apiVersion: 'meta.k8s.io/v1', kind: 'CreateOptions' },
    },
  };
}

/** Applies command-line overrides to a given AdmissionReview's request. */
function overrideReview(review: unknown, options: ReviewInputOptions, given: Set<string>): unknown {
  const request = (review as { request?: Record<string, unknown> })?.request;
  if (typeof request !== 'object' || request === null) return review;
  if (given.has('namespace')) request.namespace = options.namespace;
  if (given.has('dry-run')) request.dryRun = true;
  if (given.has('user') || given.has('groups')) {
    const userInfo = { ...(request.userInfo as object) } as Record<string, unknown>;
    if (given.has('user')) userInfo.username = options.user;
    if (given.has('groups')) userInfo.groups = options.groups;
    request.userInfo = userInfo;
  }
  return review;
}

/** The policies installed in the cluster and its namespace labels: "what would happen to this Pod there?" */
async function clusterSources(
  kubeconfig: string | undefined,
  givenLabels: NamespaceLabelLookup | undefined,
  writeError: (text: string) => void,
): Promise<Pick<AdmissionSources, 'namespaceLabels' | 'claimMetadata' | 'pod'> & { policies: Policy[] }> {
  const [{ loadKubeConfig }, { listClusterPolicies }, { namespaceLabelLookup }, { claimMetadataLookup }, { podLookup }, { default: pino }] =
    await Promise.all([
      import('../kube/kube-config.ts'),
      import('../kube/cluster-policies.ts'),
      import('../kube/namespace-labels.ts'),
      import('../kube/claim-metadata.ts'),
      import('../kube/pod-lookup.ts'),
      import('pino'),
    ]);
  const config = loadKubeConfig(kubeconfig);
  let installed;
  try {
    installed = await listClusterPolicies(config);
  } catch (error) {
    throw new UsageError((error as Error).message);
  }
  for (const entry of installed) {
    if (entry.error) writeError(`warning: policy ${entry.name} is invalid and ignored:\n${entry.error}\n`);
  }
  // The same choice as the server between policies whose storage collides: the older one serves.
  const { serving, refused } = resolveConflicts(
    installed.flatMap((entry) => {
      const created = new Date(entry.object.metadata?.creationTimestamp ?? Number.NaN);
      return entry.policy ? [{ policy: entry.policy, createdAt: Number.isNaN(created.getTime()) ? '' : created.toISOString() }] : [];
    }),
  );
  for (const [name, conflict] of refused) writeError(`warning: policy ${name} is not served (it collides with an older policy):\n${conflict.message}\n`);
  return {
    policies: serving,
    namespaceLabels: givenLabels ?? namespaceLabelLookup(config, pino({ level: 'silent' })),
    // The validating webhook's cluster look-ups too, so the decision is the one the cluster would reach.
    claimMetadata: claimMetadataLookup(config, pino({ level: 'silent' })),
    pod: podLookup(config, pino({ level: 'silent' })),
  };
}

/** What review was asked for but does not have offline, recorded when a webhook asks for it. */
class MissingInputs {
  namespaceLabels = false;
  connectedPod = false;

  describe(policies: readonly Policy[], body: unknown): string | undefined {
    if (this.namespaceLabels) {
      const request = (body as { request?: { object?: { metadata?: { labels?: unknown } } } }).request;
      const labels = request?.object?.metadata?.labels;
      const podLabels = isObject(labels) ? (labels as Record<string, string>) : {};
      const withSelector = policies.filter((policy) => hasRequirements(policy.spec.namespaceSelector));
      const policy = withSelector.find((candidate) => selectorMatches(candidate.spec.podSelector, podLabels)) ?? withSelector[0];
      return `policy "${policy?.name}" has a namespaceSelector, so the answer depends on the namespace's labels: give them with --namespace-labels K=V,... or use --from-cluster`;
    }
    if (this.connectedPod) {
      return 'the server judges exec/attach/portforward by the Pod they connect to, which it reads from the cluster: use --from-cluster';
    }
    return undefined;
  }
}

function hasRequirements(selector: { matchLabels?: object; matchExpressions?: unknown[] }): boolean {
  return Object.keys(selector.matchLabels ?? {}).length + (selector.matchExpressions ?? []).length > 0;
}

/** Sources without a cluster: given namespace labels, or none, in which case asking for them is recorded. */
function offlineSources(
  policies: Policy[],
  givenLabels: NamespaceLabelLookup | undefined,
  missing: MissingInputs,
): Pick<AdmissionSources, 'namespaceLabels' | 'pod'> & { policies: Policy[] } {
  return {
    policies,
    namespaceLabels:
      givenLabels ??
      (async () => {
        missing.namespaceLabels = true;
        return undefined;
      }),
    pod: async () => {
      missing.connectedPod = true;
      return undefined;
    },
  };
}

export async function runReview(args: string[], write: (text: string) => void, writeError: (text: string) => void): Promise<number> {
  const { values } = parseArgs({
    args,
    options: {
      policy: { type: 'string', multiple: true },
      pod: { type: 'string' },
      review: { type: 'string' },
      user: { type: 'string' },
      groups: { type: 'string' },
      namespace: { type: 'string' },
      'namespace-labels': { type: 'string' },
      'controller-username': { type: 'string' },
      'dry-run': { type: 'boolean', default: false },
      output: { type: 'string', default: 'review' },
      'from-cluster': { type: 'boolean', default: false },
      kubeconfig: { type: 'string' },
    },
    strict: true,
    allowPositionals: false,
  });
  const problems: string[] = [];
  if ((values.pod === undefined) === (values.review === undefined)) problems.push('give exactly one of --pod FILE or --review FILE');
  if (values.output !== 'review' && values.output !== 'pod') problems.push(`--output must be review or pod, got ${values.output}`);
  if (values['from-cluster'] && (values.policy ?? []).length > 0) problems.push('give either --policy files or --from-cluster, not both');
  if (problems.length > 0) throw new UsageError(problems.join('\n'));

  const givenLabels = values['namespace-labels'] !== undefined ? staticNamespaceLabels(parseLabelList(values['namespace-labels'])) : undefined;
  const missing = new MissingInputs();
  const { policies, namespaceLabels, ...lookups } = values['from-cluster']
    ? await clusterSources(values.kubeconfig, givenLabels, writeError)
    : offlineSources(await loadPoliciesOrDefault(values.policy ?? []), givenLabels, missing);
  const options: ReviewInputOptions = {
    user: values.user,
    groups: values.groups?.split(',').filter((group) => group.length > 0),
    namespace: values.namespace,
    dryRun: values['dry-run'],
  };
  let body: unknown;
  if (values.pod !== undefined) {
    const pod = await readInput(values.pod);
    if (typeof pod !== 'object' || pod === null || Array.isArray(pod) || (pod as { kind?: unknown }).kind !== 'Pod') {
      throw new UsageError(`${values.pod} is not a Pod manifest (kind: Pod)`);
    }
    body = podCreateReview(pod as Record<string, unknown>, options);
  } else {
    const given = new Set(Object.keys(values).filter((key) => args.some((arg) => arg === `--${key}` || arg.startsWith(`--${key}=`))));
    body = overrideReview(await readInput(values.review as string), options, given);
  }

  const controller = values['controller-username'] !== undefined ? { controllerUsername: values['controller-username'] } : {};
  const { mutation: outcome, validation, decided } = await decideAdmission(body, { policies, namespaceLabels, ...lookups, ...controller });
  // The server would have read these from the cluster; any answer without them could be the wrong one.
  const needed = missing.describe(policies, body);
  if (needed !== undefined) throw new UsageError(needed);
  const answer = decided.response;
  const failed = outcome.result === 'error' ? outcome : validation?.result === 'error' ? validation : undefined;
  if (failed) {
    writeError(`error: ${failed.review.response.status?.message ?? 'invalid AdmissionReview'}\n`);
    if (values.output === 'review') write(`${JSON.stringify(failed.review, null, 2)}\n`);
    return 2;
  }
  for (const warning of answer.warnings ?? []) writeError(`warning: ${warning}\n`);
  if (!outcome.review.response.allowed) writeError(`denied: ${answer.status?.message ?? ''}\n`);
  else if (!answer.allowed) writeError(`denied by the validating webhook: ${answer.status?.message ?? ''}\n`);
  if (values.output === 'pod') {
    if (answer.allowed) write(`${JSON.stringify(mutatedPod(outcome), null, 2)}\n`);
  } else {
    write(`${JSON.stringify(decided, null, 2)}\n`);
  }
  return answer.allowed ? 0 : 1;
}
