#!/bin/sh
# The read-only inventory Pod of `sandbox-storage migrate plan`: lists what one claim (mounted read-only at
# $INVENTORY_ROOT) holds, one line per entry, each starting with `@@migrate` and ending with the path:
#
#   INVENTORY_MODE=source, INVENTORY_DEPTH=N: every real directory N levels down (0: the root, listed as .), never
#     through a symlink (find does not follow them), with its entry count and size in KiB; at depth 0 with
#     INVENTORY_HOME set, that directory instead of the root when it is a real directory:
#       @@migrate<TAB>dir<TAB>ENTRIES<TAB>KIB<TAB>PATH
#   INVENTORY_MODE=target, INVENTORY_PATHS (one relative path a line, . for the root): the state of each:
#       @@migrate<TAB>target<TAB>STATE<TAB>DETAIL<TAB>PATH
#     STATE is absent, empty, notEmpty (DETAIL: entries), migrated (DETAIL: plan id, from $INVENTORY_RECORD) or
#     blocked (a component is a symlink or no directory).
#
# Names with a newline are never listed (a line is a record); errors of find and du go nowhere, so no file name
# reaches the log except as the last field of a line of this script. Tools: sh, find, du, wc, awk, head.

set -eu
LC_ALL=C
export LC_ALL
nl='
'
tab=$(printf '\t')
root=$INVENTORY_ROOT
record=${INVENTORY_RECORD:-.sandbox-storage-migrated}

list_sources() {
  depth=$1
  cd "$root"
  {
    if [ "$depth" -eq 0 ] && [ -n "${INVENTORY_HOME:-}" ] && [ -d "$INVENTORY_HOME" ] && [ ! -L "$INVENTORY_HOME" ]; then
      # A workspace whose Pods mount its home directory: that directory is the user's data.
      echo "./$INVENTORY_HOME"
    elif [ "$depth" -eq 0 ]; then echo .; else find . -mindepth "$depth" -maxdepth "$depth" -type d ! -path "*$nl*" 2>/dev/null || true; fi
  } | while IFS= read -r dir; do
    entries=$(find "$dir" 2>/dev/null | wc -l)
    kib=$(du -sk "$dir" 2>/dev/null | awk '{ print $1; exit }')
    path=${dir#./}
    printf '@@migrate\tdir\t%s\t%s\t%s\n' "$((entries - 1))" "${kib:-0}" "$path"
  done
}

target_state() {
  dir=$root
  rest=$1
  while [ -n "$rest" ]; do
    part=${rest%%/*}
    if [ "$part" = "$rest" ]; then rest=''; else rest=${rest#*/}; fi
    dir=$dir/$part
    if [ -L "$dir" ]; then echo "blocked${tab}$part is a symbolic link"; return; fi
    if [ ! -e "$dir" ]; then echo "absent${tab}-"; return; fi
    if [ ! -d "$dir" ]; then echo "blocked${tab}$part is not a directory"; return; fi
  done
  if [ -f "$dir/$record" ] && [ ! -L "$dir/$record" ]; then
    echo "migrated${tab}$(awk '$1 == "plan" { print $2; exit }' "$dir/$record")"
    return
  fi
  count=0
  for entry in "$dir"/* "$dir"/.[!.]* "$dir"/..?*; do
    if [ ! -e "$entry" ] && [ ! -L "$entry" ]; then continue; fi
    case "${entry##*/}" in lost+found | "$record".*) ;; *) count=$((count + 1)) ;; esac
  done
  if [ "$count" -eq 0 ]; then echo "empty${tab}-"; else echo "notEmpty${tab}$count"; fi
}

case "${INVENTORY_MODE:-}" in
  source) list_sources "${INVENTORY_DEPTH:-0}" ;;
  target)
    printf '%s\n' "${INVENTORY_PATHS:-}" | while IFS= read -r path; do
      # '.' is the claim's root (a workspace PVC).
      case "$path" in '' | /* | ../* | */../* | */..) continue ;; esac
      printf '@@migrate\ttarget\t%s\t%s\n' "$(target_state "$path")" "$path"
    done
    ;;
  *) echo "INVENTORY_MODE must be source or target" >&2; exit 2 ;;
esac
echo '@@migrate	end'
