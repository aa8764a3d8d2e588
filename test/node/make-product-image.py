#!/usr/bin/env python3
"""Builds the product image as an OCI image archive, the Dockerfile's final stage without Docker or a registry.

usage: make-product-image.py OUTDIR TAG APP_DIR NODE BUSYBOX
  -> OUTDIR/sandbox-storage-webhook-TAG.oci.tar (localhost/sandbox-storage-e2e/sandbox-storage-webhook:TAG)

APP_DIR is what the Dockerfile's production-dependencies stage leaves in /app (npm pack extracted, `npm ci
--omit=dev --ignore-scripts`); test/harness/product-image.ts makes it. NODE is the Node runtime of the `node`
devDependency (the version the Dockerfile's base image pins); the shared libraries it links (ldd) are copied
from this host with the dynamic loader. busybox-static stands in for the base image's dash and coreutils, which
directory-preparation Pods use (sh, mkdir, chown, chmod, stat, id). Same config as the Dockerfile: user
65532:65532, NODE_ENV=production, WORKDIR /app, its ENTRYPOINT and CMD.
"""
import importlib.util
import os
import re
import subprocess
import sys
import tarfile

_spec = importlib.util.spec_from_file_location("make_images", os.path.join(os.path.dirname(os.path.abspath(__file__)), "make-images.py"))
images = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(images)
entry, directory, layer_tar, write_image = images.entry, images.directory, images.layer_tar, images.write_image


def parents(path, seen):
    """Directory entries for every parent of path not added yet (tar consumers want them before the file)."""
    result = []
    parts = path.split("/")[:-1]
    for index in range(1, len(parts) + 1):
        name = "/".join(parts[:index])
        if name not in seen:
            seen.add(name)
            result.append(directory(name))
    return result


def runtime_entries(node, seen):
    """The node binary at /usr/local/bin/node (as in the node image) and what `ldd` says it loads."""
    entries = parents("usr/local/bin/node", seen) + [entry("usr/local/bin/node", mode=0o755, data=open(node, "rb").read())]
    listing = subprocess.run(["ldd", node], capture_output=True, text=True, check=True).stdout
    libraries = set()
    for line in listing.splitlines():
        found = re.search(r"(?:=>\s*)?(/\S+)\s+\(0x", line)
        if found:
            libraries.add(found.group(1))
    for library in sorted(libraries):
        name = library.lstrip("/")
        # The real file's bytes under the name the binary asks for (the host's symlink chains are not needed).
        entries += parents(name, seen) + [entry(name, mode=0o755, data=open(os.path.realpath(library), "rb").read())]
    return entries


def app_entries(app_dir, seen):
    """/app as the Dockerfile copies it: owned by root, not writable by the runtime user."""
    entries = parents("app/x", seen)
    for root, dirs, files in os.walk(app_dir):
        dirs.sort()
        relative = os.path.relpath(root, app_dir)
        base = "app" if relative == "." else "app/" + relative
        for name in dirs + sorted(files):
            path = os.path.join(root, name)
            target = base + "/" + name
            status = os.lstat(path)
            if os.path.islink(path):
                entries.append(entry(target, tarfile.SYMTYPE, 0o777, link=os.readlink(path)))
            elif os.path.isdir(path):
                seen.add(target)
                entries.append(directory(target, mode=0o755))
            else:
                mode = 0o755 if status.st_mode & 0o111 else 0o644
                entries.append(entry(target, mode=mode, data=open(path, "rb").read()))
    # os.walk yields a directory's children after the directory itself: sorted walk order is already parent-first.
    return entries


def main():
    out_dir, tag, app_dir, node, busybox = sys.argv[1:6]
    os.makedirs(out_dir, exist_ok=True)
    base = images.busybox_layer(busybox)
    seen = {info.name for info, _ in base if info.type == tarfile.DIRTYPE}
    layers = [layer_tar(base + runtime_entries(node, seen)), layer_tar(app_entries(app_dir, seen))]
    config = {
        "Env": images.ENV + ["NODE_ENV=production"],
        "WorkingDir": "/app",
        "User": "65532:65532",
        "ExposedPorts": {"8443/tcp": {}},
        "StopSignal": "SIGTERM",
        "Entrypoint": ["node", "/app/dist/src/cli.js"],
        "Cmd": ["serve", "--tls-cert-file=/var/run/sandbox-storage/tls/tls.crt", "--tls-key-file=/var/run/sandbox-storage/tls/tls.key"],
    }
    # The Node runtime alone is 120 MB: the fastest gzip level takes a sixth of the default's time for 12 % more bytes.
    write_image(out_dir, "sandbox-storage-webhook", tag, layers, config, compresslevel=1)


if __name__ == "__main__":
    main()
