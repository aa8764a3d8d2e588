// `sandbox-storage migrate plan|run|status`: moves existing users' data into a policy's layout on purpose. plan
// reads the cluster (PVCs, policies, read-only inventory Pods) and writes a plan file; run copies it item by item
// with Pods, verified and recorded, resumable; status reads the records. The source is never written.
import { seedHomeDirectory } from '../admission/seed-container.ts';
import { readFile, writeFile } from 'node:fs/promises';
import { randomBytes } from 'node:crypto';
import type * as k8s from '@kubernetes/client-node';
import { apiErrorMessage } from '../kube/api-errors.ts';
import { listClusterPolicies } from '../kube/cluster-policies.ts';
import { loadKubeConfig } from '../kube/kube-config.ts';
import { migrationPodClient, type MigrationPodClient, type PodMount } from '../kube/migration-pods.ts';
import { listActivePods, listClaims } from '../kube/migration-reads.ts';
import { migrationHoldWriter } from '../kube/migration-hold.ts';
import { migrationRecordStore } from '../kube/migration-records.ts';
import { readOwnershipKey } from '../kube/ownership-key.ts';
import { podsInTheWay } from '../migrate/busy.ts';
import { distinctIdentities, heldIdentities } from '../migrate/hold.ts';
import { templateDepth } from '../migrate/layout-template.ts';
import { parseMapping } from '../migrate/mapping.ts';
import { formatPlan, parsePlan, planApiVersion, planKind, type MigrationPlan } from '../migrate/plan-file.ts';
import { applyTargetStates, planId, planItems, sourceClaims, targetStateKey, targetsToInspect, type PlanItem, type SourceEntry, type TargetState } from '../migrate/plan.ts';
import { recheckPlan } from '../migrate/recheck.ts';
import { itemAction, parseRecord, summarize, transition, type RunRecord } from '../migrate/records.ts';
import { copyEnvironment, copyScript, inventoryScript, migrationRecordName, parseCopyResult, parseInventory, type CopyResult } from '../migrate/scripts.ts';
import { fixedThreadErrors, parseSource, resolveSource, type SourceFlags } from '../migrate/source.ts';
import { targetMounts } from '../migrate/target.ts';
import { formatMigrationHold, migrationHoldKey, parseMigrationHolds } from '../policy/migration-hold.ts';
import type { Policy } from '../policy/types.ts';
import { parseDuration } from './duration.ts';
import { optionsUsage, parseOptions, type OptionValues } from './options.ts';
import { formatTable } from './policies.ts';
import { UsageError } from './usage-error.ts';

export const migratePlanSummary = `Reads the cluster (read-only: PVCs, policies, and inventory Pods that mount the claims read-only) and writes a plan:
per identity its source claim and path, its target claim and path under the target policy (as the webhook computes
it), size and entry count, and every conflict. Changes nothing. Exit status: 0 no conflicts, 1 conflicts, 2 bad usage.`;
export const migrateRunSummary = `Copies each planned identity with a Pod in the data's namespace, verifies it (entry count and content hashes of
both sides) and records it; a rerun skips what is done and redoes what is not. Holds the identities to copy on the
target policy (their new sandbox Pods wait behind the scheduling gate until each is done; a killed run leaves the hold,
a rerun releases it) and refuses to start while a sandbox Pod of one runs. Never writes to the source. Exit status:
0 every item done, 1 some not, 2 bad usage.`;
export const migrateStatusSummary = 'Shows each planned identity\'s record: done, failed, copying (interrupted) or pending, and the conflicts. Exit status: 0 all done, 1 not.';

export const migratePlanUsage = `Usage: sandbox-storage migrate plan --namespace NS --to POLICY SOURCE [options]

${migratePlanSummary}
${optionsUsage('migrate plan')}`;
export const migrateRunUsage = `Usage: sandbox-storage migrate run --plan FILE [options]

${migrateRunSummary}
${optionsUsage('migrate run')}`;
export const migrateStatusUsage = `Usage: sandbox-storage migrate status --plan FILE [options]

${migrateStatusSummary}
${optionsUsage('migrate status')}`;
export const migrateUsage = `Usage: sandbox-storage migrate plan|run|status [options]

  plan     read the cluster and write a migration plan (changes nothing)
  run      copy what a plan says, verified and recorded; rerun to continue
  status   show the records of a plan's run

Run 'sandbox-storage migrate <subcommand> --help' for its options; docs/migrate.md has worked examples.
`;

