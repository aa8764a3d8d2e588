// The one table of the commands' flags. It produces each command's parser (node:util parseArgs), its --help and
// docs/cli.md (npm run generate); serve, controller and run are presets that take rows of it, and so are the
// three migrate subcommands. A name may have a row per group of commands, never two rows for one command.
import { randomBytes } from 'node:crypto';
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { defaultOwnershipKeySecret } from '../kube/ownership-key.ts';
import { defaultLabels } from '../labels.ts';

export type Command = 'serve' | 'controller' | 'run' | MigrateCommand;
export type MigrateCommand = 'migrate plan' | 'migrate run' | 'migrate status';
const longRunning: readonly Command[] = ['serve', 'controller', 'run'];
const migrateCommands: readonly MigrateCommand[] = ['migrate plan', 'migrate run', 'migrate status'];

type Section = 'general' | 'ownership' | 'certificates' | 'controller' | 'migrate-source' | 'migrate-target' | 'migrate';

export interface OptionSpec {
  name: string;
  type: 'string' | 'boolean';
  multiple?: boolean;
  /** Placeholder in --help (`FILE`); none for a boolean. */
  value?: string;
  /** A function when the default depends on the environment ($POD_NAMESPACE, the host name). */
  default?: string | boolean | (() => string);
  help: string;
  section: Section;
  commands: readonly Command[];
}

const webhook: readonly Command[] = ['serve', 'run'];
const controller: readonly Command[] = ['controller', 'run'];
const all: readonly Command[] = ['serve', 'controller', 'run'];
const podNamespace = () => process.env.POD_NAMESPACE || 'sandbox-storage-system';
const planOnly: readonly Command[] = ['migrate plan'];
const withPods: readonly Command[] = ['migrate plan', 'migrate run'];
const withPlanFile: readonly Command[] = ['migrate run', 'migrate status'];

