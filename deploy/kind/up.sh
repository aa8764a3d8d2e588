#!/usr/bin/env bash
# Creates a kind cluster, builds the image, loads it into the cluster, installs the chart, waits until the webhook
# serves, then runs the end-to-end suite against the cluster. Needs docker, kind, kubectl; helm is taken from
# $PATH or built by test/helm/build.sh.
#   deploy/kind/up.sh            everything
#   SKIP_E2E=1 deploy/kind/up.sh  cluster and install only
# Settings (environment): CLUSTER_NAME, IMAGE, KIND_NODE_IMAGE, HELM_EXTRA_ARGS (e.g. "--set replicaCount=1").
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cluster="${CLUSTER_NAME:-sandbox-storage}"
image="${IMAGE:-sandbox-storage-webhook:dev}"
release=sandbox-storage-webhook
namespace=sandbox-storage-system

log() { printf '\n--- %s\n' "$*" >&2; }
need() { command -v "$1" >/dev/null 2>&1 || { echo "up.sh needs $1 on PATH" >&2; exit 1; }; }
need docker
need kind
need kubectl

if command -v helm >/dev/null 2>&1; then
  helm_bin="$(command -v helm)"
else
  log "building helm from its Go module"
  helm_bin="$(bash "$repo/test/helm/build.sh")"
fi

if kind get clusters 2>/dev/null | grep -qx "$cluster"; then
  log "kind cluster $cluster exists: reusing it"
else
  log "creating kind cluster $cluster"
  node_image_args=()
  if [ -n "${KIND_NODE_IMAGE:-}" ]; then node_image_args=(--image "$KIND_NODE_IMAGE"); fi
  kind create cluster --name "$cluster" --config "$repo/deploy/kind/cluster.yaml" "${node_image_args[@]}" --wait 120s
fi

kubeconfig="$(mktemp)"
trap 'rm -f "$kubeconfig"' EXIT
kind get kubeconfig --name "$cluster" >"$kubeconfig"
export KUBECONFIG="$kubeconfig"

log "building image $image"
docker build -t "$image" "$repo"

log "loading $image into $cluster"
kind load docker-image "$image" --name "$cluster"

log "installing the chart"
repository="${image%:*}"
tag="${image##*:}"
# Word splitting of HELM_EXTRA_ARGS is intended: it holds several arguments.
# shellcheck disable=SC2086
"$helm_bin" upgrade --install "$release" "$repo/deploy/helm/sandbox-storage-webhook" \
  --namespace "$namespace" --create-namespace \
  --set image.repository="$repository" --set image.tag="$tag" --set image.pullPolicy=Never \
  --wait --timeout 5m ${HELM_EXTRA_ARGS:-}

log "waiting for the webhook"
kubectl -n "$namespace" rollout status "deployment/$release" --timeout=180s
# The self-managed certificate: the CA bundle is patched in once the first replica created it.
for _ in $(seq 1 60); do
  ca_bundle="$(kubectl get mutatingwebhookconfiguration "$release" -o jsonpath='{.webhooks[0].clientConfig.caBundle}')"
  [ -n "$ca_bundle" ] && break
  sleep 2
done
if [ -z "${ca_bundle:-}" ]; then
  echo "the CA bundle never reached the webhook configuration" >&2
  kubectl -n "$namespace" logs "deployment/$release" --tail=50 >&2 || true
  exit 1
fi

if [ "${SKIP_E2E:-}" = 1 ]; then
  log "installed; e2e skipped. KUBECONFIG: kind get kubeconfig --name $cluster"
  exit 0
fi

log "loading the end-to-end test images into $cluster"
tools_dir="$(bash "$repo/test/node/prerequisites.sh" --images-only)"
images_dir="$(mktemp -d)"
trap 'rm -f "$kubeconfig"; rm -rf "$images_dir"' EXIT
python3 "$repo/test/node/make-images.py" "$images_dir" "$tools_dir/catatonit" "$tools_dir/busybox"
for archive in "$images_dir"/*.oci.tar; do
  kind load image-archive "$archive" --name "$cluster"
done

log "running the end-to-end suite against $cluster"
cd "$repo"
SANDBOX_STORAGE_E2E_KUBECONFIG="$kubeconfig" npm run test:e2e
