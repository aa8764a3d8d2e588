// Loads cluster credentials: an explicit kubeconfig file, else in-cluster service account, else $KUBECONFIG/~/.kube.
import { existsSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import type * as k8s from '@kubernetes/client-node';
import { KubeConfig } from './client-parts.ts';

/** Where credentials would come from, or undefined when there are none (client-node would silently use localhost). */
export function kubeConfigSource(kubeconfigPath?: string): string | undefined {
  if (kubeconfigPath) return kubeconfigPath;
  if (process.env.KUBERNETES_SERVICE_HOST) return 'in-cluster service account';
  if (process.env.KUBECONFIG) return process.env.KUBECONFIG;
  const home = join(homedir(), '.kube', 'config');
  return existsSync(home) ? home : undefined;
}

export function loadKubeConfig(kubeconfigPath?: string): k8s.KubeConfig {
  const config = new KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return reuseConnections(config);
}

interface Closable {
  close(): Promise<void>;
  destroy(reason: Error): Promise<void>;
}

const unusedDispatcher = new Error('replaced by the pooled dispatcher of the same TLS configuration');

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
  let current: { options: unknown; dispatcher: Closable } | undefined;
  config.applySecurityAuthentication = async (context) => {
    const before = await tlsOptions(config);
    await authenticate(context);
    const fresh = context.getDispatcher() as Closable | undefined;
    // No dispatcher (plain http without TLS settings), or the files changed while client-node read them: this
    // request uses what client-node built, and the next one pools.
    if (fresh === undefined || !sameOptions(await tlsOptions(config), before)) return;
    if (current !== undefined && sameOptions(current.options, before)) {
      context.setDispatcher(current.dispatcher as never);
      // Never used, so nothing to drain: destroy it with one shared reason. close() would have undici build a new
      // error, with its stack trace, for every API request (≈ 3 % of the controller's CPU in the bench).
      void fresh.destroy(unusedDispatcher).catch(() => undefined);
      return;
    }
    const previous = current?.dispatcher;
    current = { options: before, dispatcher: fresh };
    void previous?.close().catch(() => undefined);
  };
  return config;
}

/**
 * The options client-node builds a request's dispatcher from, through the same public methods it uses: the
 * kubeconfig's (or an auth plugin's) CA, certificate and key, re-read as client-node re-reads them.
 */
async function tlsOptions(config: k8s.KubeConfig): Promise<unknown> {
  const https: { ca?: unknown; cert?: unknown; key?: unknown; pfx?: unknown; passphrase?: unknown; rejectUnauthorized?: boolean; servername?: string } = {};
  await config.applyToHTTPSOptions(https as never);
  const { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername } = https;
  const agentOptions = { ca, cert, key, pfx, passphrase, rejectUnauthorized, servername };
  return config.createDispatcherOptions(config.getCurrentCluster(), agentOptions as never);
}

/**
 * Deep equality of two dispatcher options, certificates and keys (Buffers or strings) compared byte for byte.
 * Compared twice per API request: a byte comparison, where encoding both sides as text cost a millisecond of CPU
 * per call under a burst of reconciles.
 */
export function sameOptions(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Buffer.isBuffer(a) || Buffer.isBuffer(b)) return Buffer.isBuffer(a) && Buffer.isBuffer(b) && a.equals(b);
  if (typeof a !== 'object' || typeof b !== 'object' || a === null || b === null) return false;
  if (Array.isArray(a) !== Array.isArray(b)) return false;
  const keysA = Object.keys(a).filter((key) => (a as Record<string, unknown>)[key] !== undefined);
  const keysB = Object.keys(b).filter((key) => (b as Record<string, unknown>)[key] !== undefined);
  if (keysA.length !== keysB.length) return false;
  return keysA.every((key) => sameOptions((a as Record<string, unknown>)[key], (b as Record<string, unknown>)[key]));
}
