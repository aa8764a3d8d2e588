// Configuration files of the test node: containerd's, the kubelet's and the CNI network's. Every choice that keeps
// the node off the host's state (sysctls, iptables, private address ranges, resolv.conf) is made here; the reasons
// are next to each setting. Pure: returns file contents.

export interface NodeConfigInput {
  /** The node's run directory (containerd state, kubelet root, logs). */
  runDir: string;
  /** Image of the Pod sandbox (pause) process, imported into containerd beforehand. */
  pauseImage: string;
  /** cgroup below which the kubelet puts every Pod, in every hierarchy (created beforehand, removed afterwards). */
  cgroupRoot: string;
  kubeletPort: number;
  kubeletHealthzPort: number;
  /** Directory of the CNI plugins (loopback and lo-eth0). */
  cniBinDir: string;
  cniConfDir: string;
}

export function containerdConfig(input: NodeConfigInput): string {
  const { runDir } = input;
  return `version = 2
root = "${runDir}/containerd/root"
state = "${runDir}/containerd/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs",
                    "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper",
                    "io.containerd.internal.v1.tracing"]
[grpc]
  address = "${runDir}/containerd/containerd.sock"
[ttrpc]
  address = "${runDir}/containerd/containerd.sock.ttrpc"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "${runDir}/containerd/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "${input.pauseImage}"
  # exec/attach streams, reached by the kubelet only.
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  disable_apparmor = true
  enable_selinux = false
  netns_mounts_under_state_dir = true
  enable_unprivileged_ports = false
  enable_unprivileged_icmp = false
  # Without CAP_SYS_RESOURCE the kubelet's negative oom_score_adj (-998 for sandboxes) makes runc fail; clamp it.
  restrict_oom_score_adj = true
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "${input.cniBinDir}"
    conf_dir = "${input.cniConfDir}"
    max_conf_num = 1
`;
}

/** loopback, then lo-eth0: the eth0 with an address that containerd's CRI requires, connected to nothing. */
export function cniNetworkConfig(): string {
  return JSON.stringify({ cniVersion: '1.0.0', name: 'lo-eth0', plugins: [{ type: 'loopback' }, { type: 'lo-eth0' }] });
}

export function kubeletConfig(input: NodeConfigInput): string {
  const { runDir } = input;
  return `apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
containerRuntimeEndpoint: unix://${runDir}/containerd/containerd.sock
cgroupDriver: cgroupfs
# This host mounts cgroup v1; the kubelet refuses it unless told otherwise.
failCgroupV1: false
cgroupRoot: ${input.cgroupRoot}
cgroupsPerQOS: true
enforceNodeAllocatable: ["pods"]
# Never write host sysctls: the namespace masks the three the kubelet checks with the values it wants.
protectKernelDefaults: true
# No KUBE-* chains in the host's iptables.
makeIPTablesUtilChains: false
failSwapOn: false
address: 127.0.0.1
port: ${input.kubeletPort}
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: ${input.kubeletHealthzPort}
podLogsDir: ${runDir}/pod-logs
# The host's resolv.conf names a resolver in a private range; Pods get none.
resolvConf: ""
clusterDomain: cluster.local
# Loopback only; the API server is the only client (exec, logs).
authentication:
  anonymous: {enabled: true}
  webhook: {enabled: false}
  x509: {}
authorization:
  mode: AlwaysAllow
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", nodefs.inodesFree: "1%", imagefs.available: "1%"}
evictionPressureTransitionPeriod: 10s
# The images exist only locally: never collect them.
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
serializeImagePulls: false
registerNode: true
nodeStatusUpdateFrequency: 10s
syncFrequency: 10s
fileCheckFrequency: 20s
shutdownGracePeriod: 0s
localStorageCapacityIsolation: true
`;
}
