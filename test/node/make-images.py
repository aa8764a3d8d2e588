#!/usr/bin/env python3
"""Builds the end-to-end test images as OCI image archives, without registry or daemon (standard library only).

usage: make-images.py OUTDIR CATATONIT BUSYBOX   -> OUTDIR/<name>-<tag>.oci.tar, imported with `ctr images import`

  pause:1       catatonit -P: the Pod sandbox process (sleeps, reaps zombies, exits on SIGTERM)
  busybox:1     busybox-static with its applets (/bin/sh, tar, ...): directory-preparation Pods, probes
  sandbox:1     busybox + a /sandbox tree: dotfiles, subdirectories, an executable, a symlink, files of
                several owners, a file sandbox:2 changes, one it removes
  sandbox:2     sandbox:1 plus a layer that changes, adds and removes files (whiteouts, as image builders do)
  shell-less:1  a /sandbox tree and catatonit, no shell at all

Every archive is reproducible: fixed times, sorted entries, gzip without a timestamp.
"""
import gzip
import hashlib
import io
import json
import os
import subprocess
import sys
import tarfile

REGISTRY = "localhost/sandbox-storage-e2e"
ENV = ["PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"]
SANDBOX_UID = 1000


def entry(name, kind=tarfile.REGTYPE, mode=0o644, uid=0, gid=0, data=None, link=""):
    info = tarfile.TarInfo(name)
    info.type, info.mode, info.uid, info.gid, info.linkname, info.mtime = kind, mode, uid, gid, link, 0
    info.uname = info.gname = ""
    info.size = len(data) if data is not None else 0
    return info, data


def directory(name, uid=0, gid=0, mode=0o755):
    return entry(name, tarfile.DIRTYPE, mode, uid, gid)


def layer_tar(entries):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for info, data in entries:
            archive.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def write_image(out_dir, name, tag, layers, config, compresslevel=9):
    """layers: uncompressed layer tars, bottom first; compresslevel 1 for big layers built often."""
    blobs = {}

    def put(content):
        digest = "sha256:" + hashlib.sha256(content).hexdigest()
        blobs[digest] = content
        return {"digest": digest, "size": len(content)}

    layer_descriptors = [
        {"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **put(gzip.compress(tar, compresslevel=compresslevel, mtime=0))} for tar in layers
    ]
    image_config = {
        "architecture": "amd64",
        "os": "linux",
        "created": "1970-01-01T00:00:00Z",
        "config": {"Env": ENV, "WorkingDir": "/", **config},
        "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar).hexdigest() for tar in layers]},
        "history": [{"created": "1970-01-01T00:00:00Z", "created_by": "make-images.py"} for _ in layers],
    }
    config_descriptor = {"mediaType": "application/vnd.oci.image.config.v1+json", **put(json.dumps(image_config, sort_keys=True).encode())}
    manifest = {"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json", "config": config_descriptor, "layers": layer_descriptors}
    manifest_descriptor = put(json.dumps(manifest, sort_keys=True).encode())
    reference = f"{REGISTRY}/{name}:{tag}"
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [
            {
                "mediaType": "application/vnd.oci.image.manifest.v1+json",
                **manifest_descriptor,
                "platform": {"architecture": "amd64", "os": "linux"},
                "annotations": {"io.containerd.image.name": reference, "org.opencontainers.image.ref.name": tag},
            }
        ],
    }
    files = [directory("blobs"), directory("blobs/sha256")]
    files.append(entry("oci-layout", data=json.dumps({"imageLayoutVersion": "1.0.0"}).encode()))
    files.append(entry("index.json", data=json.dumps(index, sort_keys=True).encode()))
    files += [entry("blobs/sha256/" + digest.split(":")[1], data=content) for digest, content in sorted(blobs.items())]
    path = os.path.join(out_dir, f"{name}-{tag}.oci.tar")
    with open(path + ".partial", "wb") as archive:
        archive.write(layer_tar(files))
    os.replace(path + ".partial", path)
    print(f"{path}: {reference} {manifest_descriptor['digest']}", file=sys.stderr)


