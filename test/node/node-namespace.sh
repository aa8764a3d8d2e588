#!/usr/bin/env bash
# PID 1 of the test node's private mount + PID namespace, started by test/harness/real-node.ts as
#   unshare --mount --propagation private --pid --fork --mount-proc --kill-child=SIGTERM \
#     node-namespace.sh RUN_DIR KUBELET IMAGES_DIR
# It runs containerd and the kubelet. Everything they mount (container root filesystems, network namespaces,
# volumes, subPaths) and the masks below exist in this namespace only, and vanish with it; when this script
# exits the kernel kills every process left in the namespace (shims, containers). SIGTERM stops it cleanly.
# RUN_DIR holds containerd.toml, kubelet-config.yaml and kubelet.kubeconfig (real-node.ts writes them); every
# IMAGES_DIR/*.oci.tar is imported into containerd before the kubelet starts.
set -euo pipefail
run_dir=$1
kubelet_binary=$2
images_dir=$3
log() { echo "$(date +%T) node-namespace: $*"; }

containerd_pid=""
kubelet_pid=""
stop() {
  log "stopping"
  if [ -n "$kubelet_pid" ]; then kill -TERM "$kubelet_pid" 2>/dev/null || true; wait "$kubelet_pid" 2>/dev/null || true; fi
  if [ -n "$containerd_pid" ]; then kill -TERM "$containerd_pid" 2>/dev/null || true; wait "$containerd_pid" 2>/dev/null || true; fi
  log "stopped"
  exit 0
}
trap stop TERM INT

# Private /run, /var/lib and /var/log: containerd's shim sockets and the kubelet's hard-coded paths
# (/var/lib/kubelet/device-plugins, /var/log/containers) land in RUN_DIR, never on the host.
mkdir -p "$run_dir/namespace/run/lock" "$run_dir/namespace/var-lib" "$run_dir/namespace/var-log"
ln -sfn /dev/shm "$run_dir/namespace/run/shm"
mount --bind "$run_dir/namespace/run" /run
mount --bind "$run_dir/namespace/var-lib" /var/lib
mount --bind "$run_dir/namespace/var-log" /var/log

# The kubelet insists on three kernel tunables: it would write them on the host, or (protectKernelDefaults)
# exit when they differ. Read-only copies with the values it wants are bind-mounted over them here; the host's
# own values stay untouched and cannot be written from this namespace.
mkdir -p "$run_dir/namespace/sysctl"
for setting in vm/overcommit_memory=1 kernel/panic=10 kernel/panic_on_oops=1; do
  key=${setting%=*}
  copy="$run_dir/namespace/sysctl/${key//\//.}"
  echo "${setting#*=}" > "$copy"
  mount --bind "$copy" "/proc/sys/$key"
  mount -o remount,bind,ro "/proc/sys/$key"
done

socket="$run_dir/containerd/containerd.sock"
containerd --config "$run_dir/containerd.toml" > "$run_dir/containerd.log" 2>&1 &
containerd_pid=$!
for _ in $(seq 1 300); do
  if [ -S "$socket" ] && ctr --address "$socket" version >/dev/null 2>&1; then break; fi
  kill -0 "$containerd_pid" 2>/dev/null || { log "containerd exited; see containerd.log"; exit 1; }
  sleep 0.1
done
log "containerd up"
for image in "$images_dir"/*.oci.tar; do
  ctr --address "$socket" --namespace k8s.io images import "$image" >/dev/null
done
log "images imported"

"$kubelet_binary" --config="$run_dir/kubelet-config.yaml" --kubeconfig="$run_dir/kubelet.kubeconfig" \
  --hostname-override=127.0.0.1 --root-dir="$run_dir/kubelet" --cert-dir="$run_dir/kubelet/pki" --v=1 \
  > "$run_dir/kubelet.log" 2>&1 &
kubelet_pid=$!
log "kubelet started"

# Either daemon dying ends the node: the harness sees this process exit.
while :; do
  kill -0 "$containerd_pid" 2>/dev/null || { log "containerd died"; containerd_pid=""; stop; }
  kill -0 "$kubelet_pid" 2>/dev/null || { log "kubelet died"; kubelet_pid=""; stop; }
  sleep 1 &
  wait $! || true
done
