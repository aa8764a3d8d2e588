// Reads policies from YAML/JSON text (several documents per file) and reports every problem of every document.
import { readFile } from 'node:fs/promises';
import { parseAllDocuments } from 'yaml';
import { formatFieldErrors } from './field-errors.ts';
import { policySetConflicts } from './policy-conflicts.ts';
import type { Policy } from './types.ts';
import { validatePolicyDocument } from './validate.ts';

export class PolicyLoadError extends Error {
  override readonly name = 'PolicyLoadError';
}

export function parsePolicies(text: string, source: string): Policy[] {
  const problems: string[] = [];
  const policies: Policy[] = [];
  parseAllDocuments(text).forEach((document, index) => {
    const where = `${source}: document ${index + 1}`;
    if (document.errors.length > 0) {
      problems.push(`${where}: ${document.errors.map((error) => error.message).join('; ')}`);
      return;
    }
    const value: unknown = document.toJS();
    if (value === null || value === undefined) return; // an empty document between `---` separators
    const result = validatePolicyDocument(value);
    if (result.policy) policies.push(result.policy);
    else {
      const name = (value as { metadata?: { name?: unknown } }).metadata?.name;
      const label = typeof name === 'string' ? `${where} (${name})` : where;
      problems.push(`${label}:\n${formatFieldErrors(result.errors).replace(/^/gm, '  ')}`);
    }
  });
  const seen = new Set<string>();
  for (const policy of policies) {
    if (seen.has(policy.name)) problems.push(`${source}: policy name "${policy.name}" is used more than once`);
    seen.add(policy.name);
  }
  for (const conflict of policySetConflicts(policies)) problems.push(`${source}: ${conflict}`);
  if (problems.length > 0) throw new PolicyLoadError(`invalid policy:\n${problems.join('\n')}`);
  if (policies.length === 0) throw new PolicyLoadError(`${source}: no SandboxStoragePolicy found`);
  return policies;
}

export async function loadPolicyFile(path: string): Promise<Policy[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    throw new PolicyLoadError(`cannot read policy file ${path}: ${(error as Error).message}`);
  }
  return parsePolicies(text, path);
}

/** Loads every file and reports the problems of all of them together. */
export async function loadPolicyFiles(files: string[]): Promise<Policy[]> {
  const problems: string[] = [];
  const policies: Policy[] = [];
  for (const file of files) {
    try {
      policies.push(...(await loadPolicyFile(file)));
    } catch (error) {
      problems.push((error as Error).message);
    }
  }
  if (problems.length === 0) problems.push(...policySetConflicts(policies));
  if (problems.length > 0) throw new PolicyLoadError(problems.join('\n'));
  return policies;
}
