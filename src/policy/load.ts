// Reads policies from YAML/JSON text (several documents per file) and reports every problem of every document.
import { policySetConflicts } from './policy-conflicts.ts';
import type { Policy } from './types.ts';
import { validatePolicyDocument } from './validate.ts';
import { readTextFile, yamlDocuments } from './yaml-text.ts';

export class PolicyLoadError extends Error {
  override readonly name = 'PolicyLoadError';
}

/** How a document is named in errors: `FILE: document N (SandboxStoragePolicy "NAME")`. */
function documentLabel(source: string, index: number, value: unknown): string {
  const name = (value as { metadata?: { name?: unknown } } | null)?.metadata?.name;
  if (typeof name !== 'string') return `${source}: document ${index}`;
  // JSON quoting: a name with newlines or escape sequences cannot forge another line of the report.
  const shown = name.length > 100 ? `${name.slice(0, 100)}…` : name;
  return `${source}: document ${index} (SandboxStoragePolicy ${JSON.stringify(shown)})`;
}

/** A field path as printed: quoted when it holds control characters (an attacker's unknown key, say). */
function printableField(field: string): string {
  return /[\u0000-\u001f\u007f-\u009f]/.test(field) ? JSON.stringify(field) : field;
}

export function parsePolicies(text: string, source: string): Policy[] {
  const problems: string[] = [];
  const policies: Policy[] = [];
  for (const document of yamlDocuments(text, source)) {
    if (document.problem !== undefined) {
      problems.push(document.problem);
      continue;
    }
    const value = document.value;
    if (value === null || value === undefined) continue; // an empty document between `---` separators
    const result = validatePolicyDocument(value);
    if (result.policy) policies.push(result.policy);
    else {
      const label = documentLabel(source, document.index, value);
      for (const error of result.errors) problems.push(`${label}: ${printableField(error.field)}: ${error.message}`);
    }
  }
  const seen = new Set<string>();
  for (const policy of policies) {
    if (seen.has(policy.name)) problems.push(`${source}: policy name "${policy.name}" is used more than once`);
    seen.add(policy.name);
  }
  for (const conflict of policySetConflicts(policies)) problems.push(`${source}: ${conflict}`);
  if (problems.length > 0) throw new PolicyLoadError(problems.join('\n'));
  if (policies.length === 0) throw new PolicyLoadError(`${source}: no SandboxStoragePolicy found`);
  return policies;
}

export async function loadPolicyFile(path: string): Promise<Policy[]> {
  let text: string;
  try {
    text = await readTextFile(path);
  } catch (error) {
    throw new PolicyLoadError((error as Error).message);
  }
  return parsePolicies(text, path);
}

/** Loads every file, reporting the problems of all of them together (and, when each is valid, their conflicts). */
export async function loadPolicyFilesByFile(files: readonly string[]): Promise<Map<string, Policy[]>> {
  const problems: string[] = [];
  const byFile = new Map<string, Policy[]>();
  for (const file of files) {
    try {
      byFile.set(file, await loadPolicyFile(file));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length === 0) problems.push(...policySetConflicts([...byFile.values()].flat()));
  if (problems.length > 0) throw new PolicyLoadError(problems.join('\n'));
  return byFile;
}

/** The policies of every file, as loadPolicyFilesByFile checks them. */
export async function loadPolicyFiles(files: readonly string[]): Promise<Policy[]> {
  return [...(await loadPolicyFilesByFile(files)).values()].flat();
}
