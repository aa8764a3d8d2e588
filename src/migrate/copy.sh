#!/bin/sh
# The copy Pod's script of `sandbox-storage migrate run`: copies one identity's directory from the source claim
# (mounted read-only) to its place in the target claim, verifies the copy and writes the target's record.
#
# - Never follows a link out of the source: every component of the source path must be a real directory (checked
#   with test -L before use), and tar copies symlinks as symlinks. Never writes through one in the target: every
#   existing component of the target path must be a real directory, missing ones are made with mkdir, and the copy
#   lands in scratch space ($MIGRATE_RECORD.work) that each run makes afresh, then moves into place by rename.
# - Keeps owners (numeric), modes, times, hard links, symlinks and special files: one tar stream, extracted as root.
# - Never writes over data: a target that holds anything but this script's own reserved names and lost+found is
#   refused. The rename step is journaled ($MIGRATE_RECORD.pending): a rerun after a kill clears what that run
#   moved in and copies again; a rerun after success finds the record and does nothing.
# - Verifies before recording: a manifest of both trees (type, mode, owner, size, mtime and SHA-256 of each file,
#   symlink targets, which paths share an inode) must be equal. The record then names the plan, the item, the
#   number of entries and the manifest's hash. The seeder adopts such a volume (files, no seed record): it keeps
#   every file and only adds what the image has and the volume lacks.
# - Result: one line `{"result": ..., ...}` on stdout and in the termination log (the run reads it from there,
#   not from the log, where tar's messages may quote hostile file names).
#
# Environment: MIGRATE_SOURCE_ROOT, MIGRATE_SOURCE_PATH (relative, '' for the root), MIGRATE_TARGET_ROOT,
# MIGRATE_TARGET_PATH, MIGRATE_PLAN, MIGRATE_KEY, MIGRATE_RECORD (a file name), MIGRATE_RESULT_FILE (optional;
# default /dev/termination-log when writable).
# Tools (busybox and coreutils/findutils/tar alike): sh, tar, find, stat, sort, awk, sha256sum, readlink, mkdir,
# mv, rm, chmod, chown, cat, cmp, wc, head, tr, id.

set -eu
LC_ALL=C
export LC_ALL
umask 0
nl='
'
record=$MIGRATE_RECORD
result_file=${MIGRATE_RESULT_FILE:-/dev/termination-log}

say() { printf 'sandbox-storage migrate: %s\n' "$*" >&2; }

# finish RESULT DETAIL_JSON: the one result line, to stdout and the result file.
finish() {
  line="{\"result\":\"$1\"$2}"
  printf '%s\n' "$line"
  if [ -n "$result_file" ] && { [ -w "$result_file" ] || [ ! -e "$result_file" ]; }; then
    printf '%s\n' "$line" >"$result_file" 2>/dev/null || true
  fi
}

# fail MESSAGE: a refusal or an error; nothing of the source was changed, the target holds no half copy as done.
fail() {
  message=$(printf '%s' "$*" | tr '\n\042\134' '   ' | tr -d '\000-\037' | head -c 1000)
  say "$message"
  finish failed ",\"message\":\"$message\""
  exit 1
}

