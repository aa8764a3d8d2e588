// The seed script by reference (spec.seed.scriptDelivery): what each delivery injects, the wrapper that checks the
// script's SHA-256 — run as the kubelet hands it to the shell, under dash, busybox and a static busybox — and what a
// sandbox Pod grows by. The size budget is deterministic bytes, not a speed threshold.
import { mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import type { V1Pod } from '@kubernetes/client-node';
import { parse as parseYaml } from 'yaml';
import { afterAll, describe, expect, it } from 'vitest';
import { planPod } from '../../src/admission/plan-pod.ts';
import { buildSeedInjection } from '../../src/admission/seed-container.ts';
import { scriptSha256, seedScriptSha256, seedScriptSource } from '../../src/admission/seed-script.ts';
import {
  escapeForKubelet,
  seedScriptConfigMapName,
  seedScriptMountPath,
  seedParameterLine,
  seedScriptVolumeName,
  verifiedScriptWrapper,
} from '../../src/admission/seed-script-delivery.ts';
import { embeddedDefaultPolicies } from '../../src/policy/embedded-default.ts';
import type { Policy } from '../../src/policy/types.ts';
import { kubeletExpand } from '../harness/kubelet-expansion.ts';
import { seedCommandParts } from '../harness/seed-parameters.ts';
import { seedShells } from '../harness/seed-runner.ts';
import { admissionReviewFor, decodePatch, policyFrom, sandboxPod } from '../fixtures/pods.ts';
import { reviewPodMutation } from '../../src/webhook/mutate.ts';
import type { AdmissionRequest } from '../../src/webhook/review.ts';

const digest = `sha256:${'a'.repeat(64)}`;
const scriptImage = `registry.example/sandbox-storage@${digest}`;

function injection(seed: Record<string, unknown>) {
  return buildSeedInjection(policyFrom({ seed }), {
    sandbox: { name: 'sandbox', image: 'registry.example/sandbox:1' },
    podSecurityContext: { runAsUser: 1000 },
    podAnnotations: undefined,
    namespaceLabels: {},
    seededMount: { name: 'work', mountPath: '/sandbox' },
  });
}

describe('what each script delivery injects', () => {
  it('configMap (the default): the content-addressed ConfigMap read-only, and a wrapper that checks the hash', () => {
    const seed = injection({});
    expect(seedScriptConfigMapName()).toMatch(/^sandbox-storage-seed-[0-9a-f]{16}$/);
    expect(seedScriptConfigMapName()).toBe(`sandbox-storage-seed-${seedScriptSha256.slice(0, 16)}`);
    expect(seed.scriptConfigMap).toBe(seedScriptConfigMapName());
    expect(seed.scriptVolume).toEqual({ name: seedScriptVolumeName, configMap: { name: seedScriptConfigMapName(), defaultMode: 0o444 } });
    expect(seed.container?.volumeMounts).toContainEqual({ name: seedScriptVolumeName, mountPath: seedScriptMountPath, readOnly: true });
    const shell = seedCommandParts(seed.container, { f: 'X', m: 'X', s: 'X', h: 'X', e: 'X' }).rest;
    expect(shell).toBe(verifiedScriptWrapper('/sandbox-storage/seed-script/seed.sh', seedScriptSha256));
    expect(shell).toContain(seedScriptSha256);
    expect(JSON.stringify(seed.container)).not.toContain('SEED_SENTINEL}');
  });

  it('imageVolume: the product image by digest, read-only, the script at its path in /app, same hash check', () => {
    const seed = injection({ scriptDelivery: 'imageVolume', scriptImage });
    expect(seed.scriptConfigMap).toBeUndefined();
    expect(seed.scriptVolume).toEqual({ name: seedScriptVolumeName, image: { reference: scriptImage } });
    expect(seed.container?.volumeMounts).toContainEqual({ name: seedScriptVolumeName, mountPath: seedScriptMountPath, readOnly: true });
    expect(seedCommandParts(seed.container).rest).toBe(
      verifiedScriptWrapper('/sandbox-storage/seed-script/app/dist/src/seed/seed.sh', seedScriptSha256),
    );
  });

  it('the script the image carries (package.json copies src/seed/seed.sh to dist) is the one the hash names', () => {
    const packageJson = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: { build: string }; files: string[] };
    expect(packageJson.scripts.build).toContain('cp src/seed/seed.sh dist/src/seed/');
    expect(packageJson.files).toContain('dist/src');
    expect(scriptSha256(seedScriptSource)).toBe(seedScriptSha256);
  });

  it('inline: no volume, the escaped script in the command', () => {
    const seed = injection({ scriptDelivery: 'inline' });
    expect(seed.scriptVolume).toBeUndefined();
    expect(seed.container?.volumeMounts).toHaveLength(1);
    expect(seed.container?.command?.[2]?.length).toBeGreaterThan(10_000);
  });

  it('a Pod that brings its own volume of that name gets ours instead (the hash check is the last line anyway)', () => {
    const pod = sandboxPod({
      spec: {
        containers: [{ name: 'sandbox', image: 'registry.example/sandbox:1' }],
        volumes: [{ name: seedScriptVolumeName, configMap: { name: 'attacker-script' } }],
      },
    });
    const plan = planPod(pod, embeddedDefaultPolicies(), { operation: 'CREATE', namespace: 'agents', dryRun: false, userInfo: {} });
    const volumes = (plan.mutated as unknown as V1Pod).spec?.volumes ?? [];
    expect(volumes.filter((volume) => volume.name === seedScriptVolumeName)).toEqual([
      { name: seedScriptVolumeName, configMap: { name: seedScriptConfigMapName(), defaultMode: 0o444 } },
    ]);
    expect(plan.seedScriptConfigMap).toBe(seedScriptConfigMapName());
  });
});

