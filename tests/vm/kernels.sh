#!/bin/bash
# Fetch stock Debian kernels (without installing them) and extract, into a
# cache directory, an ELF vmlinux (PVH-bootable), the kernel config and the
# virtio/9p modules.  Needs: qemu-system-x86 busybox-static cpio xz-utils zstd
# gcc (installed with apt-get if missing).  Idempotent: a kernel already in
# the cache, and complete (its MANIFEST checks out), is reused; an incomplete
# or damaged one is fetched and extracted again.  Safe to run several at once
# (see cache.sh).
#
#   tests/vm/kernels.sh            # prints the cached vmlinux paths, one a line
#   FTR_VM_CACHE=/some/dir tests/vm/kernels.sh
#
# (a) bookworm linux-image-6.1.0-N-amd64 (N from `apt-cache depends linux-image-amd64`)
# (b) trixie   linux-image-6.12.*-amd64, fetched through a PRIVATE apt source
#     list; the system's apt sources are never changed.  The Debian mirror is
#     the one the system's apt configuration already uses.
# (c) bookworm linux-image-6.1.0-N-rt-amd64 (PREEMPT_RT; it has the osnoise
#     and timerlat tracers the other two lack), printed last.
set -euo pipefail

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/cache.sh"
CACHE=${FTR_VM_CACHE:-/var/cache/ftr-vm}
LOCKS=$CACHE/.locks
mkdir -p "$CACHE"
log() { echo "kernels.sh: $*" >&2; }

# Temporary files and directories of this run; removed however it ends.
TEMPS=()
trap 'rm -rf "${TEMPS[@]}"' EXIT
sweep_temps "$CACHE" "$CACHE/apt-trixie"

