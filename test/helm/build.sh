#!/usr/bin/env bash
# Builds the helm CLI from the pinned Go module into a cache outside the repository, keyed by the pinned version.
# Prints the binary's path on stdout; progress goes to stderr. A warm cache returns at once.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
helm_version="$(awk '$1=="require" && $2=="helm.sh/helm/v4" {print $3} $1=="helm.sh/helm/v4" {print $2}' "$here/go.mod" | head -n1)"
sum_key="$(cat "$here/go.mod" "$here/go.sum" "$here/tools.go" "$here/build.sh" | sha256sum | cut -c1-12)"
cache_root="${SANDBOX_STORAGE_HELM_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandbox-storage-webhook/helm}"
bin_dir="$cache_root/helm-$helm_version-$sum_key"

if [ -x "$bin_dir/helm" ]; then
  echo "helm $helm_version cached in $bin_dir" >&2
  echo "$bin_dir/helm"
  exit 0
fi

command -v go >/dev/null || { echo "go is required to build helm" >&2; exit 1; }
tmp="$bin_dir.partial.$$"
mkdir -p "$tmp"
trap 'rm -rf "$tmp"' EXIT
cd "$here"
start=$(date +%s)
echo "building helm $helm_version (cold: 5-7 min of CPU, less when the Go build cache already holds the Kubernetes libraries)..." >&2
# helm reports its version from these variables; without them `helm version` shows a placeholder.
ldflags="-s -w -X helm.sh/helm/v4/internal/version.version=$helm_version"
CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$tmp/helm" helm.sh/helm/v4/cmd/helm
rm -rf "$bin_dir"
mv "$tmp" "$bin_dir"
trap - EXIT
echo "built in $(( $(date +%s) - start ))s: $bin_dir" >&2
echo "$bin_dir/helm"