describe('scriptSha256', () => {
  it('hashes the text as `$(cat file)` reads it: trailing newlines do not count, anything else does', () => {
    expect(scriptSha256('echo hi\n\n')).toBe(scriptSha256('echo hi'));
    expect(scriptSha256('echo hi ')).not.toBe(scriptSha256('echo hi'));
    const printed = spawnSync('/bin/sh', ['-c', 'printf %s "$(printf "echo hi\\n\\n")" | sha256sum'], { encoding: 'utf8' });
    expect(printed.stdout.split(' ')[0]).toBe(scriptSha256('echo hi\n'));
  });
});

describe('the hash-checking wrapper, as the kubelet hands it to the shell', () => {
  const work = mkdtempSync(join(tmpdir(), 'seed-wrapper-'));
  afterAll(() => rmSync(work, { recursive: true, force: true }));
  const shells = seedShells();
  afterAll(() => shells.forEach((shell) => shell.dispose()));
  const script = '#!/bin/sh\n# a script with $(command) and $$ and $(SEED_SOURCE)\np=$$;echo "ran from $(printf %s "$SEED_SOURCE") pid-${p:+set}"\n';
  let case_ = 0;

  /**
   * Runs the wrapper for `file` and `sha256` exactly as the kubelet would hand it over (escaped, then expanded), after
   * the parameter line that sets SEED_SOURCE to `source`, as in the seed container's command.
   */
  function runWrapper(shell: (typeof shells)[number], file: string, sha256: string, path?: string, source = '/sandbox') {
    const log = join(work, `termination-${(case_ += 1)}`);
    const command = `${escapeForKubelet(seedParameterLine([{ name: 'SEED_SOURCE', value: source }]))}\n${escapeForKubelet(verifiedScriptWrapper(file, sha256, log))}`;
    // The kubelet expands $(NAME) from the container's env: the seed container has none of its own, only the parameter line.
    const text = kubeletExpand(command, { SEED_SOURCE: 'expanded by the kubelet' });
    const pathValue = path ?? [...(shell.binDir ? [shell.binDir] : []), process.env.PATH ?? '/usr/bin:/bin'].join(':');
    const result = spawnSync(shell.argv[0] as string, [...shell.argv.slice(1), '-c', text], {
      env: { PATH: pathValue, LC_ALL: 'C' },
      encoding: 'utf8',
      timeout: 30_000,
    });
    return { ...result, terminationMessage: existsSync(log) ? readFileSync(log, 'utf8') : '' };
  }

  for (const shell of shells) {
    describe.skipIf(!shell.available)(shell.label, () => {
      it('runs the script when its SHA-256 matches: exactly its text, $ and $( included', () => {
        const file = join(work, 'good.sh');
        writeFileSync(file, script);
        const result = runWrapper(shell, file, scriptSha256(script));
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(result.stdout).toBe('ran from /sandbox pid-set\n');
      });

      it('hands the script its parameters exactly, quotes, $(...) and $$ in them included', () => {
        const file = join(work, 'good-hostile.sh');
        writeFileSync(file, script);
        const source = "/sand box'$(touch /tmp/x)$$;`id`\n'\\";
        const result = runWrapper(shell, file, scriptSha256(script), undefined, source);
        expect(result.stderr).toBe('');
        expect(result.status).toBe(0);
        expect(result.stdout).toBe(`ran from ${source} pid-set\n`);
      });

      it('refuses a script with other content, says so in the log and the termination message, runs none of it', () => {
        const file = join(work, 'tampered.sh');
        const marker = join(work, `ran-${shell.prefersApplets}-${shell.busybox}`);
        writeFileSync(file, `touch ${marker}\n${script}`);
        const result = runWrapper(shell, file, scriptSha256(script));
        expect(result.status).toBe(1);
        const message = `sandbox-storage seed: not run: ${file} is not the seed script of SHA-256 ${scriptSha256(script)}\n`;
        expect(result.stderr).toBe(message);
        expect(result.terminationMessage).toBe(message);
        expect(existsSync(marker)).toBe(false);
        expect(result.stdout).toBe('');
      });

      it('refuses when the file is missing', () => {
        const result = runWrapper(shell, join(work, 'absent.sh'), scriptSha256(script));
        expect(result.status).toBe(1);
        expect(result.terminationMessage).toContain('is not the seed script of SHA-256');
      });

      it(shell.prefersApplets ? 'with no sha256sum in PATH, uses its own applet and verifies' : 'fails closed when the image has no sha256sum, naming the reason', () => {
        const file = join(work, 'good-nosum.sh');
        writeFileSync(file, script);
        const bin = join(work, `bin-nosum-${case_ += 1}`);
        mkdirSync(bin);
        // Only cat and sh: no sha256sum anywhere in PATH.
        const cat = shell.binDir ? join(shell.binDir, 'cat') : '/bin/cat';
        symlinkSync(cat, join(bin, 'cat'));
        const result = runWrapper(shell, file, scriptSha256(script), bin);
        if (shell.prefersApplets) {
          // A static busybox's shell finds its applets before PATH: the check still runs (and the script with it).
          expect(result.status, result.stderr).toBe(0);
          expect(result.stdout).toBe('ran from /sandbox pid-set\n');
          return;
        }
        expect(result.status).toBe(1);
        const message = `sandbox-storage seed: not run: no sha256sum in the image to verify ${file}\n`;
        expect(result.terminationMessage).toBe(message);
        expect(result.stdout).toBe('');
      });
    });
  }

  it('runs the real seed script through the wrapper: the volume is seeded', () => {
    const file = join(work, 'seed.sh');
    writeFileSync(file, seedScriptSource);
    const source = join(work, 'image-sandbox');
    const target = join(work, 'volume');
    mkdirSync(join(source, 'sub'), { recursive: true });
    mkdirSync(target);
    writeFileSync(join(source, 'sub', 'hello.txt'), 'hello\n');
    const log = join(work, 'termination-real');
    const text = kubeletExpand(escapeForKubelet(verifiedScriptWrapper(file, seedScriptSha256, log)), {});
    const result = spawnSync('/bin/sh', ['-c', text], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LC_ALL: 'C', SEED_SOURCE: source, SEED_TARGET: target, SEED_SENTINEL: '.sandbox-storage-seeded', SEED_IMAGE: 'registry.example/sandbox:1' },
      encoding: 'utf8',
      timeout: 60_000,
    });
    expect(result.status, result.stderr).toBe(0);
    expect(existsSync(join(target, '.sandbox-storage-seeded'))).toBe(true);
    expect(readFileSync(join(target, 'sub', 'hello.txt'), 'utf8')).toBe('hello\n');
  });
});

