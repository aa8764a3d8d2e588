// Flags of the PVC controller, shared by `sandbox-storage controller` and `sandbox-storage run`.
import { access } from 'node:fs/promises';
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { parseArgs } from 'node:util';
import { checkLeaderTimings } from '../controller/leader-election.ts';
import { defaultOwnershipKeySecret } from '../kube/ownership-key.ts';
import { parseDuration } from './duration.ts';
import { logLevelProblems, ownershipKeyProblems } from './shared-flags.ts';
import { UsageError } from './usage-error.ts';

export const controllerOptionsUsage = `Controller options:
  --policy FILE             SandboxStoragePolicy YAML (repeatable; default: the embedded default policy)
  --kubeconfig FILE         cluster credentials (default: in-cluster, then $KUBECONFIG)
  --pod-selector SELECTOR   label selector of the Pods to watch (default sandbox-storage.io/inject=true)
  --workers N               PVC keys reconciled in parallel (default 8)
  --resync-period DURATION  re-check every known PVC this often (default 5m)
  --metrics-host ADDRESS    address of the metrics listener (default 0.0.0.0)
  --metrics-port PORT       plain-HTTP port serving /metrics (default 9090; 0 picks a free port)
  --leader-elect BOOL       elect one active controller among replicas with a Lease (default true)
  --lease-namespace NS      namespace of the Lease (default $POD_NAMESPACE, else sandbox-storage-system)
  --lease-name NAME         name of the Lease (default sandbox-storage-controller)
  --lease-duration DURATION how long a lease holds without renewal (default 15s)
  --renew-deadline DURATION the leader gives up if it cannot renew within this (default 10s)
  --retry-period DURATION   interval between acquire/renew attempts (default 2s)
  --identity NAME           this replica's name in the Lease (default hostname + random suffix)
  --preparation-namespace NS  namespace of directory-preparation Pods unless a policy names one
                            (default $POD_NAMESPACE, else sandbox-storage-system)
  --preparation-image IMAGE image of directory-preparation Pods unless a policy names one (the chart: its own image)
  --ownership-key-secret NAME  Secret holding the ownership key that proves the PVCs the controller creates;
                            created with 32 random bytes when missing, never overwritten
                            (default sandbox-storage-ownership-key)
  --ownership-key-namespace NS  its namespace (default $POD_NAMESPACE, else sandbox-storage-system)
  --log-level LEVEL         trace, debug, info, warn, error (default info)
Durations: 500ms, 15s, 5m, 1h, 90d, or a number of seconds.
`;

export const controllerFlagNames = [
  'policy',
  'kubeconfig',
  'pod-selector',
  'workers',
  'resync-period',
  'metrics-host',
  'metrics-port',
  'leader-elect',
  'lease-namespace',
  'lease-name',
  'lease-duration',
  'renew-deadline',
  'retry-period',
  'identity',
  'preparation-namespace',
  'preparation-image',
  'ownership-key-secret',
  'ownership-key-namespace',
  'log-level',
] as const;

export interface ControllerConfig {
  policyFiles: string[];
  kubeconfig?: string;
  podSelector: string;
  workers: number;
  resyncMs: number;
  metricsHost: string;
  metricsPort: number;
  leaderElect: boolean;
  leaseNamespace: string;
  leaseName: string;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  identity: string;
  preparationNamespace: string;
  preparationImage: string;
  ownershipKeySecret: string;
  ownershipKeyNamespace: string;
  logLevel: string;
}