export const options: readonly OptionSpec[] = [
  { name: 'tls-cert-file', type: 'string', value: 'FILE', help: 'serving certificate (PEM); reloaded when it changes', section: 'general', commands: webhook },
  { name: 'tls-key-file', type: 'string', value: 'FILE', help: 'its private key (PEM)', section: 'general', commands: webhook },
  {
    name: 'policy', type: 'string', multiple: true, value: 'FILE', section: 'general', commands: all,
    help: 'SandboxStoragePolicy YAML (repeatable; default: the embedded default policy); the webhooks reload it when it changes',
  },
  { name: 'cluster-policies', type: 'boolean', default: false, help: 'use the SandboxStoragePolicy objects of the cluster, kept current by a watch', section: 'general', commands: webhook },
  { name: 'write-policy-status', type: 'boolean', default: false, help: "with --cluster-policies: write each policy's status (Ready/Invalid conditions)", section: 'general', commands: webhook },
  { name: 'host', type: 'string', value: 'ADDRESS', default: '0.0.0.0', help: 'address the webhooks listen on', section: 'general', commands: webhook },
  { name: 'port', type: 'string', value: 'PORT', default: '8443', help: 'port the webhooks listen on (0 picks a free port)', section: 'general', commands: webhook },
  {
    name: 'kubeconfig', type: 'string', value: 'FILE', section: 'general', commands: all,
    help: 'cluster credentials (default: in-cluster, then $KUBECONFIG); the webhooks read namespace and PVC labels and, for exec checks, Pods',
  },
  { name: 'max-body-bytes', type: 'string', value: 'N', default: String(3 * 1024 * 1024), help: 'largest accepted admission request', section: 'general', commands: webhook },
  { name: 'metrics-host', type: 'string', value: 'ADDRESS', default: '0.0.0.0', help: 'address of the plain-HTTP /metrics endpoint', section: 'general', commands: all },
  {
    name: 'metrics-port', type: 'string', value: 'PORT', default: '9090', section: 'general', commands: all,
    help: 'its port (0 picks a free port; serve and run: none turns it off)',
  },
  {
    name: 'reuse-port', type: 'boolean', default: false, section: 'general', commands: all,
    help: 'bind the listeners with SO_REUSEPORT (Linux), so replicas sharing a host network share their ports; the kernel spreads connections over them',
  },
  { name: 'log-level', type: 'string', value: 'LEVEL', default: 'info', help: 'trace, debug, info, warn, error, fatal or silent', section: 'general', commands: all },

  {
    name: 'ownership-key-secret', type: 'string', value: 'NAME', default: defaultOwnershipKeySecret, section: 'ownership', commands: all,
    help: 'the Secret holding the ownership key; read at start (created with 32 random bytes when missing, never overwritten)',
  },
  { name: 'ownership-key-namespace', type: 'string', value: 'NS', default: podNamespace, help: 'its namespace (default: $POD_NAMESPACE, else sandbox-storage-system)', section: 'ownership', commands: all },
  {
    name: 'controller-username', type: 'string', value: 'NAME', section: 'ownership', commands: webhook,
    help: "the controller's username, the only requester that may create PVCs in the governed name space, write ownership labels or lift the storage gate (default: this process's own, system:serviceaccount:NS:SA in a cluster); given to serve, it also says that a controller runs apart",
  },

  { name: 'self-managed-certs', type: 'boolean', default: false, help: 'enable; needs cluster credentials', section: 'certificates', commands: webhook },
  { name: 'cert-secret', type: 'string', value: 'NAME', help: 'the Secret holding CA and serving certificate (required with the above)', section: 'certificates', commands: webhook },
  { name: 'webhook-configuration', type: 'string', multiple: true, value: 'NAME', help: 'mutating/validating webhook configurations to patch (repeatable)', section: 'certificates', commands: webhook },
  { name: 'namespace', type: 'string', value: 'NAMESPACE', help: "the Secret's namespace (default: $POD_NAMESPACE, then the in-cluster namespace)", section: 'certificates', commands: webhook },
  { name: 'service-name', type: 'string', value: 'NAME', default: 'sandbox-storage-webhook', help: 'the webhook Service; the certificate names NAME.NAMESPACE.svc', section: 'certificates', commands: webhook },
  { name: 'cert-extra-san', type: 'string', multiple: true, value: 'NAME|IP', help: 'another name or IP address in the certificate (repeatable)', section: 'certificates', commands: webhook },
  { name: 'ca-validity', type: 'string', value: 'DURATION', default: '1825d', help: 'CA lifetime; renewed with a third left', section: 'certificates', commands: webhook },
  { name: 'cert-validity', type: 'string', value: 'DURATION', default: '90d', help: 'serving certificate lifetime; renewed with a third left', section: 'certificates', commands: webhook },
  { name: 'ca-propagation-delay', type: 'string', value: 'DURATION', default: '2m', help: 'wait between publishing a new CA and serving a certificate from it', section: 'certificates', commands: webhook },
  { name: 'cert-check-interval', type: 'string', value: 'DURATION', default: '1m', help: 'how often the Secret is read and renewal checked', section: 'certificates', commands: webhook },

  { name: 'pod-selector', type: 'string', value: 'SELECTOR', default: `${defaultLabels.inject}=true`, help: 'label selector of the Pods to watch', section: 'controller', commands: controller },
  { name: 'workers', type: 'string', value: 'N', default: '32', help: 'PVC keys reconciled in parallel', section: 'controller', commands: controller },
  { name: 'resync-period', type: 'string', value: 'DURATION', default: '5m', help: 're-check every known PVC this often', section: 'controller', commands: controller },
  { name: 'leader-elect', type: 'string', value: 'BOOL', default: 'true', help: 'elect one active controller among replicas with a Lease', section: 'controller', commands: controller },
  { name: 'lease-namespace', type: 'string', value: 'NS', default: podNamespace, help: 'namespace of the Lease (default: $POD_NAMESPACE, else sandbox-storage-system)', section: 'controller', commands: controller },
  { name: 'lease-name', type: 'string', value: 'NAME', default: 'sandbox-storage-controller', help: 'name of the Lease', section: 'controller', commands: controller },
  { name: 'lease-duration', type: 'string', value: 'DURATION', default: '15s', help: 'how long a lease holds without renewal', section: 'controller', commands: controller },
  { name: 'renew-deadline', type: 'string', value: 'DURATION', default: '10s', help: 'the leader gives up if it cannot renew within this', section: 'controller', commands: controller },
  { name: 'retry-period', type: 'string', value: 'DURATION', default: '2s', help: 'interval between acquire/renew attempts', section: 'controller', commands: controller },
  {
    name: 'identity', type: 'string', value: 'NAME', section: 'controller', commands: controller,
    default: () => `${hostname()}-${randomBytes(3).toString('hex')}`,
    help: "this replica's name in the Lease (default: host name and a random suffix)",
  },
  {
    name: 'preparation-namespace', type: 'string', value: 'NS', default: podNamespace, section: 'controller', commands: controller,
    help: 'namespace of directory-preparation Pods unless a policy names one (default: $POD_NAMESPACE, else sandbox-storage-system)',
  },
  {
    name: 'preparation-image', type: 'string', value: 'IMAGE', default: '', section: 'controller', commands: controller,
    help: 'image of directory-preparation Pods unless a policy names one (the chart: its own image)',
  },
];

