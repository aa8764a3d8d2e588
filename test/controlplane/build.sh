#!/usr/bin/env bash
# Builds the test control plane (etcd, kube-apiserver, kube-controller-manager, kubectl) from the
# pinned Go modules into a cache outside the repository, keyed by the pinned versions.
# Prints the binary directory on stdout; progress goes to stderr. A warm cache returns at once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kube_version="$(awk '$1=="k8s.io/kubernetes" && $2 ~ /^v/ {print $2}' "$here/go.mod")"
etcd_version="$(awk '$1=="go.etcd.io/etcd/server/v3" {print $2}' "$here/go.mod")"
sum_key="$(cat "$here/go.mod" "$here/go.sum" "$here/etcd/main.go" "$here/tools.go" "$here/build.sh" | sha256sum | cut -c1-12)"
cache_root="${SANDBOX_STORAGE_CONTROLPLANE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandbox-storage-webhook/controlplane}"
bin_dir="$cache_root/kube-$kube_version-etcd-$etcd_version-$sum_key"
binaries=(etcd kube-apiserver kube-controller-manager kubectl)

complete() { for b in "${binaries[@]}"; do [ -x "$bin_dir/$b" ] || return 1; done; }
if complete; then
  echo "control plane binaries cached in $bin_dir" >&2
  echo "$bin_dir"
  exit 0
fi

command -v go >/dev/null || { echo "go is required to build the test control plane" >&2; exit 1; }
minor="${kube_version#v1.}"; minor="${minor%%.*}"
flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  flags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
tmp="$bin_dir.partial.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
cd "$here"
start=$(date +%s)
echo "building etcd $etcd_version, kube-apiserver, kube-controller-manager and kubectl $kube_version (cold build takes several minutes)..." >&2
for target in ./etcd k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl; do
  echo "  go build $target ($(( $(date +%s) - start ))s elapsed)" >&2
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w$flags" -o "$tmp/" "$target"
done
rm -rf "$bin_dir"
mv "$tmp" "$bin_dir"
trap - EXIT
echo "built in $(( $(date +%s) - start ))s: $bin_dir" >&2
echo "$bin_dir"