const sourceMountPath = '/migrate/source';
const targetMountPath = '/migrate/target';

export interface MigrateIo {
  out(text: string): void;
  err(text: string): void;
  /** Whether stderr is a terminal (the progress bar). */
  tty: boolean;
}

async function mapLimit<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index] as T);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}

function string(values: OptionValues, name: string): string | undefined {
  const value = values[name];
  return typeof value === 'string' ? value : undefined;
}

async function targetPolicy(config: k8s.KubeConfig, name: string, flag: string): Promise<{ target: Policy; all: Map<string, Policy> }> {
  let installed;
  try {
    installed = await listClusterPolicies(config);
  } catch (error) {
    throw new UsageError(`cannot read the cluster's policies: ${(error as Error).message}`);
  }
  const entry = installed.find((candidate) => candidate.name === name);
  if (!entry) throw new UsageError(`${flag}: policy ${JSON.stringify(name)} not found in the cluster`);
  if (!entry.policy) throw new UsageError(`${flag}: policy ${name} is invalid:\n${entry.error}`);
  return { target: entry.policy, all: new Map(installed.flatMap((candidate) => (candidate.policy ? [[candidate.name, candidate.policy] as const] : []))) };
}

function deadlineSeconds(values: OptionValues): number {
  const ms = parseDuration(string(values, 'pod-deadline') ?? '');
  if (!ms || ms < 1000) throw new UsageError(`--pod-deadline: Invalid value: ${JSON.stringify(values['pod-deadline'])}: a duration of at least 1s`);
  return Math.ceil(ms / 1000);
}

function jobName(kind: 'inventory' | 'copy', first: string, second: string): string {
  return `sandbox-storage-${kind}-${first.slice(0, 10)}-${second.slice(0, 10)}`;
}

/** One read-only inventory Pod on `claim`; its listing, or an error saying why there is none. */
async function inventory(jobsClient: MigrationPodClient, job: { namespace: string; image: string; deadline: number; claim: string; env: Record<string, string> }) {
  const suffix = randomBytes(5).toString('hex');
  const outcome = await jobsClient.run({
    namespace: job.namespace,
    name: `sandbox-storage-inventory-${suffix}`,
    planId: 'inventory',
    image: job.image,
    script: inventoryScript,
    env: { INVENTORY_ROOT: sourceMountPath, INVENTORY_RECORD: migrationRecordName, ...job.env },
    mounts: [{ claim: job.claim, mountPath: sourceMountPath, readOnly: true }],
    deadlineSeconds: job.deadline,
  });
  const listing = parseInventory(outcome.log, job.claim);
  if (!outcome.succeeded || !listing.complete) {
    throw new Error(`the inventory Pod of claim ${job.claim} did not finish${outcome.reason ? ` (${outcome.reason})` : ''}: ${outcome.log.split('\n').slice(-3).join(' ')}`);
  }
  return listing;
}

