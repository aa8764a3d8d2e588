// `sandbox-storage validate FILE...`: checks policy files offline against the CRD's own schema and rules.
import { parseArgs } from 'node:util';
import { loadPolicyFile } from '../policy/load.ts';
import { UsageError } from './usage-error.ts';

export const validateUsage = `Usage: sandbox-storage validate FILE...

Checks SandboxStoragePolicy files offline, with the same schema, defaults and rules as the cluster's CRD,
and reports every problem of every file.

Exit status: 0 all valid, 1 a policy is invalid, 2 bad usage.
`;

export async function runValidate(args: string[], write: (text: string) => void, writeError: (text: string) => void): Promise<number> {
  const { positionals } = parseArgs({ args, options: {}, strict: true, allowPositionals: true });
  if (positionals.length === 0) throw new UsageError('give at least one policy file');
  let invalid = 0;
  for (const file of positionals) {
    try {
      const policies = await loadPolicyFile(file);
      write(`${file}: ${policies.length} valid ${policies.length === 1 ? 'policy' : 'policies'} (${policies.map((policy) => policy.name).join(', ')})\n`);
    } catch (error) {
      invalid += 1;
      writeError(`${(error as Error).message}\n`);
    }
  }
  return invalid > 0 ? 1 : 0;
}
