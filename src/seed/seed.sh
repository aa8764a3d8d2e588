#!/bin/sh
# The seed init container's script: brings the sandbox image's own directory (e.g. /sandbox) into the persistent
# volume, and merges later image versions into it. The webhook runs it as `/bin/sh -c <seedScript>` with the volume
# mounted at a staging path and every parameter in the environment variables of `seedEnvironment`; either in the
# sandbox's own image, or in the project's seeder image with the sandbox image mounted as an image volume.
#
# The record ($SEED_TARGET/$SEED_SENTINEL) says what was seeded: format version, image reference, hash tool, and a
# manifest line per seeded entry: type (f, d, l, o), mode, size, hash (of the content; of the target for symlinks)
# and path. Every start reads its header only; the same image is a no-op in milliseconds.
#
# What happens to each entry (docs/seeding.md has the table):
# - No record, empty volume (lost+found aside): first seed with GNU cp (two at once) or else one tar stream (hard
#   links, FIFOs, modes and times kept; symlinks copied as symlinks, never followed) into scratch space on the
#   volume, then the top-level entries renamed into place by one `mv -n` (never over anything), then the record. A
#   crash leaves no record and only complete entries. The manifest is read from the image while it is copied, and nothing is moved into place
#   before both are done, so an unreadable image fails with nothing copied.
# - No record, volume with files (a pre-existing PVC, a share used before, a deleted record, a killed first seed):
#   adopted. Merged like an upgrade in which every image path is new: what the volume has is kept, what it lacks is
#   added; the record then holds the image's version of every path, so later merges see the user's as changed.
# - Another image and SEED_RESEED=merge: the image's tree (N), the recorded manifest (O) and the volume's current
#   state of those paths (C) decide per path: C equal to N: unchanged. Image-added (no O): copied, unless the volume
#   already has something there (kept). Image-changed and C equal to O (the user never touched it): updated.
#   C differs from O: kept as the user left it; a file the image changed too gets the image's new version beside
#   it as NAME.sandbox-storage-new (replacing an earlier one, never a symlink or directory there) and a note line. Equal means same type and content, and the same mode or the mode
#   kubelet's fsGroup pass makes of it (group bits, setgid), which is no edit of the user's.
#   Type changes: a file or symlink the user never touched becomes the image's directory; a directory becomes the
#   image's file or symlink only if everything in it is as seeded (deleted entries do not count); else it is kept
#   and noted. C missing: skipped, never resurrected (also everything below a
#   directory the user deleted). Not in N any more: left in place. Paths under SEED_IMAGE_OWNED are the image's:
#   always replaced, and removed when the image drops them. SEED_RESEED=never: a recorded volume is never touched.
# - Crash safety of a merge: changed files and symlinks, and whole new directories with their final mode and owner,
#   are staged with tar inside the volume, then each top-most staged entry is moved into place with one rename.
#   The few steps that must remove before replacing (a directory in the way, a type change) are journaled in
#   $SEED_SENTINEL.pending first, so that a rerun reads them as untouched, not deleted.
#   The record is written last (temp file + rename), so a rerun after kill -9 redoes the same merge.
# - Temporary files only inside $SEED_SENTINEL.work, which each run creates afresh with mkdir: no name the user
#   could have planted (a symlink at a temp name) is ever written through.
# - Never following user symlinks: the volume's state is read with stat of each path (not following the last
#   component), and a path below anything that is not a real directory counts as absent-and-blocked.
# - Not root and a path it cannot write (files of another user): left as it is, noted, and recorded as before the
#   run (or not at all), so the run completes and a seeder that can write it later sees it unchanged.
# - Owner: as root with SEED_UID/SEED_GID, everything written (copied entries, new directories, the record and the
#   volume root on the first seed) is chowned (`chown -h`, never through a symlink). Not root: files belong to the
#   running user, which the webhook makes the sandbox's own. `umask 0` and `tar -p` keep modes exactly (0700 stays).
# - Special files and names with a newline are copied by the first seed's tar stream only, and logged; a merge
#   never creates them. Hard links become separate files when a merge updates them.
# - SEED_HOME (workspace volumes): the seeded tree is $SEED_TARGET/$SEED_HOME, which the sandbox mounts as its
#   subPath; the record and scratch space stay at the root. Each start makes it a real directory of the sandbox user
#   (anything else there, a symlink above all, is renamed aside into it) and moves the user's entries of the earlier
#   layout (files at the root) into it by rename, never over anything.
# - Output: notes for kept/skipped paths (at most 20), then one summary line: added, updated, kept, skipped, bytes, ms.
#   What the user should know (new versions put beside their files, type changes not applied, entries moved aside)
#   also goes to the termination message ($SEED_TERMINATION_LOG, default /dev/termination-log, only if it exists).
#
# Tools it needs, all in busybox and in coreutils/findutils/tar/mawk: sh, tar, find, stat, xargs, awk, tr, cut, grep,
# head, wc, readlink, sha256sum (or md5sum), mkdir, mv, rm, chmod, chown, cat, date, id. With GNU coreutils 9 it
# copies with cp and records cksum's CRC instead; when the image has openssl, SHA-256 comes from it (several times
# faster: coreutils and busybox use no CPU extensions).
# Known limits: ACLs and xattrs (file capabilities) are not copied; busybox tar, non-root, drops setgid/sticky bits of
# directories and setuid bits of files, and cannot fill read-only (0555) directories; a volume shared by several running Pods of one user is
# merged without locking (the seed runs before the sandbox starts, not against concurrent writers).

set -eu
LC_ALL=C
export LC_ALL
log() { printf 'sandbox-storage seed: %s\n' "$*"; }
work=''
image_reader=''
# remove_scratch PATH...: rm -rf, also of read-only directories a non-root run staged (only directories are
# chmodded: find -type d never follows the symlinks in there).
remove_scratch() {
  rm -rf "$@" 2>/dev/null && return 0
  find "$@" -type d -exec chmod u+rwx {} + 2>/dev/null || true
  rm -rf "$@"
}
# The first seed's background reader of the image only reports: the scratch space is the main run's to remove
# (a reader left over from a killed run must not remove the space of the run that replaced it).
in_reader=false
fail() {
  printf 'sandbox-storage seed: error: %s\n' "$*" >&2
  if [ -n "$image_reader" ]; then kill "$image_reader" 2>/dev/null || true; fi
  if [ -n "$work" ] && [ "$in_reader" = false ]; then remove_scratch "$work" || true; fi
  exit 1
}
# Milliseconds from GNU date, else from the kernel's uptime (busybox date has no %N).
now_ms() {
  t=$(date +%s%N 2>/dev/null) || t=''
  case "$t" in
    ''|*[!0-9]*)
      t=''
      if [ -r /proc/uptime ]; then read -r t _ </proc/uptime || t=''; fi
      case "$t" in [0-9]*.[0-9][0-9]) t="${t%.*}${t#*.}0" ;; *) t="$(date +%s)000" ;; esac
      ;;
    *) t=${t%??????} ;;
  esac
  printf '%s' "$t"
}
started=$(now_ms)

