#!/usr/bin/env bash
# What the end-to-end test node needs besides kubelet and kube-scheduler (build.sh): Debian's containerd, runc and
# CNI plugins (installed with apt-get when missing), and two static binaries for the test images, taken from their
# Debian packages without installing them: catatonit (the pause process) and busybox-static (the images' shell and
# tools; installing it would replace the host's busybox package). Prints the directory holding catatonit and
# busybox on stdout; progress goes to stderr. Needs root when something is missing.
# --images-only: only the two static binaries (for building the test images to load into another cluster).
set -euo pipefail
cache_root="${SANDBOX_STORAGE_NODE_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sandbox-storage-webhook/node}"
tools_dir="$cache_root/static-tools"
packages=(containerd runc containernetworking-plugins)

images_only=false
[ "${1:-}" = --images-only ] && images_only=true

missing=()
for package in "${packages[@]}"; do
  [ "$images_only" = true ] && break
  dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed' || missing+=("$package")
done
if [ "${#missing[@]}" -gt 0 ]; then
  [ "$(id -u)" = 0 ] || { echo "the test node needs the Debian packages ${missing[*]}: run as root or apt-get install them" >&2; exit 1; }
  echo "installing ${missing[*]} with apt-get..." >&2
  apt-get update -qq
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

# extract PACKAGE BINARY-INSIDE-PACKAGE NAME: the binary, from the package's .deb, copied to $tools_dir/NAME.
extract() {
  [ -x "$tools_dir/$3" ] && return 0
  echo "fetching $1 (extracted, not installed)..." >&2
  local work
  work="$(mktemp -d)"
  (cd "$work" && apt-get download "$1" >/dev/null 2>&1) || { apt-get update -qq && (cd "$work" && apt-get download "$1" >/dev/null); }
  dpkg-deb -x "$work"/"$1"_*.deb "$work/root"
  mkdir -p "$tools_dir"
  cp "$work/root/$2" "$tools_dir/$3.partial"
  mv "$tools_dir/$3.partial" "$tools_dir/$3"
  rm -rf "$work"
}
extract catatonit usr/bin/catatonit catatonit
extract busybox-static bin/busybox busybox
echo "$tools_dir"