const migrateOptions: readonly OptionSpec[] = [
  { name: 'kubeconfig', type: 'string', value: 'FILE', help: 'cluster credentials (default: in-cluster, then $KUBECONFIG)', section: 'migrate', commands: migrateCommands },
  { name: 'namespace', type: 'string', value: 'NS', help: 'the namespace of the data (source and target claims, and the Pods that read and copy)', section: 'migrate-target', commands: planOnly },
  { name: 'to', type: 'string', value: 'POLICY', help: 'the SandboxStoragePolicy of the cluster whose layout the data moves into', section: 'migrate-target', commands: planOnly },
  {
    name: 'target-mount', type: 'string', value: 'PATH', section: 'migrate-target', commands: planOnly,
    help: "which of the target policy's mounts receives the data (default: its first writable one, e.g. /sandbox)",
  },
  { name: 'thread', type: 'string', value: 'ID', help: 'the thread id of every identity, when the target needs one and the source has none', section: 'migrate-target', commands: planOnly },
  { name: 'from-policy', type: 'string', value: 'POLICY', help: "another SandboxStoragePolicy of the cluster: its workspace PVCs or its shared claim's subPaths", section: 'migrate-source', commands: planOnly },
  { name: 'from-mount', type: 'string', value: 'PATH', help: "with --from-policy in shared mode: which mount's subPath holds the data (default: its first writable one)", section: 'migrate-source', commands: planOnly },
  { name: 'from-claim', type: 'string', value: 'PVC', help: 'a claim holding a legacy layout (with --from-path)', section: 'migrate-source', commands: planOnly },
  { name: 'from-claim-pattern', type: 'string', value: 'PATTERN', help: 'claims found by name, one per user: e.g. legacy-user-{user}', section: 'migrate-source', commands: planOnly },
  {
    name: 'from-path', type: 'string', value: 'TEMPLATE', section: 'migrate-source', commands: planOnly,
    help: 'where an identity\'s data is in the claim, raw ids: threads/{thread}/user-data (with --from-claim-pattern a fixed path; default: the root)',
  },
  { name: 'mapping', type: 'string', value: 'FILE', help: 'thread → user for a layout without a user id: CSV (thread,user) or JSON', section: 'migrate-source', commands: planOnly },
  {
    name: 'ownership-key-secret', type: 'string', value: 'NAMESPACE/NAME', default: `sandbox-storage-system/${defaultOwnershipKeySecret}`, section: 'migrate-source', commands: planOnly,
    help: "with a workspace --from-policy: the Secret whose key proves the source PVCs are the controller's",
  },
  { name: 'output', type: 'string', value: 'FILE', help: 'where the plan goes (default: migration-plan.yaml; - for stdout)', section: 'migrate', commands: planOnly },
  { name: 'format', type: 'string', value: 'yaml|json', default: 'yaml', help: 'the plan file format', section: 'migrate', commands: planOnly },
  { name: 'plan', type: 'string', value: 'FILE', help: 'the plan file migrate plan wrote (required)', section: 'migrate', commands: withPlanFile },
  { name: 'image', type: 'string', value: 'IMAGE', default: 'busybox:1.37', help: 'image of the inventory and copy Pods: needs sh, tar, find, stat, sort, awk, sha256sum (busybox has them)', section: 'migrate', commands: withPods },
  { name: 'parallel', type: 'string', value: 'N', default: '2', help: 'identities copied at once', section: 'migrate', commands: ['migrate run'] },
  { name: 'pod-deadline', type: 'string', value: 'DURATION', default: '1h', help: 'a Pod running longer fails (the next run starts it again)', section: 'migrate', commands: withPods },
  { name: 'progress', type: 'string', value: 'auto|bar|json', default: 'auto', help: 'a progress bar on a terminal, one JSON line per identity otherwise', section: 'migrate', commands: ['migrate run'] },
];

export const allOptions: readonly OptionSpec[] = [...options, ...migrateOptions];

const sections: Record<Section, string> = {
  general: 'Options',
  ownership:
    'Ownership of PVCs: the controller proves each PVC it creates with an HMAC under a key kept in a Secret; the webhooks mount only proven PVCs and refuse PVCs and ephemeral volumes that would plant governed storage',
  certificates:
    'Self-managed certificates (no cert-manager needed): a CA and serving certificate kept in a Secret, renewed before expiry, the CA bundle patched into the webhook configurations; the --tls files are written from it. Only the leader writes',
  controller: 'Controller: creates the PVCs admitted sandbox Pods need and removes their scheduling gate; only the Lease holder reconciles',
  'migrate-source': 'Source (exactly one of --from-policy, --from-claim, --from-claim-pattern)',
  'migrate-target': 'Target',
  migrate: 'Options',
};

