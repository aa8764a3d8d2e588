// Policies from files given with --policy, reloaded when a file changes. A file that stops parsing or validating
// keeps serving its last good policies; the error is logged and shown in the load states. So does a file whose new
// policies would collide with another file's storage (src/policy/policy-conflicts.ts): files have no age to decide
// which policy wins, so the reload that brings the conflict is refused.
import { watch, type FSWatcher } from 'node:fs';
import { dirname, resolve } from 'node:path';
import type { Logger } from 'pino';
import { loadPolicyFile, loadPolicyFilesByFile, PolicyLoadError } from '../load.ts';
import { policySetConflicts } from '../policy-conflicts.ts';
import type { Policy } from '../types.ts';
import { PolicyHolder, policySetOf, type PolicyLoadState, type PolicySet } from './policy-set.ts';

interface FileState {
  policies: Policy[];
  error?: string;
}

export async function watchPolicyFiles(files: string[], logger: Logger, settleMs = 200): Promise<PolicySet> {
  const holder = new PolicyHolder();
  const byFile = new Map<string, FileState>();
  // Startup is strict: every file must be valid before the server serves anything (loadPolicyFiles reports the
  // problems of all files at once, and the conflicts between them).
  for (const [file, policies] of await loadPolicyFilesByFile(files)) byFile.set(file, { policies });

  const publish = () => {
    const policies: Policy[] = [];
    const states: PolicyLoadState[] = [];
    const seen = new Map<string, string>();
    for (const [file, state] of byFile) {
      for (const policy of state.policies) {
        const other = seen.get(policy.name);
        if (other !== undefined) {
          logger.error({ policy: policy.name, file, other }, 'policy name defined in two files: keeping the first');
          continue;
        }
        seen.set(policy.name, file);
        policies.push(policy);
        states.push({ name: policy.name, origin: file, ready: state.error === undefined, ...(state.error ? { error: state.error } : {}) });
      }
    }
    holder.replace(policies, states);
  };
  publish();

  const reload = async (file: string) => {
    const previous = byFile.get(file) as FileState;
    try {
      const policies = await loadPolicyFile(file);
      const others = [...byFile].flatMap(([other, state]) => (other === file ? [] : state.policies));
      const conflicts = policySetConflicts([...others, ...policies]);
      if (conflicts.length > 0) throw new PolicyLoadError(`${file}: ${conflicts.join('\n')}`);
      byFile.set(file, { policies });
      logger.info({ file, policies: policies.map((policy) => policy.name) }, 'policy file reloaded');
    } catch (error) {
      const message = (error as Error).message;
      if (previous.error === message) return;
      byFile.set(file, { policies: previous.policies, error: message });
      logger.error({ file, err: message }, 'policy file invalid: the previous version keeps serving');
    }
    publish();
  };

  // Watch directories, not files: editors and ConfigMap volumes replace files by renaming.
  const pending = new Map<string, NodeJS.Timeout>();
  const watchers: FSWatcher[] = [];
  const byDirectory = new Map<string, string[]>();
  for (const file of files) {
    const directory = dirname(resolve(file));
    byDirectory.set(directory, [...(byDirectory.get(directory) ?? []), file]);
  }
  for (const [directory, watched] of byDirectory) {
    watchers.push(
      watch(directory, { persistent: false }, () => {
        for (const file of watched) {
          clearTimeout(pending.get(file));
          pending.set(file, setTimeout(() => void reload(file), settleMs));
        }
      }),
    );
  }

  return policySetOf(
    holder,
    () => true,
    async () => {
      for (const watcher of watchers) watcher.close();
      for (const timer of pending.values()) clearTimeout(timer);
    },
  );
}
