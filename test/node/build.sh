#!/usr/bin/env bash
# Builds the node binaries of the end-to-end tests (kubelet, kube-scheduler) from the pinned Go module into a
# cache outside the repository, keyed by the pinned version. Prints the binary directory on stdout; progress goes
# to stderr (a cold build takes minutes, so the elapsed time is printed every 30 s). A warm cache returns at once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
kube_version="$(awk '$1=="require" && $2=="k8s.io/kubernetes" {print $3}' "$here/go.mod")"
sum_key="$(cat "$here/go.mod" "$here/go.sum" "$here/tools.go" "$here/build.sh" | sha256sum | cut -c1-12)"
cache_root="${SANDBOX_STORAGE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandbox-storage-webhook/node}"
bin_dir="$cache_root/kube-$kube_version-$sum_key"
binaries=(kubelet kube-scheduler)

complete() { for b in "${binaries[@]}"; do [ -x "$bin_dir/$b" ] || return 1; done; }
if complete; then
  echo "node binaries cached in $bin_dir" >&2
  echo "$bin_dir"
  exit 0
fi

command -v go >/dev/null || { echo "go is required to build the test node (kubelet, kube-scheduler)" >&2; exit 1; }
minor="${kube_version#v1.}"; minor="${minor%%.*}"
flags=""
for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
  flags+=" -X $pkg.gitVersion=$kube_version -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor -X $pkg.gitTreeState=clean"
done
tmp="$bin_dir.partial.$$"
mkdir -p "$tmp"
builder=""
cleanup() {
  if [ -n "$builder" ]; then kill "$builder" 2>/dev/null || true; wait "$builder" 2>/dev/null || true; fi
  rm -rf "$tmp"
}
trap cleanup EXIT
trap 'exit 143' TERM INT
cd "$here"
start=$(date +%s)
echo "building kubelet and kube-scheduler $kube_version (cold build: 4-10 min of CPU, less when the Go build cache holds the control plane's packages)..." >&2
for name in "${binaries[@]}"; do
  echo "  go build k8s.io/kubernetes/cmd/$name ($(( $(date +%s) - start ))s elapsed)" >&2
  CGO_ENABLED=0 go build -trimpath -ldflags "-s -w$flags" -o "$tmp/$name" "k8s.io/kubernetes/cmd/$name" &
  builder=$!
  # The foreground loop prints a heartbeat so a long cold build is not silent; no helper process outlives it.
  seconds=0
  while kill -0 "$builder" 2>/dev/null; do
    sleep 1
    seconds=$((seconds + 1))
    if [ $((seconds % 30)) -eq 0 ]; then echo "  ... still building $name ($(( $(date +%s) - start ))s elapsed)" >&2; fi
  done
  status=0
  wait "$builder" || status=$?
  builder=""
  [ "$status" -eq 0 ] || { echo "go build $name failed (exit $status)" >&2; exit "$status"; }
done
rm -rf "$bin_dir"
mv "$tmp" "$bin_dir"
trap - EXIT
echo "built in $(( $(date +%s) - start ))s: $bin_dir" >&2
echo "$bin_dir"