export function optionsOf(command: Command): OptionSpec[] {
  return allOptions.filter((option) => option.commands.includes(command));
}

export type OptionValues = Record<string, string | boolean | string[] | undefined>;

/** Parses `args` with the command's rows; defaults filled, unknown flags refused by parseArgs. */
export function parseOptions(command: Command, args: string[]): OptionValues {
  const table: Record<string, { type: 'string' | 'boolean'; multiple?: boolean; default?: string | boolean }> = {};
  for (const option of optionsOf(command)) {
    const fallback = typeof option.default === 'function' ? option.default() : option.default;
    table[option.name] = { type: option.type, ...(option.multiple ? { multiple: true } : {}), ...(fallback !== undefined ? { default: fallback } : {}) };
  }
  return parseArgs({ args, options: table, strict: true, allowPositionals: false }).values as OptionValues;
}

function shownDefault(option: OptionSpec): string | undefined {
  if (typeof option.default !== 'string' || option.default === '' || /\(default/.test(option.help)) return undefined;
  return option.default;
}

function describe(option: OptionSpec): { flag: string; text: string } {
  const flag = `--${option.name}${option.value ? ` ${option.value}` : ''}`;
  const fallback = shownDefault(option);
  return { flag, text: fallback === undefined ? option.help : `${option.help} (default ${fallback})` };
}

function wrap(text: string, width: number): string[] {
  const lines: string[] = [];
  let line = '';
  for (const word of text.split(' ')) {
    if (line !== '' && line.length + 1 + word.length > width) {
      lines.push(line);
      line = word;
    } else line = line === '' ? word : `${line} ${word}`;
  }
  if (line !== '') lines.push(line);
  return lines;
}

const lineWidth = 116;

/** The option part of a command's --help, section by section. */
export function optionsUsage(command: Command): string {
  const rows = optionsOf(command);
  const out: string[] = [];
  for (const section of Object.keys(sections) as Section[]) {
    const described = rows.filter((row) => row.section === section).map(describe);
    if (described.length === 0) continue;
    const column = Math.min(Math.max(...described.map((row) => row.flag.length)) + 2, 34);
    out.push('', ...wrap(`${sections[section]}:`, lineWidth));
    for (const { flag, text } of described) {
      const [first = '', ...rest] = wrap(text, lineWidth - column - 2);
      out.push(flag.length + 2 <= column ? `  ${flag.padEnd(column)}${first}` : `  ${flag}\n  ${' '.repeat(column)}${first}`);
      for (const line of rest) out.push(`  ${' '.repeat(column)}${line}`);
    }
  }
  out.push('', 'Durations: 500ms, 15s, 5m, 1h, 90d, or a number of seconds.');
  return `${out.join('\n')}\n`;
}

/** docs/cli.md: the same table, as Markdown. */
export function cliReference(commands: ReadonlyArray<{ command: Command; usage: string; summary: string }>): string {
  const out = [
    '# Command line reference',
    '',
    'Generated from the option table in `src/commands/options.ts` by `npm run generate`; a test fails when it is stale.',
    'Durations: 500ms, 15s, 5m, 1h, 90d, or a number of seconds.',
    '',
    '| Flag | serve | controller | run | What it does |',
    '|---|:-:|:-:|:-:|---|',
  ];
  const row = (option: OptionSpec, columns: readonly Command[]) => {
    const { flag, text } = describe(option);
    const marks = columns.map((command) => (option.commands.includes(command) ? '✓' : ''));
    return `| \`${flag.replaceAll('|', '\\|')}\` | ${marks.join(' | ')} | ${text.replaceAll('|', '\\|')} |`;
  };
  for (const option of options) out.push(row(option, longRunning));
  out.push('', '`sandbox-storage migrate` ([migrate.md](migrate.md)):', '', '| Flag | plan | run | status | What it does |', '|---|:-:|:-:|:-:|---|');
  for (const option of migrateOptions) out.push(row(option, migrateCommands));
  for (const { command, usage, summary } of commands) {
    out.push('', `## sandbox-storage ${command}`, '', summary, '', '```text', usage.trimEnd(), '```');
  }
  return `${out.join('\n')}\n`;
}