case "$record" in '' | */* | . | ..) fail "MIGRATE_RECORD must be a file name" ;; esac
case "/$MIGRATE_SOURCE_PATH/$MIGRATE_TARGET_PATH/" in */../* | */./*) fail "paths must not contain . or .. segments" ;; esac
# On one claim, a source and a target nested in each other would copy the copy (the plan refuses them too).
if [ "$MIGRATE_SOURCE_ROOT" = "$MIGRATE_TARGET_ROOT" ]; then
  from=/$MIGRATE_SOURCE_PATH
  from=${from%/}/
  to=/$MIGRATE_TARGET_PATH
  to=${to%/}/
  case "$to" in "$from"*) fail "the target is inside the source" ;; esac
  case "$from" in "$to"*) fail "the source is inside the target" ;; esac
fi

# real_dir ROOT PATH CREATE: walks PATH below ROOT one component at a time, refusing symlinks and non-directories;
# with CREATE=yes a missing component is made (mode 0755). Sets $dir to the full path (no subshell: fail exits).
real_dir() {
  dir=$1
  rest=$2
  while [ -n "$rest" ]; do
    part=${rest%%/*}
    if [ "$part" = "$rest" ]; then rest=''; else rest=${rest#*/}; fi
    dir=$dir/$part
    if [ -L "$dir" ]; then fail "$dir is a symbolic link; not followed"; fi
    # umask, not mkdir -m: busybox makes the directory first and chmods it after, so a kill can leave it 0777.
    if [ ! -e "$dir" ] && [ "$3" = yes ]; then (umask 022 && mkdir "$dir") || fail "cannot create $dir"; fi
    if [ ! -d "$dir" ]; then fail "$dir is missing or not a directory"; fi
  done
}

real_dir "$MIGRATE_SOURCE_ROOT" "$MIGRATE_SOURCE_PATH" no
src=$dir
real_dir "$MIGRATE_TARGET_ROOT" "$MIGRATE_TARGET_PATH" yes
target=$dir
scratch=$target/$record.work
pending=$target/$record.pending

# Done before (the record of this plan and item): nothing to do. Another plan's record: not ours to touch.
if [ -L "$target/$record" ]; then rm -f "$target/$record"; fi
if [ -f "$target/$record" ]; then
  recorded_plan=$(awk '$1 == "plan" { print $2 }' "$target/$record")
  recorded_key=$(awk '$1 == "key" { print $2 }' "$target/$record")
  if [ "$recorded_plan" = "$MIGRATE_PLAN" ] && [ "$recorded_key" = "$MIGRATE_KEY" ]; then
    rm -rf "$pending" "$scratch"
    finish 'done' "$(awk '$1 == "entries" { e = $2 } $1 == "sha256" { h = $2 } END { printf ",\"entries\":%d,\"sha256\":\"%s\"", e, h }' "$target/$record")"
    exit 0
  fi
  fail "target $target holds data migrated by plan $recorded_plan"
fi

# A journal of this plan and item: a run was killed while moving its copy in; what is there is that copy's.
if [ -f "$pending" ] && [ ! -L "$pending" ] && [ "$(cat "$pending")" = "$MIGRATE_PLAN $MIGRATE_KEY" ]; then
  for entry in "$target"/* "$target"/.[!.]* "$target"/..?*; do
    if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then continue; fi
    case "${entry##*/}" in "$record" | "$record".*) ;; *) rm -rf "$entry" ;; esac
  done
fi
rm -rf "$pending" "$scratch" "$target/$record.tmp"

for entry in "$target"/* "$target"/.[!.]* "$target"/..?*; do
  if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then continue; fi
  case "${entry##*/}" in
    "$record" | "$record".*) ;;
    lost+found) if [ -e "$src/lost+found" ] || [ -L "$src/lost+found" ]; then fail "target $target is not empty"; fi ;;
    *) fail "target $target is not empty; nothing is written over data" ;;
  esac
done

for entry in "$src"/"$record" "$src"/"$record".*; do
  if [ -e "$entry" ] || [ -L "$entry" ]; then fail "the source has an entry at the reserved name ${entry##*/}"; fi
done
if [ -n "$(cd "$src" && find . -name "*$nl*" | head -c 1)" ]; then fail "the source has a name with a newline; not supported"; fi

