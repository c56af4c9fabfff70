# Sourced by kernels.sh and run-guest.sh: how the cache is written and read.
#
# Several processes may use the cache at once (tests/vm.rs boots two kernels
# in parallel threads; two test runs may overlap), and a process may die
# half-way.  So every cached artefact is:
#   - built under a unique temporary name (mktemp, .tmp-*) in the directory
#     it ends up in (the same file system, so the final rename is atomic);
#   - checked and built while holding an flock on a lock file in
#     $CACHE/.locks (lock files are never deleted: deleting one would let two
#     processes hold "the" lock on different files);
#   - renamed into place only when complete, and then given a manifest
#     ("name size sha256" lines and a last "end N" line), written last and
#     itself renamed into place;
#   - checked against its manifest whenever it is used.  A missing manifest,
#     or a missing, truncated or changed file, means "build it again"; such a
#     file is never booted.
# A complete artefact is never rewritten, only replaced when it fails its
# check, so once checked it can be read after the lock is dropped.

# with_lock [-s] LOCKFILE CMD [ARG...]: run CMD in this shell while holding
# LOCKFILE (exclusive, or shared with -s) and return its status.  If CMD
# relies on set -e, do not call with_lock from an `if`, `&&` or `||`: bash
# ignores set -e in there.  (A check such as manifest_ok is fine.)  When CMD
# fails under set -e the script ends, and the lock goes with the process.
with_lock() {
  local mode=-x fd rc
  if [ "$1" = -s ]; then mode=-s; shift; fi
  mkdir -p "$(dirname "$1")"
  exec {fd}>>"$1"
  shift
  flock "$mode" "$fd"
  "$@"
  rc=$?
  exec {fd}>&-
  return "$rc"
}

# manifest_write DIR MANIFEST FILE...: record each FILE (a path relative to
# DIR, without spaces) with its size and sha256.  Call it after the files are
# complete and in place.
manifest_write() {
  local dir=$1 man=$2 tmp f; shift 2
  tmp=$(mktemp "$(dirname "$man")/.tmp-manifest.XXXXXX")
  for f in "$@"; do
    printf '%s %s %s\n' "$f" "$(stat -c %s "$dir/$f")" "$(sha256sum < "$dir/$f" | cut -d' ' -f1)"
  done > "$tmp"
  echo "end $#" >> "$tmp"
  chmod 644 "$tmp"
  mv -f "$tmp" "$man"
}

# manifest_ok DIR MANIFEST [REQUIRED...]: true if MANIFEST is complete, lists
# each REQUIRED name, and every file it lists is in DIR with the recorded
# size and sha256.  Sizes first: they catch truncation without reading.
manifest_ok() {
  local dir=$1 man=$2 lines name size sum; shift 2
  [ -f "$man" ] || return 1
  lines=$(wc -l < "$man")
  [ "$lines" -ge 2 ] && [ "$(tail -n 1 "$man")" = "end $((lines - 1))" ] || return 1
  for name in "$@"; do
    awk -v n="$name" '$1 == n { found = 1 } END { exit !found }' "$man" || return 1
  done
  while read -r name size sum; do
    [ "$name" = end ] && break
    [ -n "$sum" ] && [ -f "$dir/$name" ] && [ "$(stat -c %s "$dir/$name")" = "$size" ] || return 1
  done < "$man"
  head -n -1 "$man" | awk '{print $3 "  " $1}' | (cd "$dir" && sha256sum --check --status --strict)
}

# link_atomic TARGET LINK: point the symlink LINK at TARGET, replacing it with
# a rename so a reader never finds LINK missing.  Leaves a correct link alone.
link_atomic() {
  local target=$1 link=$2 tmp
  [ "$(readlink "$link" 2>/dev/null || true)" = "$target" ] && return 0
  tmp=$(mktemp -u "$(dirname "$link")/.tmp-link.XXXXXX")
  ln -s "$target" "$tmp"
  mv -Tf "$tmp" "$link"
}

# sweep_temps DIR...: remove the temporaries (.tmp-*) that killed runs left in
# DIR.  Only day-old ones: no live run takes that long.
sweep_temps() {
  find "$@" -maxdepth 1 -name '.tmp-*' -mmin +1440 -exec rm -rf {} + 2>/dev/null || true
}