export function formatItems(items: readonly PlanItem[], state: (item: PlanItem) => string): string {
  const rows = [
    ['USER', 'THREAD', 'SOURCE', 'TARGET', 'ENTRIES', 'KIB', 'STATE'],
    ...items.map((item) => [
      item.user ?? '-',
      item.thread ?? '-',
      `${item.source.claim}:${item.source.path || '/'}`,
      item.target ? `${item.target.claim}:${item.target.path || '/'}` : '-',
      String(item.files),
      String(item.kib),
      state(item),
    ]),
  ];
  // Ids and paths may hold anything a label or a file name can; the table shows them, control characters escaped.
  return `${formatTable(rows.map((row) => row.map((cell) => cell.replace(/[\u0000-\u001f\u007f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`))))}\n`;
}

async function runPlan(values: OptionValues, io: MigrateIo): Promise<number> {
  const errors: string[] = [];
  const { source, errors: sourceErrors } = parseSource(values as SourceFlags);
  errors.push(...sourceErrors);
  const namespace = string(values, 'namespace');
  const to = string(values, 'to');
  if (!namespace) errors.push('--namespace: Required value: the namespace of the data');
  if (!to) errors.push('--to: Required value: the target SandboxStoragePolicy');
  const thread = string(values, 'thread');
  errors.push(...fixedThreadErrors(thread));
  const format = string(values, 'format');
  if (format !== 'yaml' && format !== 'json') errors.push(`--format: Unsupported value: ${JSON.stringify(format)}: supported values: "yaml", "json"`);
  const mappingFile = string(values, 'mapping');
  if (mappingFile !== undefined && source?.kind === 'policy') errors.push('--mapping: a policy source has its user ids');
  let mapping: Map<string, string> | undefined;
  if (mappingFile !== undefined) {
    let text = '';
    try {
      text = await readFile(mappingFile, 'utf8');
    } catch (error) {
      errors.push(`--mapping: cannot read ${mappingFile}: ${(error as Error).message}`);
    }
    const parsed = parseMapping(text, mappingFile);
    errors.push(...parsed.errors);
    mapping = parsed.users;
  }
  const [secretNamespace = '', secretName = '', ...extra] = (string(values, 'ownership-key-secret') ?? '').split('/');
  if (secretNamespace === '' || secretName === '' || extra.length > 0) errors.push(`--ownership-key-secret: Invalid value: ${JSON.stringify(values['ownership-key-secret'])}: NAMESPACE/NAME`);
  const deadline = deadlineSeconds(values);
  if (errors.length > 0 || !source || !namespace || !to) throw new UsageError(errors.join('\n'));

  const config = loadKubeConfig(string(values, 'kubeconfig'));
  const { target, all } = await targetPolicy(config, to, '--to');
  const mounts = targetMounts(target);
  const targetMount = string(values, 'target-mount') ?? mounts.primary;
  if (!mounts.all.includes(targetMount)) throw new UsageError(`--target-mount: Invalid value: ${JSON.stringify(targetMount)}: policy ${target.name} mounts ${mounts.all.join(', ')}`);
  const { resolved, errors: resolveErrors } = resolveSource(source, source.kind === 'policy' ? all.get(source.policy) : undefined);
  if (!resolved) throw new UsageError(resolveErrors.join('\n'));

  const image = string(values, 'image') ?? '';
  const jobsClient = migrationPodClient(config);
  const claims = await listClaims(config, namespace);
  let ownershipKey: Uint8Array | undefined;
  if ('workspacePolicy' in resolved.claims) {
    try {
      ownershipKey = (await readOwnershipKey(config, { namespace: secretNamespace, name: secretName })).key;
    } catch (error) {
      io.err(`warning: cannot read the ownership key (${apiErrorMessage(error)}): no source PVC can be proven\n`);
    }
  }
  const sources = sourceClaims(resolved, claims, namespace, ownershipKey);
  const missing = sources.filter((found) => !claims.some((claim) => claim.name === found.claim));
  if (missing.length > 0) throw new UsageError(missing.flatMap((found) => found.problems).join('\n'));
  const depth = templateDepth(resolved.path);
  const listings = await mapLimit(sources, 2, (found) => inventory(jobsClient, { namespace, image, deadline, claim: found.claim, env: { INVENTORY_MODE: 'source', INVENTORY_DEPTH: String(depth), ...('workspacePolicy' in resolved.claims ? { INVENTORY_HOME: seedHomeDirectory } : {}) } }));
  const entries: SourceEntry[] = listings.flatMap((listing) => listing.entries);
  const items = planItems(entries, sources, resolved, { namespace, target, targetMount, ...(mapping ? { mapping } : {}), ...(thread !== undefined ? { thread } : {}) });
  const id = planId(namespace, target.name, items);

  const states = new Map<string, TargetState>();
  for (const [claim, paths] of targetsToInspect(items)) {
    if (!claims.some((candidate) => candidate.name === claim)) {
      for (const path of paths) states.set(targetStateKey(claim, path), { state: 'claimMissing' });
      continue;
    }
    const listing = await inventory(jobsClient, { namespace, image, deadline, claim, env: { INVENTORY_MODE: 'target', INVENTORY_PATHS: paths.map((path) => path || '.').join('\n') } });
    for (const [path, state] of listing.targets) states.set(targetStateKey(claim, path), state);
  }
  applyTargetStates(items, states, id);

  const plan: MigrationPlan = {
    apiVersion: planApiVersion,
    kind: planKind,
    metadata: { id, createdAt: new Date().toISOString() },
    spec: { namespace, source, target: { policy: target.name, mount: targetMount }, ...(thread !== undefined ? { thread } : {}) },
    items,
  };
  const output = string(values, 'output') ?? 'migration-plan.yaml';
  const text = formatPlan(plan, format as 'yaml' | 'json');
  if (output === '-') io.out(text);
  else await writeFile(output, text);
  const conflicts = items.filter((item) => item.conflicts.length > 0);
  const table = formatItems(items, (item) => (item.done ? 'done' : item.conflicts.length > 0 ? `conflict: ${item.conflicts.join('; ')}` : 'to copy'));
  (output === '-' ? io.err : io.out)(
    `${table}plan ${id}: ${items.length} identities, ${items.filter((item) => item.done).length} done, ${conflicts.length} with conflicts${output === '-' ? '' : `; written to ${output}`}\n`,
  );
  return conflicts.length > 0 ? 1 : 0;
}

async function readPlanFile(values: OptionValues): Promise<MigrationPlan> {
  const file = string(values, 'plan');
  if (!file) throw new UsageError('--plan: Required value: the plan file migrate plan wrote');
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (error) {
    throw new UsageError(`--plan: cannot read ${file}: ${(error as Error).message}`);
  }
  const { plan, errors } = parsePlan(text, file);
  if (!plan) throw new UsageError(errors.join('\n'));
  return plan;
}

interface ItemOutcome {
  item: PlanItem;
  result: 'copied' | 'done' | 'skipped' | 'conflict' | 'failed';
  entries?: number;
  sha256?: string;
  message?: string;
  /** How long its Pod took, from create to end. */
  ms?: number;
}

function progressReporter(io: MigrateIo, mode: string, total: number): { report(outcome: ItemOutcome): void; end(): void } {
  const bar = mode === 'bar' || (mode === 'auto' && io.tty);
  let finished = 0;
  const counts = { copied: 0, done: 0, skipped: 0, conflict: 0, failed: 0 };
  return {
    report(outcome) {
      finished++;
      counts[outcome.result]++;
      if (!bar) {
        const line: Record<string, unknown> = { key: outcome.item.key, user: outcome.item.user ?? null, thread: outcome.item.thread ?? null, result: outcome.result };
        for (const field of ['entries', 'sha256', 'ms', 'message'] as const) if (outcome[field] !== undefined) line[field] = outcome[field];
        io.out(`${JSON.stringify(line)}\n`);
        return;
      }
      const width = 30;
      const filled = total === 0 ? width : Math.round((finished / total) * width);
      io.err(`\r[${'#'.repeat(filled)}${'.'.repeat(width - filled)}] ${finished}/${total}  copied ${counts.copied + counts.done}  skipped ${counts.skipped}  conflicts ${counts.conflict}  failed ${counts.failed}`);
    },
    end() {
      if (bar) io.err('\n');
    },
  };
}

async function runRun(values: OptionValues, io: MigrateIo): Promise<number> {
  const plan = await readPlanFile(values);
  const parallel = Number(string(values, 'parallel'));
  if (!Number.isInteger(parallel) || parallel < 1) throw new UsageError(`--parallel: Invalid value: ${JSON.stringify(values.parallel)}: a whole number ≥ 1`);
  const progress = string(values, 'progress') ?? 'auto';
  if (!['auto', 'bar', 'json'].includes(progress)) throw new UsageError(`--progress: Unsupported value: ${JSON.stringify(progress)}: supported values: "auto", "bar", "json"`);
  const deadline = deadlineSeconds(values);
  const image = string(values, 'image') ?? '';
  const { namespace } = plan.spec;
  const config = loadKubeConfig(string(values, 'kubeconfig'));
  const { target, all } = await targetPolicy(config, plan.spec.target.policy, 'spec.target.policy');
  const sourcePolicy = plan.spec.source.kind === 'policy' ? all.get(plan.spec.source.policy) : undefined;
  if (plan.spec.source.kind === 'policy' && !sourcePolicy) throw new UsageError(`spec.source.policy: policy ${JSON.stringify(plan.spec.source.policy)} not found in the cluster`);
  const problems = recheckPlan(plan, target, sourcePolicy);
  if (problems.length > 0) throw new UsageError(`the plan does not match policy ${target.name} now; plan again:\n${problems.join('\n')}`);

  const store = migrationRecordStore(config, namespace, plan.metadata.id);
  const records = new Map([...(await store.read())].flatMap(([key, value]) => {
    const record = parseRecord(value);
    return record ? [[key, record] as const] : [];
  }));
  const toCopy = plan.items.filter((item) => itemAction(item, records.get(item.key)) === 'copy');
  // The hold comes first, so that no sandbox Pod of an identity to copy can start between the check and its copy.
  // Each identity is let go once its item has ended; a run killed midway leaves the rest held (a rerun ends it).
  const hold = migrationHoldWriter(config, target.name, plan.metadata.id);
  const held = heldIdentities(toCopy, target);
  let holdWrites: Promise<void> = Promise.resolve();
  const writeHold = () => {
    const identities = distinctIdentities(held.values());
    const value = identities.length > 0 ? formatMigrationHold(namespace, identities) : undefined;
    holdWrites = holdWrites.then(() => hold.set(value));
    return holdWrites;
  };
  const release = (item: PlanItem) => (held.delete(item.key) ? writeHold() : Promise.resolve());
  try {
    await writeHold();
  } catch (error) {
    throw new Error(`cannot hold the identities to copy on policy ${target.name} (annotation ${migrationHoldKey(plan.metadata.id)}): ${apiErrorMessage(error)}`, { cause: error });
  }
  const inTheWay = podsInTheWay(toCopy, await listActivePods(config, namespace), target);
  if (inTheWay.size > 0) {
    held.clear();
    await writeHold();
    const lines = toCopy.filter((item) => inTheWay.has(item.key)).map((item) => `  ${item.user}${item.thread !== undefined ? `/${item.thread}` : ''}: ${inTheWay.get(item.key)?.join(', ')}`);
    io.err(`refusing to start: Pods use the data of identities to copy (stop them; their new Pods must wait until the run is done):\n${lines.join('\n')}\n`);
    return 1;
  }
  const existing = new Set((await listClaims(config, namespace)).map((claim) => claim.name));

  const reporter = progressReporter(io, progress, plan.items.length);
  const outcomes: ItemOutcome[] = [];
  const report = (outcome: ItemOutcome) => {
    outcomes.push(outcome);
    reporter.report(outcome);
  };
  for (const item of plan.items) {
    const action = itemAction(item, records.get(item.key));
    if (action === 'conflict') report({ item, result: 'conflict', message: item.conflicts.join('; ') });
    else if (action === 'skip') report({ item, result: 'skipped', ...(records.get(item.key)?.files !== undefined ? { entries: records.get(item.key)?.files as number } : {}) });
  }
  const jobsClient = migrationPodClient(config);
  const setRecord = async (item: PlanItem, next: RunRecord) => {
    const record = transition(records.get(item.key), next);
    records.set(item.key, record);
    await store.write(item.key, JSON.stringify(record));
  };
  await mapLimit(toCopy, parallel, async (item) => {
    await copyItem(item);
    await release(item);
  });
  await holdWrites;
  reporter.end();
  const summary = summarize(plan.items, records);
  io.err(`plan ${plan.metadata.id}: ${summary.done} of ${summary.total} done, ${summary.failed} failed, ${summary.conflicts} with conflicts\n`);
  return summary.done === summary.total ? 0 : 1;

  async function copyItem(item: PlanItem): Promise<void> {
    const itemTarget = item.target!;
    if (!existing.has(item.source.claim) || !existing.has(itemTarget.claim)) {
      report({ item, result: 'failed', message: `claim ${existing.has(item.source.claim) ? itemTarget.claim : item.source.claim} does not exist` });
      return;
    }
    await setRecord(item, { state: 'copying', at: new Date().toISOString() });
    const sameClaim = item.source.claim === itemTarget.claim;
    // One claim is mounted once (read-write, for the target); two are mounted with the source read-only.
    const mounts: PodMount[] = sameClaim
      ? [{ claim: itemTarget.claim, mountPath: targetMountPath, readOnly: false }]
      : [{ claim: item.source.claim, mountPath: sourceMountPath, readOnly: true }, { claim: itemTarget.claim, mountPath: targetMountPath, readOnly: false }];
    let result: CopyResult | undefined;
    let why = '';
    const started = Date.now();
    try {
      const outcome = await jobsClient.run({
        namespace,
        name: jobName('copy', plan.metadata.id, item.key),
        planId: plan.metadata.id,
        image,
        script: copyScript,
        env: {
          [copyEnvironment.sourceRoot]: sameClaim ? targetMountPath : sourceMountPath,
          [copyEnvironment.sourcePath]: item.source.path,
          [copyEnvironment.targetRoot]: targetMountPath,
          [copyEnvironment.targetPath]: itemTarget.path,
          [copyEnvironment.plan]: plan.metadata.id,
          [copyEnvironment.key]: item.key,
          [copyEnvironment.record]: migrationRecordName,
        },
        mounts,
        deadlineSeconds: deadline,
      });
      result = parseCopyResult(outcome.message);
      why = outcome.reason ?? outcome.log.split('\n').filter((line) => line.startsWith('sandbox-storage migrate:')).slice(-1).join('');
    } catch (error) {
      why = apiErrorMessage(error);
    }
    if (result && result.result !== 'failed') {
      await setRecord(item, { state: 'done', at: new Date().toISOString(), files: result.entries, hash: result.sha256 });
      report({ item, result: result.result === 'copied' ? 'copied' : 'done', entries: result.entries, sha256: result.sha256, ms: Date.now() - started });
    } else {
      const message = result?.result === 'failed' ? result.message : `the copy Pod ended without a result${why ? `: ${why}` : ''}`;
      await setRecord(item, { state: 'failed', at: new Date().toISOString(), error: message });
      report({ item, result: 'failed', message, ms: Date.now() - started });
    }
  }
}

async function runStatus(values: OptionValues, io: MigrateIo): Promise<number> {
  const plan = await readPlanFile(values);
  const config = loadKubeConfig(string(values, 'kubeconfig'));
  const raw = await migrationRecordStore(config, plan.spec.namespace, plan.metadata.id).read();
  const records = new Map([...raw].flatMap(([key, value]) => {
    const record = parseRecord(value);
    return record ? [[key, record] as const] : [];
  }));
  io.out(
    formatItems(plan.items, (item) => {
      const record = records.get(item.key);
      if (itemAction(item, record) === 'conflict') return `conflict: ${item.conflicts.join('; ')}`;
      if (!record) return 'pending';
      return record.state === 'failed' ? `failed: ${record.error ?? ''}` : record.state === 'copying' ? 'copying (interrupted or running)' : 'done';
    }),
  );
  const summary = summarize(plan.items, records);
  io.out(`plan ${plan.metadata.id}: ${summary.done} of ${summary.total} done, ${summary.failed} failed, ${summary.copying} copying, ${summary.pending} pending, ${summary.conflicts} with conflicts\n`);
  const policy = plan.spec.target.policy;
  const key = migrationHoldKey(plan.metadata.id);
  try {
    const value = await migrationHoldWriter(config, policy, plan.metadata.id).read();
    const [hold] = value === undefined ? [] : parseMigrationHolds({ [key]: value });
    if (hold) {
      const what = hold.all ? 'every identity of the namespace' : `${hold.identities.length} identities`;
      io.out(`hold: ${what} still held on policy ${policy} (their new sandbox Pods stay gated); rerun migrate run to finish, or release them: kubectl annotate sandboxstoragepolicy ${policy} ${key}-\n`);
    }
  } catch (error) {
    io.err(`warning: cannot read the hold on policy ${policy}: ${apiErrorMessage(error)}\n`);
  }
  return summary.done === summary.total ? 0 : 1;
}

export async function runMigrate(args: string[], io: MigrateIo): Promise<number> {
  const [subcommand, ...rest] = args;
  const wantsHelp = rest.includes('--help') || rest.includes('-h');
  switch (subcommand) {
    case 'plan':
      if (wantsHelp) return (io.out(migratePlanUsage), 0);
      return runPlan(parseOptions('migrate plan', rest), io);
    case 'run':
      if (wantsHelp) return (io.out(migrateRunUsage), 0);
      return runRun(parseOptions('migrate run', rest), io);
    case 'status':
      if (wantsHelp) return (io.out(migrateStatusUsage), 0);
      return runStatus(parseOptions('migrate status', rest), io);
    case undefined:
    case '--help':
    case '-h':
      io.out(migrateUsage);
      return subcommand === undefined ? 2 : 0;
    default:
      throw new UsageError(`unknown migrate subcommand ${JSON.stringify(subcommand)}\n\n${migrateUsage}`);
  }
}
