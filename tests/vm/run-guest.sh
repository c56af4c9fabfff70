#!/bin/bash
# run-guest.sh VMLINUX GUEST_SCRIPT [EXTRA_FILE...]
#
# Boot VMLINUX (an ELF vmlinux with a PVH note, see kernels.sh) under qemu TCG
# with a throw-away initramfs, run GUEST_SCRIPT in the guest as /guest.sh
# (busybox sh, cwd /, PATH=/bin:/sbin:/usr/bin:/usr/sbin), print what it wrote
# (stdout and stderr, both go to the serial console) to our stdout, and exit
# with its exit code.  If the guest never reports an exit code (hang, panic,
# timeout), exit non-zero with a message on stderr.
#
# The initramfs has: busybox with applet links; proc, sysfs, devtmpfs, tracefs
# (/sys/kernel/tracing) and a tmpfs on /tmp mounted; the static workloads
# compiled from tests/vm/workloads/*.c in /bin; /usr/bin/perf with its
# libraries; each EXTRA_FILE (e.g. a static ftr) in /bin.
#
# Environment:
#   FTR_VM_TIMEOUT  seconds before the guest is killed (default 600)
#   FTR_VM_SMP      vCPUs (default 2)          FTR_VM_MEM  memory (default 512M)
#   FTR_VM_APPEND   extra kernel command line words
#   FTR_VM_SHARE    a host directory to share; mounted in the guest at /mnt
#                   (9p over virtio; modules come from kernels.sh's cache)
#   FTR_VM_LOG      also keep the whole console log in this file
#   FTR_VM_VERBOSE=1  copy the console output outside the markers to stderr
#   FTR_VM_CACHE    cache dir (default /var/cache/ftr-vm); the busybox+perf
#                   part of the initramfs and the workloads are cached there
#
# A kernel from the cache (kernels.sh) must match its MANIFEST, else this
# exits 2 and asks for kernels.sh.  The cached parts of the initramfs are
# checked the same way and rebuilt when they fail.  Several runs may share
# the cache at once (see cache.sh).
set -euo pipefail

