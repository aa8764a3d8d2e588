// Loads cluster credentials: an explicit kubeconfig file, else in-cluster service account, else $KUBECONFIG/~/.kube.
import * as k8s from '@kubernetes/client-node';

export function loadKubeConfig(kubeconfigPath?: string): k8s.KubeConfig {
  const config = new k8s.KubeConfig();
  if (kubeconfigPath) config.loadFromFile(kubeconfigPath);
  else config.loadFromDefault();
  return config;
}