src=${SEED_SOURCE-}
target=${SEED_TARGET-}
sentinel=${SEED_SENTINEL-}
image=${SEED_IMAGE-}
uid=${SEED_UID-}
gid=${SEED_GID-}
reseed=${SEED_RESEED:-merge}
owned=${SEED_IMAGE_OWNED-}
case "$src" in /*) ;; *) fail "SEED_SOURCE must be an absolute path, got '$src'" ;; esac
case "$target" in /*) ;; *) fail "SEED_TARGET must be an absolute path, got '$target'" ;; esac
case "$sentinel" in ''|.|..|*/*) fail "SEED_SENTINEL must be a plain file name, got '$sentinel'" ;; esac
case "$uid" in *[!0-9]*) fail "SEED_UID must be a numeric user id, got '$uid'" ;; esac
case "$gid" in *[!0-9]*) fail "SEED_GID must be a numeric group id, got '$gid'" ;; esac
case "$reseed" in merge|never) ;; *) fail "SEED_RESEED must be merge or never, got '$reseed'" ;; esac
[ -d "$target" ] || fail "target $target is not a directory (is the volume mounted?)"
home=${SEED_HOME-}
case "$home" in
  '') ;;
  .|..|*/*|lost+found|"$sentinel"|"$sentinel".*) fail "SEED_HOME must be a plain directory name other than the record's, got '$home'" ;;
esac

# The record and the scratch space live at the volume root; the seeded tree is the root itself, or with SEED_HOME
# the directory of that name in it (the sandbox then mounts only that directory).
root=$target
record="$root/$sentinel"
work="$root/$sentinel.work"
pending="$root/$sentinel.pending"
nl='
'
tab=$(printf '\t')
# What kubelet turns into the container's termination message (a short report the controller makes an Event of).
termination_log=${SEED_TERMINATION_LOG:-/dev/termination-log}
# Report lines "kind<TAB>path" for that message: beside, unplaced, retype, moved.
report=''

# report_end: the report as the termination message: counts and the first paths, within kubelet's 4 KB. Written
# only when there is something to report, and only into a file that is there (kubelet bind-mounts it).
report_end() {
  [ -n "$report" ] && [ -f "$termination_log" ] && [ ! -L "$termination_log" ] || return 0
  printf '%s' "$report" | awk -F "$tab" '
    { n[$1]++; if (length(paths) + length($0) < 3000) paths = paths $1 ": " substr($0, length($1) + 2, 300) "\n" }
    END {
      printf "sandbox-storage-seed-report 1\nbeside=%d unplaced=%d retype=%d moved=%d\n%s", n["beside"], n["unplaced"], n["retype"], n["moved"], paths
    }' >"$termination_log" 2>/dev/null || true
}
add_report() { report="$report$1$tab$2$nl"; }

euid=$(id -u 2>/dev/null) || euid=''
owner="$uid"
if [ -n "$gid" ]; then owner="$owner:$gid"; fi

# set_mode MODE PATH: exactly MODE. Five digits, because GNU chmod keeps a directory's setgid bit (which an
# fsGroup volume root passes on to new directories) for a shorter numeric mode.
set_mode() {
  set_mode_digits=$1
  while [ "${#set_mode_digits}" -lt 5 ]; do set_mode_digits="0$set_mode_digits"; done
  chmod "$set_mode_digits" "$2"
}

# free_name PATH: PATH, or PATH.2, PATH.3, ... the first name nothing (not even a dangling symlink) has.
free_name() {
  free_candidate=$1
  free_index=1
  while [ -e "$free_candidate" ] || [ -L "$free_candidate" ]; do
    free_index=$((free_index + 1))
    free_candidate="$1.$free_index"
  done
  printf '%s' "$free_candidate"
}

# move_entry FROM TO: one rename (never onto anything: the caller picked a free name). A directory needs write
# permission on itself to change its parent: a read-only one of ours gets u+w for the move.
move_entry() {
  move_mode=''
  if [ -d "$1" ] && [ ! -L "$1" ] && [ ! -w "$1" ] && [ "$euid" != 0 ]; then
    move_mode=$(stat -c %a "$1") && chmod u+w "$1" || return 1
  fi
  mv "$1" "$2" || return 1
  if [ -n "$move_mode" ]; then chmod "$move_mode" "$2" || return 1; fi
}

# The home directory: the sandbox container mounts $root/$home as a subPath, and kubelet resolves a symlink there
# (keeping it only inside the volume). So right before the sandbox starts it must be a real directory owned by the
# sandbox user: anything else at that name is moved aside (into it), and the user's entries of the earlier layout
# (files at the volume root) are moved into it, one rename each, so a killed run resumes and nothing is
# overwritten: on a name clash the root's entry goes in as NAME.sandbox-storage-root.
prepare_home() {
  homedir="$root/$home"
  if [ -L "$homedir" ] || { [ -e "$homedir" ] && [ ! -d "$homedir" ]; }; then
    aside=$(free_name "$homedir.displaced")
    mv "$homedir" "$aside" || fail "cannot move $homedir (not a directory) aside"
    log "moved aside $home (a symlink or file, not a directory) as ${aside##*/}"
    add_report moved "$home -> ${aside##*/}"
  fi
  if [ ! -d "$homedir" ]; then
    # The mode of the earlier /sandbox (the root) when there is the user's tree to move in, else the image's.
    home_mode=755
    if [ -f "$record" ] || [ -e "$homedir.displaced" ]; then home_mode=$(stat -c %a "$root") || fail "cannot stat $root"
    elif [ -d "$src" ]; then home_mode=$(stat -c %a "$src") || fail "cannot stat $src"
    fi
    mkdir "$homedir" || fail "cannot create $homedir"
    set_mode "$home_mode" "$homedir" || fail "cannot set the mode of $homedir"
  fi
  if [ -n "$owner" ] && [ "$euid" = 0 ]; then
    chown -h "$owner" "$homedir" || fail "cannot chown $homedir to $owner"
  elif [ -n "$euid" ] && [ "$(stat -c %u "$homedir")" != "$euid" ]; then
    log "$homedir belongs to uid $(stat -c %u "$homedir"), not to this uid $euid: it cannot be made the sandbox user's here"
  fi
  for entry in "$root"/* "$root"/.[!.]* "$root"/..?*; do
    if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then continue; fi
    name=${entry##*/}
    case "$name" in "$home"|"$sentinel"|"$sentinel".*|lost+found) continue ;; esac
    dest="$homedir/$name"
    if [ -e "$dest" ] || [ -L "$dest" ]; then
      dest=$(free_name "$dest.sandbox-storage-root")
      log "moved $name from the volume root into $home as ${dest##*/}: $home has its own $name"
      add_report moved "$name -> ${dest##*/}"
    fi
    if ! move_entry "$entry" "$dest"; then
      [ "$euid" != 0 ] || fail "cannot move $entry into $homedir"
      log "left at the volume root (cannot move it as uid $euid): $name"
      add_report moved "$name (left at the volume root)"
    fi
  done
  target=$homedir
}