# ---- host dependencies -----------------------------------------------------
missing_deps() {
  need=()
  command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
  dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
  command -v cpio >/dev/null || need+=(cpio)
  command -v xz >/dev/null || need+=(xz-utils)
  command -v zstd >/dev/null || need+=(zstd)
  command -v gcc >/dev/null || need+=(gcc libc6-dev)
}
# apt-get runs that change the host's apt state take HOST_APT_LOCK: two at
# once fail on apt's own locks instead of waiting.  It is host-wide, not in
# the cache, because runs with different caches share the host.
HOST_APT_LOCK=/run/lock/ftr-vm-apt.lock
[ -d /run/lock ] || HOST_APT_LOCK=$LOCKS/host-apt.lock
install_deps() {
  missing_deps  # again: a concurrent kernels.sh may have installed them
  [ ${#need[@]} -gt 0 ] || return 0
  log "installing ${need[*]}"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
}
missing_deps
if [ ${#need[@]} -gt 0 ]; then with_lock "$HOST_APT_LOCK" install_deps; fi

# ---- helpers ----------------------------------------------------------------
# vmlinux_from_bzimage BZIMAGE OUT: the payload of a Debian bzImage is an
# xz-compressed ELF vmlinux with a PVH note; qemu boots it directly.
vmlinux_from_bzimage() {
  local bz=$1 out=$2 off
  # bookworm (6.1) uses xz, trixie (6.12) zstd; the first frame is the
  # payload, whatever follows it is ignored.
  off=$(LC_ALL=C grep -obUaP '\xfd7zXZ\x00' "$bz" | head -1 | cut -d: -f1 || true)
  if [ -n "$off" ]; then
    tail -c +$((off + 1)) "$bz" | xz -dc --single-stream > "$out.tmp" 2>/dev/null || true
  else
    off=$(LC_ALL=C grep -obUaP '\x28\xb5\x2f\xfd' "$bz" | head -1 | cut -d: -f1 || true)
    [ -n "$off" ] || { log "no xz or zstd payload in $bz"; return 1; }
    tail -c +$((off + 1)) "$bz" | zstd -dcq > "$out.tmp" 2>/dev/null || true
  fi
  head -c 4 "$out.tmp" | grep -q ELF || { log "payload of $bz is not ELF"; rm -f "$out.tmp"; return 1; }
  mv "$out.tmp" "$out"
}

# extract DEB DEST: boot/config-*, an ELF vmlinux, and the modules needed for
# a virtio 9p share (see vm.md), into DEST.
extract_kernel() {
  local deb=$1 dest=$2 tmp
  tmp=$(mktemp -d); TEMPS+=("$tmp")
  # modules live in /lib/modules (bookworm) or /usr/lib/modules (trixie, .ko.xz)
  dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/*' \
    '*/modules/*/kernel/drivers/virtio/*' '*/modules/*/kernel/net/9p/*' \
    '*/modules/*/kernel/fs/9p/*' '*/modules/*/kernel/fs/netfs/*' \
    '*/modules/*/kernel/fs/fscache/*' 2>/dev/null || true
  [ -d "$tmp/boot" ] || dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/*'
  mkdir -p "$dest/modules"
  cp "$tmp"/boot/config-* "$dest/config"
  find "$tmp" -path '*/modules/*' -name '*.ko*' -exec cp {} "$dest/modules/" \;
  # busybox insmod wants plain .ko files
  for m in "$dest"/modules/*.ko.xz; do [ -e "$m" ] && xz -df "$m"; done
  for m in "$dest"/modules/*.ko.zst; do [ -e "$m" ] && zstd -dfq --rm "$m"; done
  vmlinux_from_bzimage "$(ls "$tmp"/boot/vmlinuz-*)" "$dest/vmlinux"
  basename "$(ls "$tmp"/boot/vmlinuz-*)" | sed 's/^vmlinuz-//' > "$dest/release"
  rm -rf "$tmp"
}

# The Debian archive URI the system already uses (deb822 or one-line format);
# the security archive is skipped.
system_debian_uri() {
  local f
  for f in /etc/apt/sources.list.d/*.sources; do
    [ -f "$f" ] && sed -n 's/^URIs:[[:space:]]*//p' "$f"
  done | tr ' ' '\n'
  for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
    [ -f "$f" ] && awk '$1=="deb"{for(i=2;i<=NF;i++) if($i !~ /^\[/ && $i !~ /\]$/){print $i; break}}' "$f"
  done
  true
} 2>/dev/null

debian_uri() {
  system_debian_uri | grep -E '/debian/?$' | grep -v -- '-security' | head -1 | sed 's:/$::' || true
}

# ---- kernel directories -----------------------------------------------------
# $CACHE/PKG holds vmlinux, config, release, modules/*.ko and, written last,
# MANIFEST.  Readers (run-guest.sh) check it under a shared $LOCKS/PKG.lock;
# fetch_kernel replaces it under the exclusive one.

kernel_ok() { manifest_ok "$1" "$1/MANIFEST" vmlinux config release; }

# fetch_kernel PKG [APT-OPTION...]: with $LOCKS/PKG.lock held, make $CACHE/PKG
# complete: reuse it if its manifest checks out, else download the package
# and extract it into a new directory that replaces the old one.
fetch_kernel() {
  local pkg=$1 dest=$CACHE/$1 dl build old m files=(vmlinux config release)
  shift
  kernel_ok "$dest" && return 0
  if [ -e "$dest" ]; then
    log "$pkg in the cache is incomplete or damaged: fetching it again"
  else
    log "fetching $pkg"
  fi
  dl=$(mktemp -d); TEMPS+=("$dl"); chmod 755 "$dl"  # readable by _apt
  (cd "$dl" && apt-get "$@" -o APT::Sandbox::User=root download -q "$pkg" >&2)
  # Built beside its final place (same file system), under a name that
  # kernels.sh's globs for linux-image-* do not match.
  build=$(mktemp -d "$CACHE/.tmp-build.XXXXXX"); TEMPS+=("$build"); chmod 755 "$build"
  extract_kernel "$dl"/*.deb "$build"
  for m in "$build"/modules/*.ko; do [ -e "$m" ] && files+=("modules/${m##*/}"); done
  manifest_write "$build" "$build/MANIFEST" "${files[@]}"
  # A directory cannot be renamed over a non-empty one: move the old one
  # aside first.  Readers hold the lock, so none of them sees the gap.
  if [ -e "$dest" ] || [ -L "$dest" ]; then
    old=$(mktemp -d "$CACHE/.tmp-old.XXXXXX"); TEMPS+=("$old")
    mv -T "$dest" "$old/dir"
  fi
  mv -T "$build" "$dest"
  rm -rf "$dl" "${old:-}"
}

# ---- (a) bookworm 6.1 -------------------------------------------------------
bookworm_pkg() {
  apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -1 || true
}
system_apt_update() { apt-get update -q >&2; }

get_bookworm() {
  local pkg
  pkg=$(bookworm_pkg)
  if [ -z "$pkg" ]; then with_lock "$HOST_APT_LOCK" system_apt_update; pkg=$(bookworm_pkg); fi
  [ -n "$pkg" ] || { log "cannot find the bookworm kernel package"; return 1; }
  with_lock "$LOCKS/$pkg.lock" fetch_kernel "$pkg"
  link_atomic "$pkg" "$CACHE/6.1"
  echo "$CACHE/$pkg/vmlinux"
}

# ---- (c) bookworm 6.1 PREEMPT_RT: the osnoise and timerlat tracers -----------
bookworm_rt_pkg() {
  apt-cache depends linux-image-rt-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-6\.1\.0-[0-9]*-rt-amd64\)$/\1/p' | head -1 || true
}

get_bookworm_rt() {
  local pkg
  pkg=$(bookworm_rt_pkg)
  if [ -z "$pkg" ]; then with_lock "$HOST_APT_LOCK" system_apt_update; pkg=$(bookworm_rt_pkg); fi
  [ -n "$pkg" ] || { log "cannot find the bookworm rt kernel package"; return 1; }
  with_lock "$LOCKS/$pkg.lock" fetch_kernel "$pkg"
  link_atomic "$pkg" "$CACHE/6.1-rt"
  echo "$CACHE/$pkg/vmlinux"
}

# ---- (b) trixie 6.12 via a private source list ------------------------------
# $CACHE/apt-trixie holds the private sources.list, the lists apt fetches
# for it and a MANIFEST of both; all of it is used under
# $LOCKS/apt-trixie.lock.  apt's binary caches (pkgcache.bin) go to a
# temporary directory: they are rebuilt in a second and not worth checking.
TRIXIE=$CACHE/apt-trixie
APT_TMP=$(mktemp -d); TEMPS+=("$APT_TMP")
TRIXIE_OPTS=(-o Dir::Etc::sourcelist="$TRIXIE/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$TRIXIE/lists"
             -o Dir::Cache::pkgcache="$APT_TMP/pkgcache.bin" -o Dir::Cache::srcpkgcache="$APT_TMP/srcpkgcache.bin")

# trixie_lists: bring the private lists up to date.  apt-get update keeps a
# list file whose release has not changed, damaged or not, so lists that do
# not match their manifest (or a new sources.list) are dropped first.
trixie_lists() {
  local uri list=$TRIXIE/sources.list kr tmp
  uri=$(debian_uri || true)
  [ -n "$uri" ] || { log "no Debian archive found in /etc/apt/sources.list*"; return 1; }
  kr=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$TRIXIE"
  tmp=$(mktemp "$TRIXIE/.tmp-sources.XXXXXX"); TEMPS+=("$tmp")
  echo "deb [signed-by=$kr] $uri trixie main" > "$tmp"
  if cmp -s "$tmp" "$list"; then rm "$tmp"; else chmod 644 "$tmp"; mv -f "$tmp" "$list"; fi
  if ! manifest_ok "$TRIXIE" "$TRIXIE/MANIFEST" sources.list; then
    rm -rf "$TRIXIE/lists" "$TRIXIE"/*.bin  # (*.bin: left by older versions of this script)
  fi
  rm -f "$TRIXIE/MANIFEST"
  mkdir -p "$TRIXIE/lists/partial"
  log "updating private trixie lists from $uri"
  apt-get "${TRIXIE_OPTS[@]}" update -q >&2
  manifest_write "$TRIXIE" "$TRIXIE/MANIFEST" sources.list \
    $(cd "$TRIXIE" && find lists -maxdepth 1 -type f ! -name lock | sort)
}

# Under $LOCKS/apt-trixie.lock, so concurrent runs do not fetch it twice.
get_trixie_locked() {
  local pkg="" d
  # A complete cached 6.12 kernel (the newest) is reused without touching the network.
  for d in $(ls -d "$CACHE"/linux-image-6.12.*-amd64 2>/dev/null | grep -v -- -rt- | sort -rV); do
    if with_lock -s "$LOCKS/${d##*/}.lock" kernel_ok "$d"; then pkg=${d##*/}; break; fi
  done
  if [ -z "$pkg" ]; then
    trixie_lists
    pkg=$(apt-cache "${TRIXIE_OPTS[@]}" depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-6\.12\.[^ ]*-amd64\)$/\1/p' | grep -v -- '-rt-' | head -1 || true)
    [ -n "$pkg" ] || { log "cannot find the trixie 6.12 kernel package"; return 1; }
    with_lock "$LOCKS/$pkg.lock" fetch_kernel "$pkg" "${TRIXIE_OPTS[@]}"
  fi
  link_atomic "$pkg" "$CACHE/6.12"
  echo "$CACHE/$pkg/vmlinux"
}
get_trixie() { with_lock "$LOCKS/apt-trixie.lock" get_trixie_locked; }

get_bookworm
get_trixie
get_bookworm_rt
