// The seed init container's script: copies the sandbox image's own directory (e.g. /sandbox) into the persistent
// volume on first use. The webhook runs it in the sandbox container's image as `/bin/sh -c <seedScript>`, with the
// volume mounted at a staging path and every parameter passed in the environment variables of `seedEnvironment`.
//
// Properties, each covered by test/unit/seed-script.test.ts under dash and under busybox sh + busybox tar:
// - Idempotent: anything at $SEED_TARGET/$SEED_SENTINEL means "seeded", and the script exits at once without copying,
//   so later restarts never overwrite what the user changed (or resurrect what they deleted).
// - Crash-safe: the sentinel is written (temp file + mv) only after a complete copy; any failure exits non-zero
//   without it, so the next start redoes the copy, and tar overwrites whatever a crashed attempt left behind.
// - Copies with a tar stream, never `cp -a`: symlinks are archived as symlinks and never followed, so loops such as
//   `self -> .` and links pointing outside the directory are copied verbatim. The exit status of both ends of the
//   pipe is checked (POSIX sh has no pipefail): each end reports it on fd 3 into a command substitution, which needs
//   no writable file outside the volume and leaves no status file in it.
// - Modes are kept exactly: the extracting tar runs with `umask 0` and `-p`, so 0700 stays 0700 and 0775 stays 0775
//   for a non-root user too (`-p` lets GNU tar keep a directory's setgid/sticky bit as non-root; busybox tar accepts
//   and ignores it). As root, tar restores the recorded owners; with SEED_UID/SEED_GID set, the copied tree is then
//   chowned to them (`chown -R -h`: symlinks themselves, never their targets). Not root: files belong to the running
//   user and no chown is attempted.
// - Only the source's top-level entries are archived (not `.`), so the volume root keeps its own metadata (a
//   non-root user could not change a mount point it does not own, and an fsGroup setgid bit stays); with SEED_UID set
//   as root, the volume root is chowned too. Entries of the source named like the sentinel (`<sentinel>`,
//   `<sentinel>.*`) are left out, so image contents can never pose as the sentinel or its temp file.
// - POSIX sh only, with tar, chown, mv, rm, date and id: works with dash, bash, busybox ash and busybox tar.
//
// Known limits: ACLs, xattrs (including file capabilities) are not copied; busybox tar does not restore the owner of
// symlinks (root-owned unless SEED_UID is set) and, run as non-root, drops the setgid/sticky bit of directories and
// cannot fill a read-only (e.g. 0555) directory. Non-root, any tar drops setuid/setgid bits of files.
//
// Inside this template literal, `\${` and `\\` produce the shell's `${` and `\`.

/** Names of the environment variables the seed script reads. */
export const seedEnvironment = {
  /** Absolute path of the image directory to copy, e.g. `/sandbox`. A missing directory means nothing to seed. */
  source: 'SEED_SOURCE',
  /** Absolute path where the volume is mounted in the init container, e.g. `/sandbox-storage/seed-target`. */
  target: 'SEED_TARGET',
  /** File name (no `/`) of the sentinel inside the target, e.g. `.sandbox-storage-seeded`. */
  sentinel: 'SEED_SENTINEL',
  /** Image reference, recorded in the sentinel and the log. */
  image: 'SEED_IMAGE',
  /** Optional numeric uid the copied files are chowned to when the script runs as root. */
  uid: 'SEED_UID',
  /** Optional numeric gid the copied files are chowned to when the script runs as root. */
  gid: 'SEED_GID',
} as const;