def busybox_layer(busybox):
    binary = open(busybox, "rb").read()
    listing = subprocess.run([busybox, "--list"], capture_output=True, text=True, check=True).stdout.split()
    applets = sorted(set(listing) - {"busybox"})
    entries = [directory(d) for d in ("bin", "etc", "root", "var")] + [directory("tmp", mode=0o1777)]
    entries.append(entry("bin/busybox", mode=0o755, data=binary))
    entries += [entry("bin/" + applet, tarfile.SYMTYPE, 0o777, link="busybox") for applet in applets]
    entries.append(entry("etc/passwd", data=b"root:x:0:0:root:/root:/bin/sh\nsandbox:x:1000:1000:sandbox:/sandbox:/bin/sh\n"))
    entries.append(entry("etc/group", data=b"root:x:0:\nsandbox:x:1000:\n"))
    return entries


def sandbox_tree_v1():
    """The image's /sandbox: what a user's workspace is seeded with."""
    u = {"uid": SANDBOX_UID, "gid": SANDBOX_UID}
    return [
        directory("sandbox", **u),
        entry("sandbox/README.md", data=b"sandbox image version 1\n", **u),
        entry("sandbox/.profile", data=b"export EDITOR=vi\n", **u),
        directory("sandbox/.config", **u, mode=0o700),
        directory("sandbox/.config/agent", **u),
        entry("sandbox/.config/agent/settings.json", data=b'{"model": "v1"}\n', mode=0o600, **u),
        directory("sandbox/bin", **u),
        entry("sandbox/bin/run-task", mode=0o755, data=b"#!/bin/sh\necho task ran\n", **u),
        entry("sandbox/latest", tarfile.SYMTYPE, 0o777, link="README.md", **u),
        directory("sandbox/notes", **u),
        entry("sandbox/notes/todo.txt", data=b"image todo\n", **u),
        entry("sandbox/edit-me.txt", data=b"image text version 1\n", **u),
        entry("sandbox/obsolete.txt", data=b"dropped by version 2\n", **u),
        directory("sandbox/vendor"),
        entry("sandbox/vendor/root-owned.txt", data=b"owned by root in the image\n"),
        entry("sandbox/vendor/other-owner.txt", data=b"owned by uid 2000 in the image\n", uid=2000, gid=2000),
    ]


def sandbox_changes_v2():
    """The layer sandbox:2 adds on top of sandbox:1: changed, added and (whiteouts) removed files."""
    u = {"uid": SANDBOX_UID, "gid": SANDBOX_UID}
    return [
        directory("sandbox", **u),
        entry("sandbox/README.md", data=b"sandbox image version 2\n", **u),
        entry("sandbox/edit-me.txt", data=b"image text version 2\n", **u),
        entry("sandbox/.wh.obsolete.txt", data=b""),
        entry("sandbox/added-in-v2.txt", data=b"new in version 2\n", **u),
        directory("sandbox/notes", **u),
        entry("sandbox/notes/todo.txt", data=b"image todo, version 2\n", **u),
        directory("sandbox/tools", **u),
        entry("sandbox/tools/new-tool", mode=0o755, data=b"#!/bin/sh\necho new tool\n", **u),
    ]


def main():
    out_dir, catatonit, busybox = sys.argv[1:4]
    os.makedirs(out_dir, exist_ok=True)
    catatonit_binary = open(catatonit, "rb").read()
    write_image(out_dir, "pause", "1", [layer_tar([entry("catatonit", mode=0o755, data=catatonit_binary)])],
                {"Entrypoint": ["/catatonit", "-P"]})
    base = layer_tar(busybox_layer(busybox))
    write_image(out_dir, "busybox", "1", [base], {"Cmd": ["/bin/sh"]})
    v1 = layer_tar(busybox_layer(busybox) + sandbox_tree_v1())
    write_image(out_dir, "sandbox", "1", [v1], {"Cmd": ["/bin/sh"], "User": "1000"})
    write_image(out_dir, "sandbox", "2", [v1, layer_tar(sandbox_changes_v2())], {"Cmd": ["/bin/sh"], "User": "1000"})
    shell_less = [directory("bin"), entry("bin/catatonit", mode=0o755, data=catatonit_binary)] + sandbox_tree_v1()
    write_image(out_dir, "shell-less", "1", [layer_tar(shell_less)], {"Entrypoint": ["/bin/catatonit", "-P"]})


if __name__ == "__main__":
    main()