summary() {
  # summary WHAT ADDED UPDATED KEPT SKIPPED BYTES
  log "$1: added $2, updated $3, kept $4, skipped $5, $6 bytes copied, $(( $(now_ms) - started )) ms"
}

if [ -n "$home" ]; then prepare_home; fi

# The record's header: format version, then key=value lines up to the manifest marker.
version=''
recorded_image=''
recorded_hash=''
if [ -L "$record" ] || { [ -e "$record" ] && [ ! -f "$record" ]; }; then
  log "$record is not a regular file: the volume counts as seeded and is left alone"
  report_end
  exit 0
fi
if [ -f "$record" ]; then
  version=1
  while IFS= read -r line; do
    case "$line" in
      'sandbox-storage-seed-record 2') version=2 ;;
      image=*) recorded_image=${line#image=} ;;
      hash=*) recorded_hash=${line#hash=} ;;
      ---) break ;;
    esac
  done <"$record"
  if [ "$version" = 2 ] && [ "$recorded_image" = "$image" ]; then
    if [ -e "$work" ] || [ -L "$work" ] || [ -e "$pending" ] || [ -L "$pending" ]; then remove_scratch "$work" "$pending"; fi
    summary "up to date: volume at $target was seeded from image $image" 0 0 0 0 0
    report_end
    exit 0
  fi
  if [ "$reseed" = never ]; then
    summary "volume at $target was seeded from image $recorded_image; image is now $image and spec.seed.reseed is never, so nothing is copied" 0 0 0 0 0
    report_end
    exit 0
  fi
fi

chown_tree=false
if [ -n "$owner" ]; then
  if [ "$euid" = 0 ]; then
    chown_tree=true
  elif [ "$uid" != "$euid" ]; then
    log "running as uid ${euid:-unknown}, not root: the copied files belong to that user, not to $owner"
  fi
fi

# GNU find lists type, mode and size itself (-printf), several times faster than stat in batches. GNU tar
# streams in 64 KiB records (-b 128) instead of 10 KiB: a sixth less CPU for the same archive.
find_printf=false
scan_reserved=''
if find / -maxdepth 0 -printf '' 2>/dev/null; then find_printf=true; fi
# GNU cp copies a tree without tar's archive and pipe: ≈ 40 % less CPU than tar | tar.
gnu_cp=false
case "$(cp --version 2>/dev/null)" in *'GNU coreutils'*) gnu_cp=true ;; esac
gnu_tar=false
if [ "$gnu_cp" = false ]; then
  case "$(tar --version 2>/dev/null)" in *'GNU tar'*) gnu_tar=true ;; esac
fi
# The record's content digest (docs/seeding.md, "The content digest"). A new record uses the cheapest one the image
# has: CRC-32 and size from GNU cksum (coreutils 9, `-a`: CPU instructions, a third of the CPU of the fastest
# SHA-256 here), else SHA-256, else MD5. A merge hashes with the tool its record was written with, so that the
# volume's files compare with the record of any earlier version (any cksum computes the same POSIX CRC).
crc_of_nothing='4294967295 0'
hasher=''
if [ "$version" = 2 ]; then
  case "$recorded_hash" in
    cksum) if [ "$(cksum </dev/null 2>/dev/null)" = "$crc_of_nothing" ]; then hasher='cksum'; fi ;;
    sha256sum|md5sum) if command -v "$recorded_hash" >/dev/null 2>&1; then hasher=$recorded_hash; fi ;;
  esac
fi
if [ -z "$hasher" ] && [ "$(cksum -a crc </dev/null 2>/dev/null)" = "$crc_of_nothing" ]; then hasher='cksum'; fi
if [ -z "$hasher" ]; then
  for candidate in sha256sum md5sum; do
    if command -v "$candidate" >/dev/null 2>&1; then hasher=$candidate; break; fi
  done
fi
[ -n "$hasher" ] || fail "neither cksum, sha256sum nor md5sum is available in this image; use spec.seed.source: imageVolume"
# The same SHA-256 from openssl when the image has it: several times faster than coreutils' or busybox's
# sha256sum, which use no CPU extensions. Used only if it hashes the empty input right.
openssl_sha=false
if [ "$hasher" = sha256sum ] && command -v openssl >/dev/null 2>&1; then
  case "$(openssl dgst -sha256 -r </dev/null 2>/dev/null)" in
    e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855*) openssl_sha=true ;;
  esac
fi

# hash_files LIST [TOOL]: "hash  name" lines for the newline-separated names in LIST, relative to the current
# directory; openssl when the image has it, unless TOOL says otherwise. openssl does not escape names, so names with
# a backslash must go to the hasher, which does.
hash_files() {
  if [ "$openssl_sha" = true ] && [ "${2-}" != "$hasher" ]; then
    tr '\n' '\0' <"$1" | xargs -0 -r openssl dgst -sha256 -r
  else
    tr '\n' '\0' <"$1" | xargs -0 -r "$hasher"
  fi
}

# Scratch space on the volume itself (rename needs the same filesystem); left over from a crash, it is redone.
# Every temporary file lives in it: mkdir creates it afresh (it fails on anything already there, a symlink
# included), so no name in it can have been planted. Whatever else sits at a reserved name and is not what this
# script leaves there (temp names of earlier versions, a journal that is no regular file) goes, never followed.
remove_scratch "$work" "$record.tmp" "$pending.tmp"
if [ -L "$pending" ] || { [ -e "$pending" ] && [ ! -f "$pending" ]; }; then remove_scratch "$pending"; fi
(umask 077 && mkdir "$work") || fail "cannot create $work"