usage() { echo "usage: $0 VMLINUX GUEST_SCRIPT [EXTRA_FILE...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
VMLINUX=$1 GUEST=$2; shift 2
[ -f "$VMLINUX" ] || { echo "run-guest.sh: no such kernel: $VMLINUX" >&2; exit 2; }
[ -f "$GUEST" ] || { echo "run-guest.sh: no such guest script: $GUEST" >&2; exit 2; }
for f in "$@"; do [ -f "$f" ] || { echo "run-guest.sh: no such file: $f" >&2; exit 2; }; done

HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/cache.sh"
CACHE=${FTR_VM_CACHE:-/var/cache/ftr-vm}
LOCKS=$CACHE/.locks
TIMEOUT=${FTR_VM_TIMEOUT:-600}
SMP=${FTR_VM_SMP:-2}
MEM=${FTR_VM_MEM:-512M}
START='@@FTR-GUEST-START@@'
END='@@FTR-GUEST-END'
mkdir -p "$CACHE"

for c in qemu-system-x86_64 cpio gzip gcc; do
  command -v $c >/dev/null || { echo "run-guest.sh: $c missing (run tests/vm/kernels.sh, it installs the deps)" >&2; exit 2; }
done
[ -x /bin/busybox ] || { echo "run-guest.sh: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 2; }

TMP=$(mktemp -d /tmp/ftr-vm.XXXXXX)
TEMPS=("$TMP")  # also the temporaries in the cache, if we die before renaming them
cleanup() { rm -rf "${TEMPS[@]}"; }
trap cleanup EXIT
sweep_temps "$CACHE" "$CACHE/workloads"

# ---- the kernel -------------------------------------------------------------
# One from a cache (its directory has a MANIFEST, or sits in $CACHE) is
# checked under the shared lock kernels.sh takes exclusively to replace it.
# A checked kernel directory is never rewritten, so qemu can read it later.
KERNEL=$(readlink -f "$VMLINUX")
KDIR=${KERNEL%/*}
if [ -e "$KDIR/MANIFEST" ] || [ "${KDIR%/*}" = "$(cd "$CACHE" && pwd -P)" ]; then
  if ! with_lock -s "${KDIR%/*}/.locks/${KDIR##*/}.lock" manifest_ok "$KDIR" "$KDIR/MANIFEST" "${KERNEL##*/}"; then
    echo "run-guest.sh: $KDIR is incomplete or damaged (does not match its MANIFEST); run tests/vm/kernels.sh to fetch it again" >&2
    exit 2
  fi
fi

# ---- cached base archive: busybox + perf and its libraries + /dev nodes ----
# Rebuilt when busybox or perf changes, or when it fails its manifest.
PERF=$(command -v perf || true)
key=$(stat -c '%n %s %Y' /bin/busybox ${PERF:+"$PERF"} | md5sum | cut -c1-12)
BASE=$CACHE/initramfs-base-$key.cpio.gz

build_base() {
  local b=$TMP/base tmp a
  mkdir -p "$b"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,mnt,root,etc}
  cp /bin/busybox "$b/bin/busybox"
  for a in $(/bin/busybox --list-full); do
    [ -e "$b/$a" ] || ln -s /bin/busybox "$b/$a"
  done
  mknod -m 600 "$b/dev/console" c 5 1
  mknod -m 666 "$b/dev/null" c 1 3
  mknod -m 666 "$b/dev/ttyS0" c 4 64
  if [ -n "$PERF" ]; then
    rm -f "$b/usr/bin/perf"; cp "$PERF" "$b/usr/bin/perf"
    ldd "$PERF" | grep -oE '/[^ ]+' | while read -r lib; do
      mkdir -p "$b$(dirname "$lib")"; cp -L "$lib" "$b$lib"
    done
    # ldd names the loader as /lib64/...; the merged-/usr host keeps libs in
    # /lib which is a symlink there: make the paths in the guest exist as such.
  fi
  echo 'root:x:0:0:root:/root:/bin/sh' > "$b/etc/passwd"
  echo 'root:x:0:' > "$b/etc/group"
  tmp=$(mktemp "$CACHE/.tmp-base.XXXXXX"); TEMPS+=("$tmp")
  (cd "$b" && find . | cpio -o -H newc --quiet | gzip -1) > "$tmp"
  chmod 644 "$tmp"
  rm -f "$BASE.manifest"
  mv -f "$tmp" "$BASE"
  manifest_write "$CACHE" "$BASE.manifest" "${BASE##*/}"
  rm -rf "$b"
}

# Under the lock: check (or build) it and start this run's initrd with it.
base_into_initrd() {
  if ! manifest_ok "$CACHE" "$BASE.manifest" "${BASE##*/}"; then build_base; fi
  cp "$BASE" "$TMP/initrd.cpio.gz"
}
with_lock "$LOCKS/${BASE##*/}.lock" base_into_initrd

# ---- per-run archive: /init, /guest.sh, workloads, extra files, modules ----
r=$TMP/run; mkdir -p "$r/bin" "$r/lib/ftr-modules"
WL=$CACHE/workloads; mkdir -p "$WL"
WL_CFLAGS="-static -O2 -Wall"

# Under the workloads lock: copy each workload into the run's /bin, building
# it first unless a build that matches its manifest is cached.  A build is
# named after a hash of its source and flags, not judged by mtimes, so
# checkouts with different sources can share the cache.
workloads_into_run() {
  local src name out tmp
  for src in "$HERE"/workloads/*.c; do
    [ -e "$src" ] || continue
    name=$(basename "$src" .c)
    out=$name-$({ cat "$src"; echo "$WL_CFLAGS"; } | sha256sum | cut -c1-16)
    if ! manifest_ok "$WL" "$WL/$out.manifest" "$out"; then
      tmp=$(mktemp "$WL/.tmp-$name.XXXXXX"); TEMPS+=("$tmp")
      gcc $WL_CFLAGS -o "$tmp" "$src"
      chmod 755 "$tmp"
      rm -f "$WL/$out.manifest"
      mv -f "$tmp" "$WL/$out"
      manifest_write "$WL" "$WL/$out.manifest" "$out"
    fi
    cp "$WL/$out" "$r/bin/$name"
  done
}
with_lock "$LOCKS/workloads.lock" workloads_into_run
for f in "$@"; do cp "$f" "$r/bin/"; chmod +x "$r/bin/$(basename "$f")"; done
cp "$GUEST" "$r/guest.sh"

SHARE_ARGS=()
if [ -n "${FTR_VM_SHARE:-}" ]; then
  mods=$(dirname "$VMLINUX")/modules
  for m in virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci netfs fscache 9pnet 9pnet_virtio 9p; do
    [ -f "$mods/$m.ko" ] && cp "$mods/$m.ko" "$r/lib/ftr-modules/"
    echo "$m" >> "$r/lib/ftr-modules/order"
  done
  SHARE_ARGS=(-virtfs "local,path=$FTR_VM_SHARE,mount_tag=share,security_model=none,id=share")
fi

cat > "$r/init" <<INIT
#!/bin/sh
export PATH=/bin:/sbin:/usr/bin:/usr/sbin HOME=/root TERM=dumb
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev 2>/dev/null
mount -t tracefs tracefs /sys/kernel/tracing
mount -t tmpfs tmpfs /tmp
# keep kernel chatter (e.g. "Unstable clock detected") off the console
echo "1 4 1 7" > /proc/sys/kernel/printk
if [ -f /lib/ftr-modules/order ]; then
  for m in \$(cat /lib/ftr-modules/order); do
    [ -f /lib/ftr-modules/\$m.ko ] && insmod /lib/ftr-modules/\$m.ko
  done
  mount -t 9p -o trans=virtio,version=9p2000.L share /mnt || echo "init: 9p mount failed" >&2
fi
cd /
echo "$START"
sh /guest.sh
rc=\$?
sync
echo "$END rc=\$rc@@"
poweroff -f
INIT
chmod +x "$r/init" "$r/guest.sh"
(cd "$r" && find . | cpio -o -H newc --quiet | gzip -1) > "$TMP/run.cpio.gz"
cat "$TMP/run.cpio.gz" >> "$TMP/initrd.cpio.gz"  # after the base archive

# ---- boot -------------------------------------------------------------------
# softlockup_panic=1: a hung guest powers off instead of sitting until the
# timeout. watchdog_thresh=60 (a lockup is 120 s of no scheduling, not 20):
# on a host whose cores other guests share, a vCPU can stall for tens of
# seconds while the kernel patches code, and that is not a hang.
# no_timer_check: on a loaded host the early check that the timer interrupt
# arrives through the IO-APIC can miss it under TCG, and the kernel then
# panics ("IO-APIC + timer doesn't work!", seen on 6.12 beside four other
# guests); the timer itself works.
LOG=$TMP/console.log
set +e
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=single -cpu max -m "$MEM" -smp "$SMP" \
  -nodefaults -no-user-config -display none -serial stdio -net none \
  "${SHARE_ARGS[@]}" \
  -kernel "$VMLINUX" -initrd "$TMP/initrd.cpio.gz" \
  -append "console=ttyS0 quiet panic=-1 softlockup_panic=1 watchdog_thresh=60 no_timer_check ${FTR_VM_APPEND:-}" \
  -no-reboot </dev/null 2>&1 | tr -d '\r' > "$LOG"
qrc=${PIPESTATUS[0]}
set -e
[ -n "${FTR_VM_LOG:-}" ] && cp "$LOG" "$FTR_VM_LOG"

if [ "${FTR_VM_VERBOSE:-0}" = 1 ]; then
  awk -v s="$START" -v e="$END" '$0==s{in_=1;next} index($0,e)==1{in_=0;next} !in_' "$LOG" >&2
fi
awk -v s="$START" -v e="$END" '$0==s{in_=1;next} index($0,e)==1{exit} in_' "$LOG"

endline=$(grep -a "^$END rc=" "$LOG" | tail -1 || true)
if [ -z "$endline" ]; then
  if [ "$qrc" = 124 ] || [ "$qrc" = 137 ]; then
    echo "run-guest.sh: TIMEOUT after ${TIMEOUT}s: the guest never reported an exit code" >&2
  elif ! grep -qx -- "$START" "$LOG"; then
    echo "run-guest.sh: the guest never reached /init (qemu exit $qrc)" >&2
  else
    echo "run-guest.sh: the guest stopped before guest.sh finished (qemu exit $qrc; panic or hang?)" >&2
  fi
  echo "run-guest.sh: last console lines:" >&2
  tail -n 25 "$LOG" | sed 's/^/  | /' >&2
  exit 125
fi
rc=$(echo "$endline" | sed -n 's/.*rc=\([0-9]*\)@@.*/\1/p')
exit "${rc:-125}"
