// What the seed container's command gives the seed script: its first line (seedParameterLine) exports the script's
// parameters, the rest is the wrapper (or the inline script). Read the way the container runs it: kubelet's
// expansion first, then a real shell evaluates the line.
import { spawnSync } from 'node:child_process';
import type { V1Container } from '@kubernetes/client-node';
import { kubeletExpand } from './kubelet-expansion.ts';

/** The end of the first line of `text` that is not inside single quotes (a quoted value may hold newlines). */
function endOfFirstLine(text: string): number {
  let quoted = false;
  for (let index = 0; index < text.length; index += 1) {
    const character = text[index];
    if (quoted) {
      if (character === "'") quoted = false;
    } else if (character === "'") quoted = true;
    else if (character === '\\') index += 1;
    else if (character === '\n') return index;
  }
  return text.length;
}

/**
 * The seed container's shell command after kubelet's expansion (with `kubeletEnv` as the container's environment,
 * for checking that no `$(NAME)` is expanded), split into the parameter line and what it runs.
 */
export function seedCommandParts(container: V1Container | undefined, kubeletEnv: Record<string, string> = {}): { parameterLine: string; rest: string } {
  const command = container?.command ?? [];
  if (command[0] !== '/bin/sh' || command[1] !== '-c' || typeof command[2] !== 'string') throw new Error(`not a seed command: ${JSON.stringify(command)}`);
  const text = kubeletExpand(command[2], kubeletEnv);
  const end = endOfFirstLine(text);
  return { parameterLine: text.slice(0, end), rest: text.slice(end + 1) };
}

/** The SEED_* variables the script sees: the parameter line evaluated by /bin/sh in an otherwise empty environment. */
export function seedParameters(container: V1Container | undefined): Record<string, string> {
  const { parameterLine } = seedCommandParts(container);
  const result = spawnSync('/bin/sh', ['-c', `${parameterLine}\nenv -0`], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin' }, encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`the parameter line failed: ${result.stderr}`);
  const parameters: Record<string, string> = {};
  for (const entry of result.stdout.split('\0')) {
    const equals = entry.indexOf('=');
    if (entry.startsWith('SEED_') && equals > 0) parameters[entry.slice(0, equals)] = entry.slice(equals + 1);
  }
  return parameters;
}