# scan ROOT OUT [LIST]: manifest lines "type<TAB>mode<TAB>size<TAB>hash<TAB>path" (type f, d, l or o; for symlinks
# the hash is of the link's target) of every entry below ROOT, or of the "./"-prefixed paths in LIST. Entries
# below something that is not a directory are left out, so a symlink in the path is never followed.
scan() {
  scan_root=$1
  scan_out=$2
  # Names with a newline are left out (GNU find prints an "n" line for each: their count is logged).
  if [ "$#" -gt 2 ]; then
    (cd "$scan_root" && tr '\n' '\0' <"$3" | xargs -0 stat -c '%f %a %s %n' 2>/dev/null) >"$scan_out.stat" || true
  elif [ "$find_printf" = true ]; then
    # A symlink's target comes on the line after it ("L" lines), unless the target has a newline.
    # OUT.linked: "device:inode path" of each file with several links (a split first seed links them again).
    (cd "$scan_root" && find . ! -name . \( ! -type d -links +1 ! -path "*$nl*" -fprintf "$scan_out.linked" '%D:%i %p\n' -o -true \) \
      \( -path "*$nl*" -prune -printf 'n\n' -o -type l ! -lname "*$nl*" -printf 'L %m %s %p\n%l\n' -o -printf '%y %m %s %p\n' \)) \
      >"$scan_out.stat" || fail "cannot list $scan_root"
  else
    (cd "$scan_root" && find . ! -name . ! -path "*$nl*" -exec stat -c '%f %a %s %n' {} +) >"$scan_out.stat" \
      || fail "cannot list $scan_root"
  fi
  : >"$scan_out.files"
  : >"$scan_out.files.2"
  : >"$scan_out.files.escaped"
  : >"$scan_out.links"
  # OUT.links: the symlinks' paths; OUT.links.targets: for each, "=TARGET" when the listing had it, else "?".
  awk -v dot=. -v files="$scan_out.files" -v links="$scan_out.links" -v odd="$scan_out.odd" -v openssl="$openssl_sha" '
    # The type from stat %f (the mode in hex) or from find %y (a letter).
    function kind(t) {
      if (t ~ /^[a-z]$/) return t == "f" || t == "d" || t == "l" ? t : "o"
      t = substr(t, 1, length(t) - 3); return t == "8" ? "f" : t == "4" ? "d" : t == "a" ? "l" : "o"
    }
    $0 == "n" { n++; next }
    {
      known = "?"
      if (substr($0, 1, 2) == "L ") { getline line; known = "=" line; $0 = "l" substr($0, 2) }
      split($0, f, " "); path = substr($0, length(f[1]) + length(f[2]) + length(f[3]) + 4)
      parent = path; sub(/\/[^\/]*$/, "", parent)
      if (parent != dot && !(parent in dirs)) next
      t = kind(f[1]); if (t == "d") dirs[path] = 1
      if (t == "f" && openssl == "true" && index(path, "\\")) print path > (files ".escaped")
      else if (t == "f") print path > (nf++ % 2 ? files ".2" : files)
      if (t == "l") { print path > links; print known > (links ".targets") }
      print t "\t" f[2] "\t" f[3] "\t" path
    }
    END { print n + 0 > odd }' "$scan_out.stat" >"$scan_out.entries"
  # Hashing is most of the cost: two halves at once, so a second core (or the gaps of a tar stream) takes one.
  (cd "$scan_root" && hash_files "$scan_out.files.2") >"$scan_out.hashes.2" 2>"$scan_out.errors.2" &
  scan_hasher=$!
  (
    cd "$scan_root" && hash_files "$scan_out.files" \
      && { [ ! -s "$scan_out.files.escaped" ] || hash_files "$scan_out.files.escaped" "$hasher"; }
  ) >"$scan_out.hashes" 2>"$scan_out.errors" || true
  wait "$scan_hasher" || true
  # Symlinks: each target is written to a numbered file (printf is a builtin), and all of them hashed in one batch;
  # readlink runs only for the targets the listing did not have.
  : >"$scan_out.targets"
  if [ -s "$scan_out.links" ]; then
    mkdir "$scan_out.t"
    link_index=0
    exec 4<"$scan_out.links.targets"
    while IFS= read -r link; do
      link_index=$((link_index + 1))
      IFS= read -r known <&4 || known='?'
      case "$known" in
        =*) link_target=${known#=} ;;
        *) link_target=$(readlink "$scan_root/$link") || continue ;;
      esac
      printf '%s' "$link_target" >"$scan_out.t/$link_index"
    done <"$scan_out.links"
    exec 4<&-
    (cd "$scan_out.t" && find . -type f | hash_files /dev/stdin) >"$scan_out.targets" 2>/dev/null || true
  fi
  # With scan_reserved (the record's name) set, entries of that name are left out and listed in OUT.reserved.
  # OUT.count: special files (and names with a newline) counted, entries, bytes of the files.
  : >"$scan_out.reserved"
  awk -F "$tab" -v hashes="$scan_out.hashes" -v links="$scan_out.links" -v targets="$scan_out.targets" \
    -v odd="$scan_out.odd" -v reserved="$scan_reserved" -v out="$scan_out" -v crc="$hasher" '
    # split_line(LINE): h and name of an output line of the hasher: "HASH  NAME" ("HASH *NAME" from openssl; a
    # leading backslash: NAME is escaped), or cksum'"'"'s "CRC SIZE NAME" (never escaped; the size is in the manifest).
    function split_line(line,   escaped, at) {
      escaped = crc != "cksum" && substr(line, 1, 1) == "\\"; if (escaped) line = substr(line, 2)
      at = index(line, " "); h = substr(line, 1, at - 1); line = substr(line, at + 1)
      name = crc == "cksum" ? substr(line, index(line, " ") + 1) : substr(line, 2)
      if (escaped) gsub(/\\\\/, "\\", name)
    }
    BEGIN {
      if ((getline odds < odd) <= 0) odds = 0
      for (half = 1; half <= 2; half++) {
        file = half == 1 ? hashes : hashes ".2"
        while ((getline line < file) > 0) { split_line(line); hash[name] = h }
      }
      while ((getline line < targets) > 0) { split_line(line); sub(/^\.\//, "", name); target[name] = h }
      n = 0
      while ((getline line < links) > 0) { n++; if (n in target) hash[line] = target[n] }
    }
    {
      path = substr($0, length($1 $2 $3) + 4); p = substr(path, 3)
      if (reserved != "") {
        top = p; sub(/\/.*/, "", top)
        if (top == reserved || index(top, reserved ".") == 1) { print p > (out ".reserved"); next }
      }
      h = (path in hash) ? hash[path] : "-"
      if ($1 == "f" && h == "-") h = "unreadable"
      if ($1 == "o") odds++
      if ($1 == "f") bytes += $3
      entries++
      print $1 "\t" $2 "\t" $3 "\t" h "\t" p
    }
    END { print odds + 0, entries + 0, bytes + 0 > (out ".count") }' "$scan_out.entries" >"$scan_out"
}

# read_image: the image's tree (a missing directory seeds nothing) as $work/new.<pid> (its counts in .count);
# entries named like the record are never copied. The file names carry the shell's pid: a first seed reads the
# image while it copies, and the reader of a killed run must not write into the files of the run that replaces it.
read_image() {
  image_out="$work/new.$$"
  echo '0 0 0' >"$image_out.count"
  : >"$image_out.reserved"
  if [ -d "$src" ]; then
    scan_reserved=$sentinel
    scan "$src" "$image_out"
    scan_reserved=''
    if [ -s "$image_out.errors" ] || [ -s "$image_out.errors.2" ]; then
      fail "cannot read files of $src: $(cat "$image_out.errors" "$image_out.errors.2" | head -n 3 | tr '\n' ' ')"
    fi
  else
    : >"$image_out"
  fi
  while IFS= read -r reserved; do
    case "$reserved" in */*) ;; *) log "not copying $src/$reserved: the name is reserved for the seed record" ;; esac
  done <"$image_out.reserved"
  read -r odd _ <"$image_out.count"
  if [ "$find_printf" = false ] && [ -d "$src" ]; then odd=$((odd + $(cd "$src" && find . -path "*$nl*" -prune -print | wc -l))); fi
  if [ "$odd" -gt 0 ]; then
    log "$odd special files (FIFOs, sockets, devices) or names with a newline: copied by the first seed only, never merged"
  fi
}

# write_record [ENTRIES]: the record of $work/new (ENTRIES: its number of lines, when known).
write_record() {
  tmp="$work/record"
  {
    printf 'sandbox-storage-seed-record 2\n'
    printf 'image=%s\n' "$image"
    printf 'source=%s\n' "$src"
    printf 'seeded-at=%s\n' "$(date -u '+%Y-%m-%dT%H:%M:%SZ')"
    printf 'hash=%s\n' "$hasher"
    printf 'entries=%s\n' "${1:-$(wc -l <"$work/new" | tr -d ' ')}"
    printf -- '---\n'
    cat "$work/new"
  } >"$tmp"
  if [ "$chown_tree" = true ]; then chown -h "$owner" "$tmp"; fi
  mv -f "$tmp" "$record"
  remove_scratch "$work" "$pending"
}

own_target_root() {
  if [ "$chown_tree" = true ]; then chown "$owner" "$target" || fail "cannot chown $target to $owner"; fi
}

# volume_is_empty: nothing in the volume but the record's reserved names and a file system's lost+found.
volume_is_empty() {
  for entry in "$target"/* "$target"/.[!.]* "$target"/..?*; do
    if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then continue; fi
    case "${entry##*/}" in
      "$sentinel"|"$sentinel".*) ;;
      # The file system's, unless the image has one too (then it is merged, not renamed over).
      lost+found) if [ -e "$src/lost+found" ] || [ -L "$src/lost+found" ]; then return 1; fi ;;
      *) return 1 ;;
    esac
  done
  return 0
}

