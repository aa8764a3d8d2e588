// kube-proxy's part for the real test node, in user space: Services of its loopback range (127.10.0.0/24) answer
// on their ClusterIP, forwarding each TCP connection to a ready Pod of the Service's selector. The real kube-proxy
// would rewrite the host's iptables and set route_localnet (a host sysctl): neither is allowed here.
// Why not the API server's --enable-aggregator-routing instead: it picks the webhook's address from EndpointSlices,
// and the API server refuses loopback addresses in them (CVE-2021-25737), while every Pod IP of this node is one
// (127.0.0.1 with hostNetwork, 127.128+ from the CNI). So Pod IPs are read from the Pods themselves.
// The `kubernetes` Service (no selector: the API server registers no endpoints with --endpoint-reconciler-type=none)
// forwards to the API server, for in-cluster clients such as the installed chart's Pods.
import { connect, createServer, type Server, type Socket } from 'node:net';
import * as k8s from '@kubernetes/client-node';

export interface ServiceProxy {
  /** Starts forwarding every port of the Service; its ClusterIP must be in the loopback range. */
  add(namespace: string, name: string): Promise<void>;
  /** Connections forwarded so far, by "namespace/name:port". */
  forwarded(): Record<string, number>;
  stop(): Promise<void>;
}

interface Backend {
  host: string;
  port: number;
}

export async function startServiceProxy(kubeConfig: k8s.KubeConfig, log: (line: string) => void): Promise<ServiceProxy> {
  const core = kubeConfig.makeApiClient(k8s.CoreV1Api);
  const apiServer = new URL(kubeConfig.getCurrentCluster()?.server ?? '');
  const servers: Server[] = [];
  const sockets = new Set<Socket>();
  const counts: Record<string, number> = {};

  const readyPodBackend = async (namespace: string, selector: Record<string, string>, targetPort: number): Promise<Backend> => {
    const labelSelector = Object.entries(selector).map(([key, value]) => `${key}=${value}`).join(',');
    const pods = await core.listNamespacedPod({ namespace, labelSelector });
    const ready = pods.items.filter(
      (pod) => pod.metadata?.deletionTimestamp === undefined && pod.status?.podIP && pod.status.conditions?.some((condition) => condition.type === 'Ready' && condition.status === 'True'),
    );
    const pod = ready[Math.floor(Math.random() * ready.length)];
    if (!pod) throw new Error(`no ready Pod for ${namespace} ${labelSelector}`);
    return { host: pod.status?.podIP as string, port: targetPort };
  };

  const forward = (client: Socket, key: string, backend: () => Promise<Backend>) => {
    sockets.add(client);
    client.once('close', () => sockets.delete(client));
    client.on('error', () => client.destroy());
    client.pause();
    backend().then(
      ({ host, port }) => {
        const upstream = connect({ host, port });
        sockets.add(upstream);
        upstream.once('close', () => {
          sockets.delete(upstream);
          client.destroy();
        });
        upstream.on('error', () => upstream.destroy());
        client.once('close', () => upstream.destroy());
        counts[key] = (counts[key] ?? 0) + 1;
        client.pipe(upstream).pipe(client);
        client.resume();
      },
      (error: unknown) => {
        log(`service proxy: ${key}: ${error instanceof Error ? error.message : String(error)}`);
        client.destroy();
      },
    );
  };

  return {
    async add(namespace, name) {
      const service = await core.readNamespacedService({ namespace, name });
      const clusterIp = service.spec?.clusterIP ?? '';
      if (!clusterIp.startsWith('127.')) throw new Error(`Service ${namespace}/${name}: ClusterIP ${clusterIp} is not in the loopback range`);
      for (const port of service.spec?.ports ?? []) {
        const key = `${namespace}/${name}:${port.port}`;
        let backend: () => Promise<Backend>;
        if (namespace === 'default' && name === 'kubernetes') {
          backend = async () => ({ host: apiServer.hostname, port: Number(apiServer.port) });
        } else {
          const targetPort = port.targetPort ?? port.port;
          if (typeof targetPort !== 'number') throw new Error(`Service ${key}: only numeric targetPorts are forwarded (no Pod declares ports with hostNetwork), got ${targetPort}`);
          const selector = service.spec?.selector ?? {};
          backend = () => readyPodBackend(namespace, selector, targetPort);
        }
        const server = createServer((client) => forward(client, key, backend));
        await new Promise<void>((resolve, reject) => {
          server.once('error', reject);
          server.listen(port.port, clusterIp, () => resolve());
        });
        servers.push(server);
      }
    },
    forwarded: () => ({ ...counts }),
    async stop() {
      for (const socket of sockets) socket.destroy();
      await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
    },
  };
}
