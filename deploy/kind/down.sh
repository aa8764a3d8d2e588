#!/usr/bin/env bash
# Deletes the kind cluster made by up.sh (and everything in it).
set -euo pipefail
cluster="${CLUSTER_NAME:-sandbox-storage}"
command -v kind >/dev/null 2>&1 || { echo "down.sh needs kind on PATH" >&2; exit 1; }
if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  kind delete cluster --name "$cluster"
else
  echo "no kind cluster named $cluster" >&2
fi
