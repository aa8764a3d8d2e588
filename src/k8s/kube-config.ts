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
  return config;
}