# copy_entries ENTRY...: GNU cp of the entries into $work/first, keeping what tar -p keeps: modes, times, hard links
# among them, and as root the image's owners; symlinks and special files as they are. Not root, it does not try the
# owners, as tar does not: a cp that fails to keep them drops setuid and setgid bits.
copy_keep=mode,timestamps,links
if [ "$euid" = 0 ]; then copy_keep=mode,ownership,timestamps,links; fi
copy_entries() {
  (umask 0 && exec cp -R -P --preserve="$copy_keep" -- "$@" "$work/first/")
}
# copy_half 0|1 ENTRY...: copy_entries of the even (0) or odd (1) positions.
copy_half() {
  copy_pick=$1
  shift
  copy_position=0
  for entry do
    shift
    if [ "$((copy_position % 2))" = "$copy_pick" ]; then set -- "$@" "$entry"; fi
    copy_position=$((copy_position + 1))
  done
  [ "$#" -eq 0 ] || copy_entries "$@"
}

adopting=false
if [ -z "$version" ] && ! volume_is_empty; then
  # Files but no record (a pre-existing PVC, a share used before, a deleted record, a first seed killed after some
  # entries were in place): merged as if every path were new in the image, so what the volume has wins.
  adopting=true
fi

if [ -z "$version" ] && [ "$adopting" = false ]; then
  # First seed of an empty volume: one tar stream (keeps hard links, special files, modes, times) into scratch
  # space on the volume, then the top-level entries renamed into place, complete and owned. A crash leaves no
  # record and only complete entries, which the next start adopts. The manifest is made from the image while
  # tar copies it (hashing is most of its cost); nothing is moved into place before it is complete, so an
  # unreadable image fails with nothing copied.
  { in_reader=true; read_image; } &
  image_reader=$!
  set --
  if [ -d "$src" ]; then
    cd "$src" || fail "cannot enter $src"
    for entry in ./* ./.[!.]* ./..?*; do
      if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then continue; fi
      case "${entry#./}" in
        "$sentinel"|"$sentinel".*) ;;
        *) set -- "$@" "$entry" ;;
      esac
    done
  fi
  create_rc=0
  extract_rc=0
  copy_rc=0
  split_copy=false
  if [ "$#" -gt 0 ] && [ "$gnu_cp" = true ]; then
    mkdir "$work/first" || fail "cannot create $work/first"
    # Two cps, each with every other top-level entry, use two cores as tar | tar does. A hard link between the
    # halves becomes two files there; the listing of the image names every such file, and they are linked again
    # below, before anything is moved into place.
    if [ "$#" -gt 1 ] && [ "$find_printf" = true ]; then
      split_copy=true
      copy_half 1 "$@" &
      copy_half_pid=$!
      copy_half 0 "$@" || copy_rc=$?
      wait "$copy_half_pid" || copy_rc=$?
    else
      copy_entries "$@" || copy_rc=$?
    fi
  elif [ "$#" -gt 0 ]; then
    mkdir "$work/first" || fail "cannot create $work/first"
    statuses=$(
      {
        {
          rc=0
          if [ "$gnu_tar" = true ]; then tar -cf - -b 128 "$@" || rc=$?; else tar -cf - "$@" || rc=$?; fi
          echo "create=$rc" >&3
        } | {
          rc=0
          if [ "$gnu_tar" = true ]; then
            (umask 0 && exec tar -C "$work/first" -xpf - -b 128) || rc=$?
          else
            (umask 0 && exec tar -C "$work/first" -xpf -) || rc=$?
          fi
          echo "extract=$rc" >&3
        }
      } 3>&1 >/dev/null
    ) || true
    create_rc=''
    extract_rc=''
    for status in $statuses; do
      case "$status" in
        create=*) create_rc="${status#create=}" ;;
        extract=*) extract_rc="${status#extract=}" ;;
      esac
    done
  fi
  # The reader's own error (an unreadable file) says more than tar's exit status.
  reader=$image_reader
  image_reader=''
  wait "$reader" || fail "reading $src for the seed record failed; the volume is not marked as seeded, the next start copies again"
  if [ "$copy_rc" != 0 ]; then
    fail "copying $src into $target failed (cp exit $copy_rc); the volume is not marked as seeded, the next start copies again"
  fi
  if [ "$create_rc" != 0 ] || [ "$extract_rc" != 0 ]; then
    fail "copying $src into $target failed (tar create exit ${create_rc:-unknown}, tar extract exit ${extract_rc:-unknown}); the volume is not marked as seeded, the next start copies again"
  fi
  if [ "$#" -gt 0 ]; then
    cd "$work/first" || fail "cannot enter $work/first"
    if [ "$split_copy" = true ] && [ -s "$work/new.$$.linked" ]; then
      # Each further path of an inode becomes a link to its first path again (within a half it already is one).
      # (Paths under the record's reserved names were not copied.)
      awk -v reserved="$sentinel" '{
        at = index($0, " "); key = substr($0, 1, at - 1); path = substr($0, at + 1)
        top = substr(path, 3); sub(/\/.*/, "", top)
        if (top == reserved || index(top, reserved ".") == 1) next
        if (key in first) { print first[key]; print path } else first[key] = path
      }' "$work/new.$$.linked" >"$work/relink"
      while IFS= read -r link_from && IFS= read -r link_to; do
        ln -f -P -- "$link_from" "$link_to" || fail "cannot link $link_to to $link_from as in the image"
      done <"$work/relink"
    fi
    if [ "$chown_tree" = true ]; then
      chown -R -h "$owner" "$@" || fail "cannot chown the copied files to $owner"
    fi
    # The volume was empty when this run started; anything there now is not ours to replace. Renaming a
    # directory to another parent needs write permission on it: a read-only one (0555) gets it for its own move
    # (unless root); all others go with one mv that never replaces anything.
    for entry do
      shift
      if [ -e "$target/$entry" ] || [ -L "$target/$entry" ]; then fail "$target/${entry#./} appeared during the seed"; fi
      if [ -d "$entry" ] && [ ! -L "$entry" ] && [ ! -w "$entry" ]; then
        entry_mode=$(stat -c %a "$entry") || fail "cannot stat $entry"
        chmod u+w "$entry" || fail "cannot make $entry writable to move it"
        mv -n "$entry" "$target/$entry" || fail "cannot move ${entry#./} into place"
        [ ! -e "$entry" ] || fail "$target/${entry#./} appeared during the seed"
        chmod "$entry_mode" "$target/$entry" || fail "cannot restore the mode of ${entry#./}"
      else
        set -- "$@" "$entry"
      fi
    done
    move_rc=0
    if [ "$#" -gt 0 ]; then mv -n -- "$@" "$target/" || move_rc=$?; fi
    # mv -n leaves what it would have replaced where it was.
    for entry do
      if [ -e "$entry" ] || [ -L "$entry" ]; then fail "$target/${entry#./} appeared during the seed"; fi
    done
    [ "$move_rc" = 0 ] || fail "cannot move the copied entries into place (mv exit $move_rc)"
    cd / || fail "cannot leave $work/first"
  fi
  read -r _ added bytes <"$work/new.$$.count"
  mv -f "$work/new.$$" "$work/new"
  own_target_root
  write_record "$added"
  if [ ! -d "$src" ]; then log "$src does not exist in image $image (or is not a directory): nothing to seed"; fi
  summary "first seed of volume at $target from image $image" "$added" 0 0 0 "$bytes"
  report_end
  exit 0
