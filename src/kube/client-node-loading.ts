// Two of the client-node modules src/kube uses (client-parts.ts) import the generated code whole for one or two
// names: `config.js` (KubeConfig) imports `gen/index.js`, i.e. every API group and model class, for
// createConfiguration and ServerConfiguration, which only makeApiClient uses; `cache.js` (ListWatch) imports the
// ObjectSerializer, with every model class, to pass label and field selectors through as strings. This resolve
// hook hands those two imports, and only from those two modules, a module with just what they use: the same two
// functions re-exported from their own files (so the objects are identical), and a serializer of strings. Anything
// else that imports the package index still gets all of it. A newer client-node importing other names from them
// fails at start-up with a missing export, and the unit test with it (test/unit/client-node-loading.test.ts).
import { registerHooks } from 'node:module';

const packageDist = '/@kubernetes/client-node/dist/';

function moduleOf(source: string): string {
  return `data:text/javascript,${encodeURIComponent(source)}`;
}

/** What `config.js` imports from `gen/index.js`, from the generated modules that define it. */
function configurationOnly(configUrl: string): string {
  const configuration = new URL('./gen/configuration.js', configUrl).href;
  const servers = new URL('./gen/servers.js', configUrl).href;
  return moduleOf(`export { createConfiguration } from ${JSON.stringify(configuration)};\nexport { ServerConfiguration } from ${JSON.stringify(servers)};\n`);
}

/** What `cache.js` asks of the ObjectSerializer: a selector string, unchanged. Anything else fails loudly. */
const stringSerializer = moduleOf(`export const ObjectSerializer = {
  serialize(value, type) {
    if (type === 'string' && typeof value === 'string') return value;
    throw new Error('ListWatch serialized ' + typeof value + ' as ' + type + ', where only strings were expected (src/kube/client-node-loading.ts)');
  },
};
`);

let registered = false;

/**
 * Registers the hook for this process. Call it before anything imports client-node (modules loaded before are not
 * affected); calling it again does nothing.
 */
export function loadOnlyUsedClientNode(): void {
  if (registered) return;
  registered = true;
  registerHooks({
    resolve(specifier, context, nextResolve) {
      const parent = context.parentURL ?? '';
      if (specifier === './gen/index.js' && parent.endsWith(`${packageDist}config.js`)) {
        return { url: configurationOnly(parent), format: 'module', shortCircuit: true };
      }
      if (specifier === './serializer.js' && parent.endsWith(`${packageDist}cache.js`)) {
        return { url: stringSerializer, format: 'module', shortCircuit: true };
      }
      return nextResolve(specifier, context);
    },
  });
}