/** The POSIX sh seed script; run it as `["/bin/sh", "-c", seedScript]` with the `seedEnvironment` variables set. */
export const seedScript = `set -eu
log() { printf 'sandbox-storage seed: %s\\n' "$*"; }
fail() { printf 'sandbox-storage seed: error: %s\\n' "$*" >&2; exit 1; }

src=\${SEED_SOURCE-}
target=\${SEED_TARGET-}
sentinel=\${SEED_SENTINEL-}
image=\${SEED_IMAGE-}
uid=\${SEED_UID-}
gid=\${SEED_GID-}
case "$src" in /*) ;; *) fail "SEED_SOURCE must be an absolute path, got '$src'" ;; esac
case "$target" in /*) ;; *) fail "SEED_TARGET must be an absolute path, got '$target'" ;; esac
case "$sentinel" in ''|.|..|*/*) fail "SEED_SENTINEL must be a plain file name, got '$sentinel'" ;; esac
case "$uid" in *[!0-9]*) fail "SEED_UID must be a numeric user id, got '$uid'" ;; esac
case "$gid" in *[!0-9]*) fail "SEED_GID must be a numeric group id, got '$gid'" ;; esac
[ -d "$target" ] || fail "target $target is not a directory (is the volume mounted?)"

done_file="$target/$sentinel"
if [ -e "$done_file" ] || [ -L "$done_file" ]; then
  log "volume at $target already seeded ($sentinel exists), nothing to copy"
  exit 0
fi

owner="$uid"
if [ -n "$gid" ]; then owner="$owner:$gid"; fi
euid=$(id -u 2>/dev/null) || euid=''
chown_tree=false
if [ -n "$owner" ]; then
  if [ "$euid" = 0 ]; then
    chown_tree=true
  elif [ "$uid" != "$euid" ]; then
    log "running as uid \${euid:-unknown}, not root: the copied files belong to that user, not to $owner"
  fi
fi

own_target_root() {
  if [ "$chown_tree" = true ]; then chown "$owner" "$target" || fail "cannot chown $target to $owner"; fi
}

write_sentinel() {
  tmp="$done_file.tmp"
  rm -f "$tmp"
  {
    printf 'image=%s\\n' "$image"
    printf 'seeded-at=%s\\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')"
    printf 'source=%s\\n' "$src"
    printf 'entries=%s\\n' "$1"
  } >"$tmp"
  if [ "$chown_tree" = true ]; then chown -h "$owner" "$tmp"; fi
  mv -f "$tmp" "$done_file"
}

if [ ! -d "$src" ]; then
  own_target_root
  write_sentinel 0
  log "$src does not exist in image $image (or is not a directory): nothing to seed, marked volume at $target as seeded"
  exit 0
fi

cd "$src" || fail "cannot enter $src"
set --
for entry in ./* ./.[!.]* ./..?*; do
  if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then continue; fi
  case "\${entry#./}" in
    "$sentinel"|"$sentinel".*) log "not copying $src/\${entry#./}: the name is reserved for the seed sentinel" ;;
    *) set -- "$@" "$entry" ;;
  esac
done
if [ "$#" -eq 0 ]; then
  own_target_root
  write_sentinel 0
  log "$src is empty in image $image: nothing to copy, marked volume at $target as seeded"
  exit 0
fi

started=$(date +%s 2>/dev/null) || started=''
statuses=$(
  {
    {
      rc=0
      tar -cf - "$@" || rc=$?
      echo "create=$rc" >&3
    } | {
      rc=0
      (umask 0 && exec tar -C "$target" -xpvf -) || rc=$?
      echo "extract=$rc" >&3
    } | {
      n=0
      while IFS= read -r line; do n=$((n + 1)); done
      echo "entries=$n" >&3
    }
  } 3>&1 >/dev/null
) || true
create_rc=''
extract_rc=''
entries=0
for status in $statuses; do
  case "$status" in
    create=*) create_rc="\${status#create=}" ;;
    extract=*) extract_rc="\${status#extract=}" ;;
    entries=*) entries="\${status#entries=}" ;;
  esac
done
if [ "$create_rc" != 0 ] || [ "$extract_rc" != 0 ]; then
  fail "copying $src into $target failed (tar create exit \${create_rc:-unknown}, tar extract exit \${extract_rc:-unknown}); the volume is not marked as seeded, the next start copies again"
fi

if [ "$chown_tree" = true ]; then
  cd "$target" || fail "cannot enter $target"
  chown -R -h "$owner" "$@" || fail "cannot chown the copied files in $target to $owner"
  own_target_root
fi
write_sentinel "$entries"

finished=$(date +%s 2>/dev/null) || finished=''
took=''
case "$started:$finished" in
  [0-9]*:[0-9]*) case "$started$finished" in *[!0-9]*) ;; *) took=" in $((finished - started))s" ;; esac ;;
esac
log "copied $src from image $image into volume at $target ($entries entries)$took"
`;
