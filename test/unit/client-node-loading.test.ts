// The controller's memory win depends on which client-node modules its process loads: without the generated API
// classes and the ObjectSerializer with its model classes (src/kube/client-parts.ts, client-node-loading.ts). A
// fresh Node process records every module it loads, the way the CLI starts, so a new import of the package index
// or a client-node release that moves a deep path fails here instead of silently costing the memory again.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const source = (path: string) => fileURLToPath(new URL(`../../src/${path}`, import.meta.url));

/** Runs `script` (an ES module) in a new Node process after the CLI's hook, recording the URLs it loads. */
function loadedBy(script: string, thin = true): { loaded: string[]; output: unknown } {
  const program = `
    import { registerHooks } from 'node:module';
    const loaded = [];
    registerHooks({ load(url, context, next) { loaded.push(url); return next(url, context); } });
    ${thin ? `(await import(${JSON.stringify(source('kube/client-node-loading.ts'))})).loadOnlyUsedClientNode();` : ''}
    const output = await (async () => { ${script} })();
    process.stdout.write(JSON.stringify({ loaded, output }));
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', program], { encoding: 'utf8', timeout: 120_000 });
  if (result.status !== 0) throw new Error(`node exited ${result.status ?? result.signal}: ${result.stderr}`);
  return JSON.parse(result.stdout) as { loaded: string[]; output: unknown };
}

const clientNode = (loaded: string[]) =>
  loaded.filter((url) => url.includes('/@kubernetes/client-node/')).map((url) => url.replace(/^.*\/@kubernetes\/client-node\//, ''));

/** What must stay out: the package index, the generated API classes, the models and their serializer. */
const heavy = (files: string[]) =>
  files.filter((file) => file === 'dist/index.js' || file === 'dist/gen/index.js' || file.startsWith('dist/gen/types/') || file.startsWith('dist/gen/models/') || (file.startsWith('dist/gen/apis/') && file !== 'dist/gen/apis/exception.js'));

describe('client-node loading', () => {
  it('loads the controller and the webhook side (run, serve) without the generated API classes and models', () => {
    const { loaded } = loadedBy(
      ['commands/controller.ts', 'commands/run.ts', 'commands/webhook-parts.ts'].map((path) => `await import(${JSON.stringify(source(path))});`).join('\n'),
    );
    const files = clientNode(loaded);
    expect(heavy(files)).toEqual([]);
    // Every deep import of client-parts.ts resolved and loaded (a moved path fails the import above).
    expect(files).toEqual(
      expect.arrayContaining(['dist/config.js', 'dist/cache.js', 'dist/informer.js', 'dist/gen/apis/exception.js', 'dist/types.js']),
    );
    // Against ≈ 850 of the package for the whole index.
    expect(files.length).toBeLessThan(40);
  });

  it('loads the whole index without the hook, so the check above can fail', () => {
    const { loaded } = loadedBy(`await import(${JSON.stringify(source('commands/controller.ts'))});`, false);
    expect(heavy(clientNode(loaded))).toEqual(expect.arrayContaining(['dist/gen/index.js', 'dist/gen/models/ObjectSerializer.js']));
  });

  it('leaves the package index whole and the same objects for code that imports it', () => {
    const { output } = loadedBy(`
      const parts = await import(${JSON.stringify(source('kube/client-parts.ts'))});
      const k8s = await import('@kubernetes/client-node');
      const config = new parts.KubeConfig();
      config.loadFromOptions({
        clusters: [{ name: 'c', server: 'https://127.0.0.1:1' }],
        users: [{ name: 'u', token: 't' }],
        contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
        currentContext: 'x',
      });
      return {
        sameConfig: parts.KubeConfig === k8s.KubeConfig,
        sameException: parts.ApiException === k8s.ApiException,
        sameListWatch: parts.ListWatch === k8s.ListWatch,
        apiClient: typeof config.makeApiClient(k8s.CoreV1Api).readNamespacedPod,
        models: typeof k8s.V1Pod,
      };
    `);
    expect(output).toEqual({ sameConfig: true, sameException: true, sameListWatch: true, apiClient: 'function', models: 'function' });
  });

  it('passes selector strings through the ListWatch and refuses anything else loudly', () => {
    const { output } = loadedBy(`
      const parts = await import(${JSON.stringify(source('kube/client-parts.ts'))});
      const seen = [];
      const watch = { watch: async (path, params) => { seen.push(params); return { abort() {} }; } };
      const list = async () => ({ metadata: { resourceVersion: '7' }, items: [] });
      await new parts.ListWatch('/api/v1/pods', watch, list, false, 'a=b,c', 'spec.nodeName=n').start();
      let refused = '';
      try {
        await new parts.ListWatch('/api/v1/pods', watch, list, false, { not: 'a string' }).start();
      } catch (error) {
        refused = error.message;
      }
      return { seen, refused };
    `);
    expect(output).toEqual({
      seen: [{ resourceVersion: '7', labelSelector: 'a=b,c', fieldSelector: 'spec.nodeName=n' }],
      refused: expect.stringMatching(/ListWatch serialized object as string, where only strings were expected/),
    });
  });
});
