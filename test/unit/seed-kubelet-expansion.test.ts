// The kubelet expands `$(NAME)` and turns `$$` into `$` in a container's command and args before running it. With
// inline delivery the seed script travels in the seed container's command, so what the shell receives must be the
// script itself.
import { describe, expect, it } from 'vitest';
import { buildSeedInjection, escapeForKubelet } from '../../src/admission/seed-container.ts';
import { seedScript } from '../../src/admission/seed-script.ts';
import { kubeletExpand } from '../harness/kubelet-expansion.ts';
import { seedCommandParts } from '../harness/seed-parameters.ts';
import { policyFrom } from '../fixtures/pods.ts';

describe('seed container command under kubelet expansion', () => {
  const env = { SEED_SOURCE: '/sandbox', SEED_TARGET: '/staging', id: 'X', 'id -u': 'X', date: 'X' };

  it('the raw script would be changed by the kubelet (it has $( and $$ sequences)', () => {
    expect(seedScript).toContain('$(');
    expect(kubeletExpand(seedScript, env)).not.toBe(seedScript);
  });

  it('the escaped command reaches the shell exactly as the script', () => {
    expect(kubeletExpand(escapeForKubelet(seedScript), env)).toBe(seedScript);
  });

  it('with inline delivery, the seed container carries the escaped script', () => {
    const injection = buildSeedInjection(policyFrom({ mode: 'workspace', seed: { scriptDelivery: 'inline' } }), {
      sandbox: { name: 'sandbox', image: 'registry.example/sandbox:1' },
      podSecurityContext: { runAsUser: 1000 },
      podAnnotations: undefined,
      namespaceLabels: {},
      seededMount: { name: 'work', mountPath: '/sandbox' },
    });
    const { parameterLine, rest } = seedCommandParts(injection.container, env);
    expect(parameterLine).toMatch(/^export SEED_SOURCE='\/sandbox' /);
    expect(rest).toBe(seedScript);
  });

  it('escapes variables and literal dollars alike', () => {
    expect(kubeletExpand(escapeForKubelet('echo $(id -u) $$ $HOME $(SEED_SOURCE) $'), env)).toBe('echo $(id -u) $$ $HOME $(SEED_SOURCE) $');
  });
});