describe('size budget: what a sandbox Pod grows by (JSON bytes of the mutated Pod minus the submitted Pod)', () => {
  const examplePod = parseYaml(readFileSync(new URL('../../examples/sandbox-pod.yaml', import.meta.url), 'utf8')) as Record<string, unknown>;
  const cases: Array<{ name: string; policies: Policy[]; pod: unknown }> = [
    { name: 'default workspace policy, minimal Pod', policies: embeddedDefaultPolicies(), pod: sandboxPod() },
    { name: 'default workspace policy, example Pod (root seeder, resources copied)', policies: embeddedDefaultPolicies(), pod: examplePod },
    { name: 'default shared policy, minimal Pod', policies: [policyFrom({ mode: 'shared', shared: { claimName: 'sandbox-shared' } })], pod: sandboxPod() },
    { name: 'default shared policy, example Pod', policies: [policyFrom({ mode: 'shared', shared: { claimName: 'sandbox-shared' } })], pod: examplePod },
  ];

  for (const { name, policies, pod } of cases) {
    it(`${name}: grows by at most 2 KB, its JSONPatch at most 2.5 KB`, () => {
      const outcome = reviewPodMutation(admissionReviewFor(pod).request as AdmissionRequest, { policies });
      const patch = decodePatch(outcome.review.response.patch);
      expect(patch.length).toBeGreaterThan(0);
      const mutated = JSON.stringify((outcome.plan?.mutated ?? {}) as object);
      const growth = Buffer.byteLength(mutated) - Buffer.byteLength(JSON.stringify(pod));
      const patchBytes = Buffer.byteLength(JSON.stringify(patch));
      console.log(`size budget, ${name}: Pod grows by ${growth} bytes (budget 2048), JSONPatch ${patchBytes} bytes (budget 2560)`);
      expect(growth).toBeLessThanOrEqual(2048);
      expect(patchBytes).toBeLessThanOrEqual(2560);
    });
  }

  it('inline delivery is what the budget excludes: the script alone is larger than it', () => {
    const outcome = reviewPodMutation(admissionReviewFor(sandboxPod()).request as AdmissionRequest, { policies: [policyFrom({ seed: { scriptDelivery: 'inline' } })] });
    expect(Buffer.byteLength(JSON.stringify(decodePatch(outcome.review.response.patch)))).toBeGreaterThan(10_000);
  });
});

describe('serve without a controller', () => {
  const review = (policies: Policy[], withoutController: boolean) =>
    reviewPodMutation(admissionReviewFor(sandboxPod()).request as AdmissionRequest, { policies, ...(withoutController ? { withoutController } : {}) });

  it('warns that nothing creates the ConfigMap and the Pod stays gated, naming the policy and what to set', () => {
    const { warnings } = review(embeddedDefaultPolicies(), true).review.response;
    expect(warnings).toEqual([
      `sandbox-storage: the seed script comes from ConfigMap ${seedScriptConfigMapName()} (policy "default", spec.seed.scriptDelivery: configMap), which only the controller creates, and this server runs without it (serve) and was told of none (--controller-username): unless a controller runs in the cluster, the Pod stays gated; set scriptDelivery to inline or imageVolume for webhook-only installs`,
    ]);
  });

  it('says nothing with the controller in the process, or with inline delivery', () => {
    expect(review(embeddedDefaultPolicies(), false).review.response.warnings).toBeUndefined();
    expect(review([policyFrom({ seed: { scriptDelivery: 'inline' } })], true).review.response.warnings).toBeUndefined();
  });
});