fi

# Upgrade merge, or adoption of a volume without a record. The image is read first: it decides what is copied.
read_image
mv -f "$work/new.$$" "$work/new"
# The previous manifest says what was seeded; a record without one (an older format) adopts the
# image's current files as that baseline, which copies nothing and never overwrites or resurrects anything.
# Adoption has no baseline: every image path counts as new, so it is added where missing and kept where present.
if [ "$adopting" = true ]; then
  : >"$work/old"
  owned=''
elif [ "$version" = 2 ]; then
  awk 'seen { print } $0 == "---" { seen = 1 }' "$record" >"$work/old"
else
  cat "$work/new" >"$work/old"
fi
comparable=1
if [ "$version" = 2 ] && [ "$recorded_hash" != "$hasher" ]; then comparable=0; fi
printf '%s\n' "$owned" | awk 'NF' >"$work/owned"
: >"$work/journal"
if [ -f "$pending" ]; then
  { IFS= read -r pending_image || true; } <"$pending"
  if [ "$pending_image" = "image=$image" ]; then cat "$pending" >"$work/journal"; fi
fi
# A directory the image turned into something else is replaced only if it holds nothing of the user's, so
# everything in it is read too (a directory of the volume: find does not follow the symlinks in it).
awk -F "$tab" '
  function rest(line) { return substr(line, length($1 $2 $3 $4) + 5) }
  FILENAME == ARGV[1] { if ($1 == "d") olddir[rest($0)] = 1; next }
  $1 != "d" && (rest($0) in olddir) { print rest($0) }' "$work/old" "$work/new" >"$work/retyped"
: >"$work/retyped.contents"
while IFS= read -r retyped; do
  if [ -d "$target/$retyped" ] && [ ! -L "$target/$retyped" ]; then
    (cd "$target" && find "./$retyped" ! -path "*$nl*") >>"$work/retyped.contents" 2>/dev/null || true
  fi
done <"$work/retyped"
awk -F "$tab" '{ print "./" substr($0, length($1 $2 $3 $4) + 5) }' "$work/new" "$work/old" | cat - "$work/retyped.contents" \
  | awk '!seen[$0]++' >"$work/paths"
scan "$target" "$work/current" "$work/paths"

