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
#     and timerlat tracers the other two lack).
# (d) sid (unstable) linux-image-7.2.*-amd64 and (e) its -rt-amd64 flavour,
#     through a second private source list.  Since 7.x Debian splits a kernel
#     in several packages: linux-image-VER is empty and depends on
#     linux-binary-VER (/usr/lib/modules/VER/vmlinuz), linux-base-VER
#     (.../config) and linux-modules-VER (the .ko files); those three are
#     fetched instead.
# Printed in that order.
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
sweep_temps "$CACHE"

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

# extract_kernel DEST DEB...: the kernel config, an ELF vmlinux, its release
# and the modules needed for a virtio 9p share (see vm.md), from the DEBs into
# DEST.  The kernel and config are in /boot (up to 6.12: one package), or
# beside the modules in /usr/lib/modules/RELEASE/{vmlinuz,config} (7.x:
# linux-binary-* and linux-base-*; the modules in linux-modules-*).
extract_kernel() {
  local dest=$1 tmp deb bz conf; shift
  tmp=$(mktemp -d); TEMPS+=("$tmp")
  # A pattern a package lacks only makes tar complain: what is missing in
  # the end is checked below.  Modules are .ko (bookworm), .ko.xz (trixie,
  # sid); virtio and fscache are built in since 7.x.
  for deb in "$@"; do
    dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" --wildcards './boot/*' \
      '*/modules/*/vmlinuz' '*/modules/*/config' \
      '*/modules/*/kernel/drivers/virtio/*' '*/modules/*/kernel/net/9p/*' \
      '*/modules/*/kernel/fs/9p/*' '*/modules/*/kernel/fs/netfs/*' \
      '*/modules/*/kernel/fs/fscache/*' 2>/dev/null || true
  done
  bz=$(ls "$tmp"/boot/vmlinuz-* "$tmp"/*/lib/modules/*/vmlinuz "$tmp"/lib/modules/*/vmlinuz 2>/dev/null | head -1 || true)
  conf=$(ls "$tmp"/boot/config-* "$tmp"/*/lib/modules/*/config "$tmp"/lib/modules/*/config 2>/dev/null | head -1 || true)
  [ -n "$bz" ] || { log "no boot/vmlinuz-* or lib/modules/*/vmlinuz in $*"; return 1; }
  [ -n "$conf" ] || { log "no boot/config-* or lib/modules/*/config in $*"; return 1; }
  mkdir -p "$dest/modules"
  cp "$conf" "$dest/config"
  find "$tmp" -path '*/modules/*' -name '*.ko*' -exec cp {} "$dest/modules/" \;
  # busybox insmod wants plain .ko files
  for m in "$dest"/modules/*.ko.xz; do [ -e "$m" ] && xz -df "$m"; done
  for m in "$dest"/modules/*.ko.zst; do [ -e "$m" ] && zstd -dfq --rm "$m"; done
  vmlinux_from_bzimage "$bz" "$dest/vmlinux"
  # boot/vmlinuz-RELEASE, or lib/modules/RELEASE/vmlinuz
  case $bz in
    */boot/vmlinuz-*) echo "${bz##*/vmlinuz-}" ;;
    *) basename "$(dirname "$bz")" ;;
  esac > "$dest/release"
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