/** Reads every flag and reports every problem at once, before anything starts. */
export async function parseControllerConfig(args: string[]): Promise<ControllerConfig> {
  const { values } = parseArgs({
    args,
    options: {
      policy: { type: 'string', multiple: true },
      kubeconfig: { type: 'string' },
      'pod-selector': { type: 'string', default: 'sandbox-storage.io/inject=true' },
      workers: { type: 'string', default: '8' },
      'resync-period': { type: 'string', default: '5m' },
      'metrics-host': { type: 'string', default: '0.0.0.0' },
      'metrics-port': { type: 'string', default: '9090' },
      'leader-elect': { type: 'string', default: 'true' },
      'lease-namespace': { type: 'string', default: process.env.POD_NAMESPACE || 'sandbox-storage-system' },
      'lease-name': { type: 'string', default: 'sandbox-storage-controller' },
      'lease-duration': { type: 'string', default: '15s' },
      'renew-deadline': { type: 'string', default: '10s' },
      'retry-period': { type: 'string', default: '2s' },
      identity: { type: 'string', default: `${hostname()}-${randomBytes(3).toString('hex')}` },
      'preparation-namespace': { type: 'string', default: process.env.POD_NAMESPACE || 'sandbox-storage-system' },
      'preparation-image': { type: 'string', default: '' },
      'ownership-key-secret': { type: 'string', default: defaultOwnershipKeySecret },
      'ownership-key-namespace': { type: 'string', default: process.env.POD_NAMESPACE || 'sandbox-storage-system' },
      'log-level': { type: 'string', default: 'info' },
    },
    strict: true,
    allowPositionals: false,
  });
  const problems: string[] = [];
  const integer = (flag: string, text: string, min: number, max: number) => {
    const value = Number(text);
    if (!Number.isInteger(value) || value < min || value > max) problems.push(`--${flag} must be an integer from ${min} to ${max}, got ${text}`);
    return value;
  };
  const duration = (flag: string, text: string) => {
    const value = parseDuration(text);
    if (value === undefined || value <= 0) problems.push(`--${flag} must be a positive duration such as 15s or 500ms, got ${text}`);
    return value ?? 0;
  };
  const workers = integer('workers', values.workers, 1, 64);
  const metricsPort = integer('metrics-port', values['metrics-port'], 0, 65535);
  const resyncMs = duration('resync-period', values['resync-period']);
  const leaseDurationMs = duration('lease-duration', values['lease-duration']);
  const renewDeadlineMs = duration('renew-deadline', values['renew-deadline']);
  const retryPeriodMs = duration('retry-period', values['retry-period']);
  if (!['true', 'false'].includes(values['leader-elect'])) problems.push(`--leader-elect must be true or false, got ${values['leader-elect']}`);
  if (leaseDurationMs > 0 && renewDeadlineMs > 0 && retryPeriodMs > 0) problems.push(...checkLeaderTimings({ leaseDurationMs, renewDeadlineMs, retryPeriodMs }));
  // Watching every Pod of the cluster is never intended; the API server checks the selector's syntax.
  if (values['pod-selector'].trim() === '') problems.push('--pod-selector must not be empty');
  if (!/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/.test(values['preparation-namespace'])) {
    problems.push(`--preparation-namespace must be a namespace name, got ${values['preparation-namespace']}`);
  }
  problems.push(...ownershipKeyProblems(values['ownership-key-secret'], values['ownership-key-namespace']));
  if (/\s/.test(values['preparation-image'])) problems.push(`--preparation-image must be an image reference, got ${values['preparation-image']}`);
  problems.push(...logLevelProblems(values['log-level']));
  const files: Array<[string, string]> = (values.policy ?? []).map((file): [string, string] => ['--policy', file]);
  if (values.kubeconfig !== undefined) files.push(['--kubeconfig', values.kubeconfig]);
  for (const [flag, file] of files) {
    if (!(await access(file).then(() => true, () => false))) problems.push(`${flag}: cannot read ${file}`);
  }
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return {
    policyFiles: values.policy ?? [],
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    podSelector: values['pod-selector'],
    workers,
    resyncMs,
    metricsHost: values['metrics-host'],
    metricsPort,
    leaderElect: values['leader-elect'] === 'true',
    leaseNamespace: values['lease-namespace'],
    leaseName: values['lease-name'],
    leaseDurationMs,
    renewDeadlineMs,
    retryPeriodMs,
    identity: values.identity,
    preparationNamespace: values['preparation-namespace'],
    preparationImage: values['preparation-image'],
    ownershipKeySecret: values['ownership-key-secret'],
    ownershipKeyNamespace: values['ownership-key-namespace'],
    logLevel: values['log-level'],
  };
}

/**
 * Splits `run`'s arguments: controller flags vs the rest. Policies and metrics belong to the webhook side (one
 * policy source and one /metrics endpoint per process); credentials and the log level go to both.
 */
export function splitRunArgs(args: string[]): { controllerArgs: string[]; serveArgs: string[] } {
  const shared = new Set(['kubeconfig', 'log-level', 'ownership-key-secret', 'ownership-key-namespace']);
  const serveOnly = new Set(['policy', 'metrics-host', 'metrics-port']);
  const controllerArgs: string[] = [];
  const serveArgs: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const arg = args[index] as string;
    const match = /^--([^=]+)(=.*)?$/.exec(arg);
    const name = match?.[1];
    if (!match || name === undefined || serveOnly.has(name) || !(controllerFlagNames as readonly string[]).includes(name)) {
      serveArgs.push(arg);
      continue;
    }
    const pair = match[2] === undefined && index + 1 < args.length ? [arg, args[++index] as string] : [arg];
    controllerArgs.push(...pair);
    if (shared.has(name)) serveArgs.push(...pair);
  }
  return { controllerArgs, serveArgs };
}
