#!/bin/bash
# Fetch stock Debian kernels (without installing them) and extract, into a
# cache directory, an ELF vmlinux (PVH-bootable), the kernel config and the
# virtio/9p modules.  Needs: qemu-system-x86 busybox-static cpio xz-utils zstd
# gcc (installed with apt-get if missing).  Idempotent: a kernel already in the cache is skipped.
#
#   tests/vm/kernels.sh            # prints the cached vmlinux paths, one a line
#   FTR_VM_CACHE=/some/dir tests/vm/kernels.sh
#
# (a) bookworm linux-image-6.1.0-N-amd64 (N from `apt-cache depends linux-image-amd64`)
# (b) trixie   linux-image-6.12.*-amd64, fetched through a PRIVATE apt source
#     list; the system's apt sources are never changed.  The Debian mirror is
#     the one the system's apt configuration already uses.
set -euo pipefail

CACHE=${FTR_VM_CACHE:-/var/cache/ftr-vm}
mkdir -p "$CACHE"
log() { echo "kernels.sh: $*" >&2; }

# ---- host dependencies -----------------------------------------------------
need=()
command -v qemu-system-x86_64 >/dev/null || need+=(qemu-system-x86)
dpkg -s busybox-static >/dev/null 2>&1 || need+=(busybox-static)
command -v cpio >/dev/null || need+=(cpio)
command -v xz >/dev/null || need+=(xz-utils)
command -v zstd >/dev/null || need+=(zstd)
command -v gcc >/dev/null || need+=(gcc libc6-dev)
if [ ${#need[@]} -gt 0 ]; then
  log "installing ${need[*]}"
  apt-get update -q >&2
  DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends "${need[@]}" >&2
fi

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
  tmp=$(mktemp -d)
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

# ---- (a) bookworm 6.1 -------------------------------------------------------
get_bookworm() {
  local pkg dest
  pkg=$(apt-cache depends linux-image-amd64 2>/dev/null | sed -n 's/.*Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -1)
  if [ -z "$pkg" ]; then apt-get update -q >&2; pkg=$(apt-cache depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-6\.1\.0-[0-9]*-amd64\)$/\1/p' | head -1); fi
  [ -n "$pkg" ] || { log "cannot find the bookworm kernel package"; return 1; }
  dest=$CACHE/$pkg
  if [ ! -s "$dest/vmlinux" ]; then
    log "fetching $pkg"
    local dl; dl=$(mktemp -d); chmod 755 "$dl"  # readable by _apt
    (cd "$dl" && apt-get -o APT::Sandbox::User=root download -q "$pkg" >&2)
    extract_kernel "$dl"/*.deb "$dest"
    rm -rf "$dl"
  fi
  ln -sfn "$pkg" "$CACHE/6.1"
  echo "$dest/vmlinux"
}

# ---- (b) trixie 6.12 via a private source list ------------------------------
get_trixie() {
  local uri apt_dir list kr pkg dest
  apt_dir=$CACHE/apt-trixie
  list=$apt_dir/sources.list
  mkdir -p "$apt_dir/lists/partial"
  uri=$(debian_uri || true)
  [ -n "$uri" ] || { log "no Debian archive found in /etc/apt/sources.list*"; return 1; }
  kr=/usr/share/keyrings/debian-archive-keyring.gpg
  echo "deb [signed-by=$kr] $uri trixie main" > "$list.new"
  cmp -s "$list.new" "$list" && rm "$list.new" || mv "$list.new" "$list"
  local opts=(-o Dir::Etc::sourcelist="$list" -o Dir::Etc::sourceparts=- -o Dir::State::Lists="$apt_dir/lists"
              -o Dir::Cache::pkgcache="$apt_dir/pkgcache.bin" -o Dir::Cache::srcpkgcache="$apt_dir/srcpkgcache.bin")
  # An existing cached 6.12 kernel is reused without touching the network.
  pkg=$(ls -d "$CACHE"/linux-image-6.12.*-amd64 2>/dev/null | grep -v -- -rt- | tail -1 || true)
  if [ -n "$pkg" ] && [ -s "$pkg/vmlinux" ]; then
    pkg=$(basename "$pkg")
  else
    log "updating private trixie lists from $uri"
    apt-get "${opts[@]}" update -q >&2
    pkg=$(apt-cache "${opts[@]}" depends linux-image-amd64 | sed -n 's/.*Depends: \(linux-image-6\.12\.[^ ]*-amd64\)$/\1/p' | grep -v -- '-rt-' | head -1)
    [ -n "$pkg" ] || { log "cannot find the trixie 6.12 kernel package"; return 1; }
  fi
  dest=$CACHE/$pkg
  if [ ! -s "$dest/vmlinux" ]; then
    log "fetching $pkg (trixie)"
    local dl; dl=$(mktemp -d); chmod 755 "$dl"  # readable by _apt
    (cd "$dl" && apt-get "${opts[@]}" -o APT::Sandbox::User=root download -q "$pkg" >&2)
    extract_kernel "$dl"/*.deb "$dest"
    rm -rf "$dl"
  fi
  ln -sfn "$pkg" "$CACHE/6.12"
  echo "$dest/vmlinux"
}

get_bookworm
get_trixie