# Decide every path: one action line "action<TAB>type<TAB>mode<TAB>path" in parent-first order, and the counts.
awk -F "$tab" -v owned="$work/owned" -v journal="$work/journal" -v comparable="$comparable" -v counts="$work/counts" \
  -v notes="$work/notes" -v retyped="$work/kept-retyped" '
  function rest(line) { return substr(line, length($1 $2 $3 $4) + 5) }
  # same(VOLUME, REFERENCE): same type, content (of files and symlink targets) and mode, where the mode may also
  # be the reference mode with the bits kubelet'"'"'s fsGroup pass adds (files |= 0660, or 0440 read-only;
  # directories |= 02770, 02550, or 02660/02440 in older kubelets): that pass is no edit of the user'"'"'s.
  function same(a, b) { split(a, x, "\t"); split(b, y, "\t"); return x[1] == y[1] && samemode(x[1], x[2], y[2]) && (x[1] == "d" || x[4] == y[4]) && (x[1] != "f" || x[3] == y[3]) }
  function samemode(t, m, base) {
    if (m == base || t == "l") return 1
    if (t == "f") return m == ormode(base, "0660") || m == ormode(base, "0440")
    if (t == "d") return m == ormode(base, "2770") || m == ormode(base, "2550") || m == ormode(base, "2660") || m == ormode(base, "2440")
    return 0
  }
  # ormode(MODE, MASK): the bitwise or of two octal modes as stat %a prints them (no awk has portable bit operations).
  function ormode(m, mask,   i, a, b, bit, digit, out) {
    while (length(m) < 4) m = "0" m
    out = ""
    for (i = 1; i <= 4; i++) {
      a = substr(m, i, 1) + 0; b = substr(mask, i, 1) + 0; digit = 0
      for (bit = 4; bit >= 1; bit = bit / 2) if (int(a / bit) % 2 || int(b / bit) % 2) digit += bit
      out = out digit
    }
    sub(/^0+/, "", out)
    return out == "" ? "0" : out
  }
  function isowned(p,   q) { q = p; while (1) { if (q in own) return 1; if (q !~ /\//) return 0; sub(/\/[^\/]*$/, "", q) } }
  function parentof(p,   q) { q = p; if (q !~ /\//) return "."; sub(/\/[^\/]*$/, "", q); return q }
  function note(p, why) { print why ": " p > notes }
  function kindname(t) { return t == "f" ? "file" : t == "d" ? "directory" : t == "l" ? "symlink" : "special file" }
  # below(P, SET): P lies inside a path of SET.
  function below(p, set,   q) { q = p; while (q ~ /\//) { sub(/\/[^\/]*$/, "", q); if (q in set) return 1 }; return 0 }
  # untouched_below(P): everything the volume has inside directory P is the seeded version (deletions are fine).
  function untouched_below(p,   k, prefix) {
    prefix = p "/"
    for (k in cur) if (index(k, prefix) == 1 && (!(k in old) || !same(cur[k], old[k]))) return 0
    return 1
  }
  BEGIN {
    while ((getline line < owned) > 0) own[line] = 1
    while ((getline line < journal) > 0) journaled[line] = 1
    present["."] = 1
  }
  FILENAME == ARGV[1] { old[rest($0)] = $1 "\t" $2 "\t" $3 "\t" (comparable ? $4 : "?"); next }
  FILENAME == ARGV[2] { cur[rest($0)] = $1 "\t" $2 "\t" $3 "\t" $4; next }
  FILENAME == ARGV[3] { p = rest($0); new[p] = $1 "\t" $2 "\t" $3 "\t" $4; order[++n] = p; next }
  END {
    for (p in old) if (!(p in new)) order[++n] = p
    for (i = 1; i <= n; i++) {
      p = order[i]; parent = parentof(p)
      if ((p in journaled) && !(p in cur) && (p in old)) cur[p] = old[p]
      hasnew = p in new; hasold = p in old; hascur = p in cur
      if (hasnew) split(new[p], nw, "\t")
      if (hascur) split(cur[p], cu, "\t")
      if (!hasnew && below(p, gone)) continue
      if (!hasnew) {
        # Removed from the image: an image-owned path goes, anything else stays where the user has it.
        if (hascur && isowned(p) && present[parent]) { print "remove\t-\t-\t" p; kept_removed++ }
        else if (hascur) { kept++; note(p, "kept (no longer in the image)") }
        if (hascur && cu[1] == "d") present[p] = 1
        continue
      }
      if (nw[1] == "o") { skipped++; note(p, "skipped (special file)"); continue }
      if (!present[parent]) { skipped++; note(p, "skipped (its directory was deleted or replaced)"); continue }
      if (parent in within) {
        # Inside a directory that is added whole: staged with it, and renamed into place together.
        print "within\t" nw[1] "\t" nw[2] "\t" p; added++
        if (nw[1] == "d") { present[p] = 1; within[p] = 1 }
        if (nw[1] == "f") bytes += nw[3]
        continue
      }
      if (hascur && same(cur[p], new[p])) { unchanged++; if (cu[1] == "d") present[p] = 1; continue }
      if (isowned(p)) {
        if (hascur && (cu[1] != nw[1] || nw[1] != "d")) { print "replace\t" nw[1] "\t" nw[2] "\t" p }
        else if (hascur) { print "chmod\td\t" nw[2] "\t" p }
        else print "add\t" nw[1] "\t" nw[2] "\t" p
        if (hascur) updated++; else added++
        if (nw[1] == "d") { present[p] = 1; if (!hascur || cu[1] != "d") within[p] = 1 }
        if (nw[1] == "f") bytes += nw[3]
        continue
      }
      if (!hasold) {
        if (!hascur) { print "add\t" nw[1] "\t" nw[2] "\t" p; added++; if (nw[1] == "d") { present[p] = 1; within[p] = 1 }; if (nw[1] == "f") bytes += nw[3] }
        else { kept++; note(p, "kept (the volume already has its own version)"); if (cu[1] == "d") present[p] = 1 }
        continue
      }
      if (!hascur) { skipped++; note(p, "skipped (deleted by the user)"); continue }
      if (cu[1] == "d" && nw[1] != "d" && same(cur[p], old[p])) {
        # The image turned a directory into a file or symlink: replaced with everything in it, unless it holds
        # anything the user added or changed.
        if (untouched_below(p)) { print "replace\t" nw[1] "\t" nw[2] "\t" p; updated++; gone[p] = 1; if (nw[1] == "f") bytes += nw[3]; continue }
        kept++; note(p, "kept (the image made it a " kindname(nw[1]) "; the user changed or added files in it)"); print p > retyped; present[p] = 1
        continue
      }
      if (same(cur[p], old[p]) && !(cu[1] == "d" && nw[1] != "d")) {
        if (cu[1] == "d" && nw[1] == "d") print "chmod\td\t" nw[2] "\t" p
        else print "replace\t" nw[1] "\t" nw[2] "\t" p
        updated++; if (nw[1] == "f") bytes += nw[3]
        if (nw[1] == "d") { present[p] = 1; if (cu[1] != "d") within[p] = 1 }
        continue
      }
      split(old[p], ol, "\t")
      if (comparable == 1 && ol[1] == "f" && nw[1] == "f" && cu[1] == "f" && !same(new[p], old[p])) {
        # The image changed it too: its new version goes beside the user'"'"'s, for the user to compare.
        print "beside\tf\t" nw[2] "\t" p; bytes += nw[3]
        kept++; note(p, "kept (changed by the user; the image has a new version of it, put beside it as " p ".sandbox-storage-new)")
        continue
      }
      kept++; note(p, "kept (changed by the user" (ol[1] != nw[1] ? "; the image made it a " kindname(nw[1]) : "") ")")
      if (ol[1] != nw[1]) print p > retyped
      if (cu[1] == "d") present[p] = 1
    }
    print added + 0, updated + 0, kept + 0, skipped + 0, unchanged + 0, kept_removed + 0, bytes + 0 > counts
  }' "$work/old" "$work/current" "$work/new" >"$work/actions"
read -r added updated kept skipped unchanged removed bytes <"$work/counts"
if [ -f "$work/kept-retyped" ]; then
  while IFS= read -r path; do add_report retype "$path"; done <"$work/kept-retyped"
fi


# Stage everything that is copied in a scratch directory on the volume: files and symlinks with tar (in batches),
# directories that are new as a whole with their final mode and owner. Then each top-most staged entry is moved
# into place with one rename, so a crash never leaves a half-written file or a directory with the wrong mode.
awk -F "$tab" '$1 != "chmod" && $1 != "remove" && ($2 == "f" || $2 == "l") { print "./" substr($0, length($1 $2 $3) + 4) }' \
  "$work/actions" >"$work/copy"
awk -F "$tab" '$1 != "chmod" && $1 != "remove" && $2 == "d"' "$work/actions" >"$work/dirs"
mkdir "$work/stage"
if [ -s "$work/copy" ]; then
  # shellcheck disable=SC2016 # the inner sh expands them
  (cd "$src" && tr '\n' '\0' <"$work/copy" | xargs -0 sh -c '
      tar -cf "$0" "$@" || exit 1
      (umask 0 && exec tar -C "${0%/*}/stage" -xpf "$0") || exit 1
      rm -f "$0"' "$work/batch.tar") || fail "staging the changed files of $src failed; nothing is marked as merged, the next start retries"
fi
while IFS="$tab" read -r action kind mode path; do
  mkdir -p "$work/stage/$path" || fail "cannot stage directory $path"
done <"$work/dirs"
# Modes deepest first, so that a read-only directory is still writable while its children are set.
awk '{ line[NR] = $0 } END { for (i = NR; i > 0; i--) print line[i] }' "$work/dirs" >"$work/dirs.reversed"
while IFS="$tab" read -r action kind mode path; do
  set_mode "$mode" "$work/stage/$path" || fail "cannot set the mode of staged directory $path"
done <"$work/dirs.reversed"
if [ "$chown_tree" = true ]; then chown -R -h "$owner" "$work/stage" || fail "cannot chown the staged files to $owner"; fi
# The journal keeps what an interrupted earlier attempt had already removed for replacing.
if [ ! -s "$work/journal" ]; then printf 'image=%s\n' "$image" >"$work/journal"; fi
cat "$work/journal" >"$work/pending"
mv -f "$work/pending" "$pending"
# cannot_write ACTION PATH: as root a failed step fails the run (retried next start). Not root (files of another
# user in the volume), the path is left as it is and noted, and the record keeps its earlier line for it (or none),
# so the run completes and a later seeder that can write it sees it as before.
: >"$work/unwritten"
cannot_write() {
  [ "$euid" != 0 ] || fail "cannot $1 $target/$2"
  printf 'skipped (cannot write here as uid %s): %s\n' "$euid" "$2" >>"$work/notes"
  printf '%s\n' "$2" >>"$work/unwritten"
  case "$1" in
    add) added=$((added - 1)); skipped=$((skipped + 1)) ;;
    beside) ;;
    *) updated=$((updated - 1)); skipped=$((skipped + 1)) ;;
  esac
}
umask 0
while IFS="$tab" read -r action kind mode path; do
  dest="$target/$path"
  [ "$action" != within ] || continue
  if [ "$euid" != 0 ] && [ ! -w "${dest%/*}" ]; then cannot_write "$action" "$path"; continue; fi
  case "$action" in
    remove|replace)
      # A file, or a symlink to anything but a directory, is replaced by the rename below in one step. Anything
      # else is removed first, and journaled so that a crash in between does not read as "deleted by the user".
      if { [ -e "$dest" ] || [ -L "$dest" ]; } && { [ "$action" = remove ] || [ "$kind" = d ] || [ -d "$dest" ]; }; then
        printf '%s\n' "$path" >>"$pending"
        rm -rf "$dest" || { cannot_write remove "$path"; continue; }
      fi
      ;;
  esac
  case "$action" in
    remove) ;;
    beside)
      # Never onto the user's symlink or directory: only a regular file there (an earlier new version) is replaced.
      beside="$dest.sandbox-storage-new"
      if [ -L "$beside" ] || { [ -e "$beside" ] && [ ! -f "$beside" ]; }; then
        printf "not put beside (%s is the user's and no regular file): the image's new version of %s\\n" "${path##*/}.sandbox-storage-new" "$path" >>"$work/notes"
        add_report unplaced "$path"
      elif mv -f "$work/stage/$path" "$beside"; then
        add_report beside "$path"
      else
        cannot_write beside "$path.sandbox-storage-new"
        add_report unplaced "$path"
      fi
      ;;
    chmod) set_mode "$mode" "$dest" || cannot_write chmod "$path" ;;
    *) mv -f "$work/stage/$path" "$dest" || cannot_write "$action" "$path" ;;
  esac
