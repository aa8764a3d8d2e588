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

/** What client-node builds a connection pool from (its private `createDispatcher`). */
interface DispatcherFactory {
  createDispatcher(cluster: k8s.Cluster | null, agentOptions: object): DispatcherLike | undefined;
}

interface DispatcherLike {
  close(): Promise<void>;
}

/**
 * client-node 2.x builds a new undici Agent, i.e. a new TLS connection, for every API request and never closes it:
 * under a burst of reconciles that is a client-certificate handshake per call on both sides and thousands of idle
 * sockets held until they time out (hundreds of MB). This keeps one Agent, and so one pool of kept-alive
 * connections, per distinct TLS configuration; a rotated certificate or CA (re-read from its file on every request)
 * gets a new pool, and the old one is closed once its requests are done.
 */
export function reuseConnections(config: k8s.KubeConfig): k8s.KubeConfig {
  const factory = config as unknown as DispatcherFactory;
  const create = factory.createDispatcher.bind(config);
  let current: { key: string; dispatcher: DispatcherLike | undefined } | undefined;
  factory.createDispatcher = (cluster, agentOptions) => {
    const key = dispatcherKey(config.createDispatcherOptions(cluster, agentOptions as never));
    if (current?.key === key) return current.dispatcher;
    const previous = current?.dispatcher;
    current = { key, dispatcher: create(cluster, agentOptions) };
    void previous?.close().catch(() => undefined);
    return current.dispatcher;
  };
  return config;
}

/** A stable text for the dispatcher options: certificates and keys (Buffers or strings) in full, as base64. */
function dispatcherKey(options: unknown): string {
  return JSON.stringify(options, function replace(this: Record<string, unknown>, key: string, value: unknown) {
    // JSON.stringify has already applied Buffer#toJSON; read the original from the holder.
    const original = key === '' ? value : this[key];
    return Buffer.isBuffer(original) ? `base64:${original.toString('base64')}` : value;
  });
}
