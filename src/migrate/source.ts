// What a migration reads from: another SandboxStoragePolicy, a legacy layout over one claim, or claims found by a
// name pattern. Parsed from the command's flags with every error at once, each naming its flag.
import { seedHomeDirectory } from '../admission/seed-container.ts';
import { labelValueError } from '../naming/kubernetes-names.ts';
import type { Policy } from '../policy/types.ts';
import { layoutTemplate, layoutTemplateErrors, matchLayout, templateVariables, type LayoutIds, type LayoutTemplate } from './layout-template.ts';

export type MigrationSource =
  | { kind: 'policy'; policy: string; mount?: string }
  | { kind: 'template'; claim: string; path: string }
  | { kind: 'claimPattern'; pattern: string; path: string };

export interface SourceFlags {
  'from-policy'?: string;
  'from-mount'?: string;
  'from-claim'?: string;
  'from-claim-pattern'?: string;
  'from-path'?: string;
}

export function parseSource(flags: SourceFlags): { source?: MigrationSource; errors: string[] } {
  const errors: string[] = [];
  const given = (['from-policy', 'from-claim', 'from-claim-pattern'] as const).filter((flag) => flags[flag] !== undefined);
  if (given.length !== 1) {
    errors.push(`--from-policy, --from-claim, --from-claim-pattern: exactly one is required (got ${given.length === 0 ? 'none' : given.map((flag) => `--${flag}`).join(', ')})`);
    return { errors };
  }
  const path = flags['from-path'] ?? '';
  if (flags['from-policy'] !== undefined) {
    if (flags['from-path'] !== undefined) errors.push('--from-path: not with --from-policy (the policy says where its data is)');
    if (flags['from-policy'] === '') errors.push('--from-policy: Required value: a policy name');
    const source: MigrationSource = { kind: 'policy', policy: flags['from-policy'] };
    if (flags['from-mount'] !== undefined) source.mount = flags['from-mount'];
    return errors.length > 0 ? { errors } : { source, errors };
  }
  if (flags['from-mount'] !== undefined) errors.push('--from-mount: only with --from-policy');
  if (flags['from-claim'] !== undefined) {
    if (flags['from-claim'] === '') errors.push('--from-claim: Required value: a PVC name');
    errors.push(...layoutTemplateErrors('--from-path', path, { allowRoot: false }));
    const variables = layoutTemplate(path, 'raw').parsed.variables;
    if (errors.length === 0 && !variables.has('user') && !variables.has('thread')) errors.push(`--from-path: Invalid value: ${JSON.stringify(path)}: needs {user} or {thread}`);
    return errors.length > 0 ? { errors } : { source: { kind: 'template', claim: flags['from-claim'], path }, errors };
  }
  const pattern = flags['from-claim-pattern'] ?? '';
  errors.push(...layoutTemplateErrors('--from-claim-pattern', pattern, { allowRoot: false, singleSegment: true }));
  if (errors.length === 0 && !layoutTemplate(pattern, 'raw').parsed.variables.has('user')) errors.push(`--from-claim-pattern: Invalid value: ${JSON.stringify(pattern)}: needs {user}`);
  errors.push(...layoutTemplateErrors('--from-path', path, { allowRoot: true }));
  if (path.includes('{')) errors.push(`--from-path: Invalid value: ${JSON.stringify(path)}: with --from-claim-pattern the path inside each claim is fixed (no placeholders)`);
  return errors.length > 0 ? { errors } : { source: { kind: 'claimPattern', pattern, path }, errors };
}

/** Where the source's data is, once a source policy is read: which claims, and which path template inside them. */
export interface ResolvedSource {
  claims: { fixed: string } | { pattern: LayoutTemplate } | { workspacePolicy: Policy };
  path: LayoutTemplate;
}

/** The source as claims and a path template; a policy source needs its policy (an error names the flag). */
export function resolveSource(source: MigrationSource, sourcePolicy?: Policy): { resolved?: ResolvedSource; errors: string[] } {
  if (source.kind === 'template') return { resolved: { claims: { fixed: source.claim }, path: layoutTemplate(source.path, 'raw') }, errors: [] };
  if (source.kind === 'claimPattern') {
    return { resolved: { claims: { pattern: layoutTemplate(source.pattern, 'raw') }, path: layoutTemplate(source.path, 'raw') }, errors: [] };
  }
  if (!sourcePolicy) return { errors: [`--from-policy: policy ${JSON.stringify(source.policy)} not found`] };
  const { spec } = sourcePolicy;
  if (spec.mode === 'workspace') {
    if (source.mount !== undefined) return { errors: ['--from-mount: a workspace policy has one mount; leave it out'] };
    return { resolved: { claims: { workspacePolicy: sourcePolicy }, path: layoutTemplate('', 'encoded') }, errors: [] };
  }
  const mounts = spec.shared.mounts;
  const mount = source.mount === undefined ? mounts.find((candidate) => !candidate.readOnly) ?? mounts[0] : mounts.find((candidate) => candidate.mountPath === source.mount);
  if (!mount) {
    return { errors: [`--from-mount: Invalid value: ${JSON.stringify(source.mount)}: policy ${sourcePolicy.name} mounts ${mounts.map((candidate) => candidate.mountPath).join(', ')}`] };
  }
  return { resolved: { claims: { fixed: spec.shared.claimName }, path: layoutTemplate(mount.subPath, 'encoded') }, errors: [] };
}

/** Which ids the source layout itself carries (claim name and path together). */
export function sourceVariables(resolved: ResolvedSource): Set<'user' | 'thread'> {
  const variables = new Set(templateVariables(resolved.path));
  if ('pattern' in resolved.claims) for (const variable of templateVariables(resolved.claims.pattern)) variables.add(variable);
  if ('workspacePolicy' in resolved.claims) {
    variables.add('user');
    if (resolved.claims.workspacePolicy.spec.workspace.scope === 'thread') variables.add('thread');
  }
  return variables;
}

/** A `--thread` id given for every identity: must be a label value like any thread id. */
export function fixedThreadErrors(thread: string | undefined): string[] {
  if (thread === undefined) return [];
  const problem = thread === '' ? 'must not be empty' : labelValueError(thread);
  return problem ? [`--thread: Invalid value: ${JSON.stringify(thread)}: ${problem}`] : [];
}

/**
 * The ids a source directory's path gives, or undefined when it is not in the layout. A workspace's home directory
 * (what its Pods mount at the seed path) stands for the workspace itself.
 */
export function sourcePathIds(resolved: ResolvedSource, path: string): LayoutIds | undefined {
  if ('workspacePolicy' in resolved.claims && path === seedHomeDirectory) return {};
  return matchLayout(resolved.path, path);
}
