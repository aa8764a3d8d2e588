// Loads cluster credentials: an explicit kubeconfig file, else in-cluster service account, else $KUBECONFIG/~/.kube.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import * as k8s from '@kubernetes/client-node';

/** Where credentials would come from, or undefined when there are none (client-node would silently use localhost). */
export function kubeConfigSource(kubeconfigPath?: string): string | undefined {
  if (kubeconfigPath) return kubeconfigPath;
  if (process.env.KUBERNETES_SERVICE_HOST) return 'in-cluster service account';
  if (process.env.KUBECONFIG) return process.env.KUBECONFIG;
  const home = join(homedir(), '.kube', 'config');
  return existsSync(home) ? home : undefined;
}

export function loadKubeConfig(kubeconfigPath?: string): k8s.KubeConfig {
  const config = new k8s.KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return reuseConnections(config);
}

interface Closable {
  close(): Promise<void>;
}

/**
 * client-node 2.x builds a new undici Agent, i.e. a new TLS connection, for every API request and never closes it:
 * under a burst of reconciles that is a client-certificate handshake per call on both sides and thousands of idle
 * sockets held until they time out (hundreds of MB). This keeps one Agent, and so one pool of kept-alive
 * connections, per distinct TLS configuration; a rotated certificate or CA (re-read from its file on every request)
 * gets a new pool, and the old one is closed once its requests are done.
 *
 * Only public API: every client (API clients and watches) authenticates a request through
 * KubeConfig#applySecurityAuthentication, which puts the request's dispatcher on its RequestContext. The wrapper
 * lets client-node do that, then puts the pooled dispatcher of the same TLS configuration in its place and closes
 * the fresh, unused one (an Agent without connections closes at once).
 */
export function reuseConnections(config: k8s.KubeConfig): k8s.KubeConfig {
  const authenticate = config.applySecurityAuthentication.bind(config);
  let current: { key: string; dispatcher: Closable } | undefined;
  config.applySecurityAuthentication = async (context) => {
    const before = await tlsKey(config);
    await authenticate(context);
    const fresh = context.getDispatcher() as Closable | undefined;
    // No dispatcher (plain http without TLS settings), or the files changed while client-node read them: this
    // request uses what client-node built, and the next one pools.
    if (fresh === undefined || (await tlsKey(config)) !== before) return;
    if (current?.key === before) {
      context.setDispatcher(current.dispatcher as never);
      void fresh.close().catch(() => undefined);
      return;
    }
    const previous = current?.dispatcher;
    current = { key: before, dispatcher: fresh };
    void previous?.close().catch(() => undefined);
  };
  return config;
}

/**
 * The options client-node builds a request's dispatcher from, as text, through the same public methods it uses:
 * the kubeconfig's (or an auth plugin's) CA, certificate and key, re-read as client-node re-reads them.
 */
async function tlsKey(config: k8s.KubeConfig): Promise<string> {
  const https: { ca?: unknown; cert?: unknown; key?: unknown; pfx?: unknown; passphrase?: unknown; rejectUnauthorized?: boolean; servername?: string } = {};
  await config.applyToHTTPSOptions(https as never);
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = https;
  const agentOptions = { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername };
  return dispatcherKey(config.createDispatcherOptions(config.getCurrentCluster(), agentOptions as never));
}

/** A stable text for the dispatcher options: certificates and keys (Buffers or strings) in full, as base64. */
function dispatcherKey(options: unknown): string {
  return JSON.stringify(options, function replace(this: Record<string, unknown>, key: string, value: unknown) {
    // JSON.stringify has already applied Buffer#toJSON; read the original from the holder.
    const original = key === '' ? value : this[key];
    return Buffer.isBuffer(original) ? `base64:${original.toString('base64')}` : value;
  });
}
