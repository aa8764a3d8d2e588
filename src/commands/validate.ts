// `sandbox-storage validate FILE...`: checks policy files offline against the CRD's own schema and rules.
import { parseArgs } from 'node:util';
import { loadPolicyFile } from '../policy/load.ts';
import { policySetConflicts } from '../policy/policy-conflicts.ts';
import type { Policy } from '../policy/types.ts';
import { UsageError } from './usage-error.ts';

export const validateUsage = `Usage: sandbox-storage validate FILE...

Checks SandboxStoragePolicy files offline, with the same schema, defaults and rules as the cluster's CRD,
and reports every problem of every file. The files are checked together as one set, as a server given them all
would serve them: policies whose storage would collide (the same shared claim, subPath templates that can give
different owners one directory) are refused.

Exit status: 0 all valid, 1 a policy is invalid, 2 bad usage.
`;

export async function runValidate(args: string[], write: (text: string) => void, writeError: (text: string) => void): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
  if (positionals.length === 0) throw new UsageError('give at least one policy file');
  let invalid = 0;
  const all: Policy[] = [];
  for (const file of positionals) {
    try {
      const policies = await loadPolicyFile(file);
      all.push(...policies);
      write(`${file}: ${policies.length} valid ${policies.length === 1 ? 'policy' : 'policies'} (${policies.map((policy) => policy.name).join(', ')})\n`);
    } catch (error) {
      invalid += 1;
      writeError(`${(error as Error).message}\n`);
    }
  }
  // The valid policies of all files as one set (a file's own policies were checked together when it loaded).
  const conflicts = policySetConflicts(all);
  for (const conflict of conflicts) writeError(`${conflict}\n`);
  return invalid > 0 || conflicts.length > 0 ? 1 : 0;
}