# kernel_debs PKG [APT-OPTION...]: the packages that hold PKG's kernel,
# config and modules: PKG itself, or (7.x) the linux-binary-, linux-base- and
# linux-modules- packages of the same version that PKG depends on.
kernel_debs() {
  local pkg=$1 ver=${1#linux-image-} split; shift
  split=$(apt-cache "$@" depends "$pkg" 2>/dev/null | awk -v v="$ver" \
    '$1 == "Depends:" && ($2 == "linux-binary-" v || $2 == "linux-base-" v || $2 == "linux-modules-" v) { print $2 }' | sort -u)
  if echo "$split" | grep -qx "linux-binary-$ver"; then echo "$split"; else echo "$pkg"; fi
}

# fetch_kernel PKG [APT-OPTION...]: with $LOCKS/PKG.lock held, make $CACHE/PKG
# complete: reuse it if its manifest checks out, else download the package(s)
# and extract them into a new directory that replaces the old one.
fetch_kernel() {
  local pkg=$1 dest=$CACHE/$1 dl build old m debs files=(vmlinux config release)
  shift
  kernel_ok "$dest" && return 0
  if [ -e "$dest" ]; then
    log "$pkg in the cache is incomplete or damaged: fetching it again"
  else
    log "fetching $pkg"
  fi
  debs=$(kernel_debs "$pkg" "$@")
  dl=$(mktemp -d); TEMPS+=("$dl"); chmod 755 "$dl"  # readable by _apt
  # shellcheck disable=SC2086  # package names have no spaces
  (cd "$dl" && apt-get "$@" -o APT::Sandbox::User=root download -q $debs >&2)
  # Built beside its final place (same file system), under a name that
  # kernels.sh's globs for linux-image-* do not match.
  build=$(mktemp -d "$CACHE/.tmp-build.XXXXXX"); TEMPS+=("$build"); chmod 755 "$build"
  extract_kernel "$build" "$dl"/*.deb
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

# ---- private source lists (trixie, sid) -------------------------------------
# $CACHE/apt-SUITE holds a private sources.list, the lists apt fetches for it
# and a MANIFEST of both; all of it is used under $LOCKS/apt-SUITE.lock.
# apt's binary caches (pkgcache.bin) go to a temporary directory: they are
# rebuilt in a second and not worth checking.
APT_TMP=$(mktemp -d); TEMPS+=("$APT_TMP")
# suite_opts SUITE: set OPTS to the apt options that use SUITE's private list.
suite_opts() {
  local d=$CACHE/apt-$1
  OPTS=(-o Dir::Etc::sourcelist="$d/sources.list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$d/lists"
        -o Dir::Cache::pkgcache="$APT_TMP/$1-pkgcache.bin" -o Dir::Cache::srcpkgcache="$APT_TMP/$1-srcpkgcache.bin")
}

# suite_lists SUITE: bring the private lists up to date.  apt-get update
# keeps a list file whose release has not changed, damaged or not, so lists
# that do not match their manifest (or a new sources.list) are dropped first.
suite_lists() {
  local suite=$1 dir=$CACHE/apt-$1 uri list=$CACHE/apt-$1/sources.list kr tmp
  uri=$(debian_uri || true)
  [ -n "$uri" ] || { log "no Debian archive found in /etc/apt/sources.list*"; return 1; }
  kr=/usr/share/keyrings/debian-archive-keyring.gpg
  mkdir -p "$dir"
  sweep_temps "$dir"
  tmp=$(mktemp "$dir/.tmp-sources.XXXXXX"); TEMPS+=("$tmp")
  echo "deb [signed-by=$kr] $uri $suite main" > "$tmp"
  if cmp -s "$tmp" "$list"; then rm "$tmp"; else chmod 644 "$tmp"; mv -f "$tmp" "$list"; fi
  if ! manifest_ok "$dir" "$dir/MANIFEST" sources.list; then
    rm -rf "$dir/lists" "$dir"/*.bin  # (*.bin: left by older versions of this script)
  fi
  rm -f "$dir/MANIFEST"
  mkdir -p "$dir/lists/partial"
  log "updating private $suite lists from $uri"
  suite_opts "$suite"
  apt-get "${OPTS[@]}" update -q >&2
  manifest_write "$dir" "$dir/MANIFEST" sources.list \
    $(cd "$dir" && find lists -maxdepth 1 -type f ! -name lock | sort)
}

# cached_kernel GLOB [EXCLUDE]: the newest complete kernel directory in the
# cache whose name matches GLOB (and not the extended regex EXCLUDE), so a
# cached kernel is reused without touching the network.
cached_kernel() {
  local d
  for d in $(ls -d "$CACHE"/$1 2>/dev/null | grep -Ev -- "${2:-^$}" | sort -rV); do
    if with_lock -s "$LOCKS/${d##*/}.lock" kernel_ok "$d"; then echo "${d##*/}"; return 0; fi
  done
  return 0
}

# ---- (b) trixie 6.12 ----------------------------------------------------------
# Under $LOCKS/apt-trixie.lock, so concurrent runs do not fetch it twice.
get_trixie_locked() {
  local pkg
  pkg=$(cached_kernel 'linux-image-6.12.*-amd64' -rt-)
  if [ -z "$pkg" ]; then
    suite_lists trixie
    suite_opts trixie
    pkg=$(apt-cache "${OPTS[@]}" depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-6\.12\.[^ ]*-amd64\)$/\1/p' | grep -v -- '-rt-' | head -1 || true)
    [ -n "$pkg" ] || { log "cannot find the trixie 6.12 kernel package"; return 1; }
    with_lock "$LOCKS/$pkg.lock" fetch_kernel "$pkg" "${OPTS[@]}"
  fi
  link_atomic "$pkg" "$CACHE/6.12"
  echo "$CACHE/$pkg/vmlinux"
}
get_trixie() { with_lock "$LOCKS/apt-trixie.lock" get_trixie_locked; }

# ---- (d), (e) sid 7.2, default and PREEMPT_RT ---------------------------------
# The series the tests are written for (tests/vm.rs names them 7.2 and
# 7.2-rt).  When unstable moves to another series its 7.2 packages leave the
# archive: this then fails, naming what unstable has, until the series here
# and in tests/vm.rs is moved on (a cached 7.2 kernel keeps working).
SID_SERIES=7.2

# get_sid_locked FLAVOUR LINK: FLAVOUR is amd64 or rt-amd64.  Under
# $LOCKS/apt-sid.lock.
get_sid_locked() {
  local flavour=$1 link=$2 pkg meta
  if [ "$flavour" = amd64 ]; then
    pkg=$(cached_kernel "linux-image-$SID_SERIES.*-amd64" -rt-)
  else
    pkg=$(cached_kernel "linux-image-$SID_SERIES.*-$flavour")
  fi
  if [ -z "$pkg" ]; then
    suite_opts sid
    # The lists are fetched once per run, for whichever flavour comes first.
    if [ -z "${SID_FRESH:-}" ]; then suite_lists sid; SID_FRESH=1; fi
    meta=$(apt-cache "${OPTS[@]}" depends "linux-image-$flavour" 2>/dev/null | sed -n 's/.*Depends: \(linux-image-.*\)$/\1/p' || true)
    pkg=$(echo "$meta" | awk -v s="linux-image-$SID_SERIES." -v f="-$flavour" \
      'index($0, s) == 1 && substr($0, length($0) - length(f) + 1) == f && (f == "-rt-amd64" || $0 !~ /-rt-/)' | head -1)
    [ -n "$pkg" ] || {
      log "unstable's linux-image-$flavour depends on '${meta:-nothing}', not a $SID_SERIES kernel: move SID_SERIES in tests/vm/kernels.sh (and the $SID_SERIES tests in tests/vm.rs) to it"
      return 1
    }
    with_lock "$LOCKS/$pkg.lock" fetch_kernel "$pkg" "${OPTS[@]}"
  fi
  link_atomic "$pkg" "$CACHE/$link"
  echo "$CACHE/$pkg/vmlinux"
}
get_sid() { with_lock "$LOCKS/apt-sid.lock" get_sid_locked "$@"; }

get_bookworm
get_trixie
get_bookworm_rt
get_sid amd64 "$SID_SERIES"
get_sid rt-amd64 "$SID_SERIES-rt"