(umask 077 && mkdir "$scratch" "$scratch/tree")
status=$scratch/status
{ (cd "$src" && tar -cf - .) || echo "tar -c exited $?" >"$status"; } | (cd "$scratch/tree" && tar -xpf - --numeric-owner) || echo "tar -x failed" >>"$status"
if [ -s "$status" ]; then fail "copy failed: $(head -n 2 "$status")"; fi
# busybox tar does not restore the owner of a symlink: set it (never following the link) from the source's.
if [ "$(id -u)" = 0 ]; then
  (cd "$src" && find . -type l -exec sh -c 'tree=$1; shift; for link; do chown -h "$(stat -c %u:%g "$link")" "$tree/$link"; done' sh "$scratch/tree" {} +)
fi

# manifest DIR [meta]: every entry but the reserved names at the top, sorted; directory sizes and times are the
# file system's and not compared. With `meta`, no content hashes (a rename within the volume does not change them).
manifest() {
  (
    cd "$1"
    find . ! -type s ! -path "./$record" ! -path "./$record.*" -exec stat -c '%F|%a|%u:%g|%s|%Y|%n' {} + |
      awk -F'|' '{ if ($1 == "directory") { $4 = "-"; $5 = "-" } else if ($1 == "symbolic link") $5 = "-"; print }' OFS='|' | sort
    echo '# sha256'
    if [ "${2:-}" != meta ]; then find . -type f ! -path "./$record" ! -path "./$record.*" -exec sha256sum {} + | sort -k 2; fi
    echo '# symlinks'
    find . -type l ! -path "./$record" ! -path "./$record.*" -exec sh -c 'for link; do printf "%s -> %s\n" "$link" "$(readlink "$link")"; done' sh {} + | sort
    echo '# hard links'
    find . ! -type d -links +1 ! -path "./$record" ! -path "./$record.*" -exec stat -c '%i %n' {} + |
      sort | awk '$1 != inode { if (group != "") print group; inode = $1; group = "" } { sub(/^[0-9]+ /, ""); group = group " " $0 } END { if (group != "") print group }' | sort
  )
}

# Both sides at once (hashing is most of the time; the source and the copy are on different disks or cores).
manifest "$src" >"$scratch/source.manifest" &
source_manifest=$!
manifest "$scratch/tree" >"$scratch/copy.manifest"
wait "$source_manifest" || fail "cannot read the source's manifest"
if ! cmp -s "$scratch/source.manifest" "$scratch/copy.manifest"; then fail "the copy differs from the source (changed while copying?)"; fi

# Into place: journal first, then one rename per top-level entry, then the directory's own owner and mode.
printf '%s %s' "$MIGRATE_PLAN" "$MIGRATE_KEY" >"$pending"
for entry in "$scratch/tree"/* "$scratch/tree"/.[!.]* "$scratch/tree"/..?*; do
  if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then continue; fi
  if [ -e "$target/${entry##*/}" ] || [ -L "$target/${entry##*/}" ]; then fail "$target/${entry##*/} appeared while copying"; fi
  mv "$entry" "$target/"
done
chown "$(stat -c '%u:%g' "$src")" "$target"
chmod "$(stat -c '%a' "$src")" "$target"

manifest "$src" meta >"$scratch/source.meta"
manifest "$target" meta >"$scratch/target.meta"
if ! cmp -s "$scratch/source.meta" "$scratch/target.meta"; then fail "the target differs from the source after the move"; fi
# Every entry below the directory (the manifest's first section, minus the directory itself).
entries=$(awk '/^# sha256$/ { exit } { n++ } END { print n - 1 }' "$scratch/source.manifest")
hash=$(sha256sum <"$scratch/source.manifest" | awk '{ print $1 }')

{
  echo 'sandbox-storage migrated 1'
  echo "plan $MIGRATE_PLAN"
  echo "key $MIGRATE_KEY"
  echo "entries $entries"
  echo "sha256 $hash"
} >"$target/$record.tmp"
chown "$(stat -c '%u:%g' "$src")" "$target/$record.tmp"
chmod 0444 "$target/$record.tmp"
mv "$target/$record.tmp" "$target/$record"
rm -rf "$pending" "$scratch"
finish copied ",\"entries\":$entries,\"sha256\":\"$hash\""