done <"$work/actions"
if [ -s "$work/unwritten" ]; then
  # What was not written keeps its earlier record line; entries added with a directory that was not are dropped.
  awk -F "$tab" -v below="$work/below" '
    function rest(line) { return substr(line, length($1 $2 $3 $4) + 5) }
    FILENAME == ARGV[1] { bad[$0] = 1; next }
    FILENAME == ARGV[2] { old[rest($0)] = $0; next }
    {
      p = rest($0); q = p; hit = 0
      while (1) { if (q in bad) { hit = 1; break }; if (q !~ /\//) break; sub(/\/[^\/]*$/, "", q) }
      if (!hit) print; else if (p in old) print old[p]; else if (q != p) n++
    }
    END { print n + 0 > below }' "$work/unwritten" "$work/old" "$work/new" >"$work/new.written"
  mv -f "$work/new.written" "$work/new"
  read -r below <"$work/below"
  added=$((added - below))
  skipped=$((skipped + below))
fi
umask 022
if [ "$removed" -gt 0 ]; then log "removed $removed image-owned paths the image no longer has"; fi
if [ -s "$work/notes" ]; then
  head -n 20 "$work/notes" | while IFS= read -r line; do log "$line"; done
  total=$(wc -l <"$work/notes" | tr -d ' ')
  if [ "$total" -gt 20 ]; then log "... and $((total - 20)) more"; fi
fi
was=$recorded_image
if [ "$adopting" = true ]; then own_target_root; fi
write_record
if [ "$adopting" = true ]; then
  summary "adopted volume at $target (it had files but no seed record) for image $image ($unchanged unchanged)" "$added" "$updated" "$kept" "$skipped" "$bytes"
else
  summary "merged image $image into volume at $target (was ${was:-unknown}; $unchanged unchanged)" "$added" "$updated" "$kept" "$skipped" "$bytes"
fi
report_end
