// The PVC controller's configuration, shared by `sandbox-storage controller` and `sandbox-storage run`; the flags
// themselves are rows of the option table (options.ts).
import { access } from 'node:fs/promises';
import { checkLeaderTimings } from '../controller/leader-election.ts';
import { parseDuration } from './duration.ts';
import { parseOptions } from './options.ts';
import { logLevelProblems, ownershipKeyProblems } from './shared-flags.ts';
import { UsageError } from './usage-error.ts';

export interface ControllerConfig {
  policyFiles: string[];
  kubeconfig?: string;
  podSelector: string;
  workers: number;
  resyncMs: number;
  metricsHost: string;
  /** SO_REUSEPORT on the metrics listener. */
  reusePort: boolean;
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

/** The values of the controller's rows of the option table (src/commands/options.ts), defaults filled. */
export interface ControllerValues {
  policy?: string[];
  kubeconfig?: string;
  'pod-selector': string;
  workers: string;
  'resync-period': string;
  'metrics-host': string;
  'reuse-port': boolean;
  'metrics-port': string;
  'leader-elect': string;
  'lease-namespace': string;
  'lease-name': string;
  'lease-duration': string;
  'renew-deadline': string;
  'retry-period': string;
  identity: string;
  'preparation-namespace': string;
  'preparation-image': string;
  'ownership-key-secret': string;
  'ownership-key-namespace': string;
  'log-level': string;
}

/** Reads every flag and reports every problem at once, before anything starts. */
export async function parseControllerConfig(args: string[]): Promise<ControllerConfig> {
  const { config, problems } = await controllerConfigFrom(parseOptions('controller', args) as unknown as ControllerValues);
  if (problems.length > 0) throw new UsageError(problems.join('\n'));
  return config;
}

/**
 * The controller's configuration from parsed flags, and every problem with them. In `run` (`withWebhooks`), the
 * webhook side owns the policies and the metrics endpoint: those flags are checked and used there only.
 */
export async function controllerConfigFrom(values: ControllerValues, options: { withWebhooks?: boolean } = {}): Promise<{ config: ControllerConfig; problems: string[] }> {
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
  const metricsPort = options.withWebhooks ? 0 : integer('metrics-port', values['metrics-port'], 0, 65535);
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
  const files: Array<[string, string]> = options.withWebhooks ? [] : (values.policy ?? []).map((file): [string, string] => ['--policy', file]);
  if (values.kubeconfig !== undefined) files.push(['--kubeconfig', values.kubeconfig]);
  for (const [flag, file] of files) {
    if (!(await access(file).then(() => true, () => false))) problems.push(`${flag}: cannot read ${file}`);
  }
  const config: ControllerConfig = {
    policyFiles: options.withWebhooks ? [] : values.policy ?? [],
    ...(values.kubeconfig !== undefined ? { kubeconfig: values.kubeconfig } : {}),
    podSelector: values['pod-selector'],
    workers,
    resyncMs,
    metricsHost: values['metrics-host'],
    reusePort: values['reuse-port'],
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
  return { config, problems };
}
