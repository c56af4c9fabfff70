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
#                   part of the initramfs is cached there
set -euo pipefail

usage() { echo "usage: $0 VMLINUX GUEST_SCRIPT [EXTRA_FILE...]" >&2; exit 2; }
[ $# -ge 2 ] || usage
VMLINUX=$1 GUEST=$2; shift 2
[ -f "$VMLINUX" ] || { echo "run-guest.sh: no such kernel: $VMLINUX" >&2; exit 2; }
[ -f "$GUEST" ] || { echo "run-guest.sh: no such guest script: $GUEST" >&2; exit 2; }
for f in "$@"; do [ -f "$f" ] || { echo "run-guest.sh: no such file: $f" >&2; exit 2; }; done

HERE=$(cd "$(dirname "$0")" && pwd)
CACHE=${FTR_VM_CACHE:-/var/cache/ftr-vm}
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
cleanup() { rm -rf "$TMP"; }
trap cleanup EXIT

# ---- cached base archive: busybox + perf and its libraries + /dev nodes ----
# Rebuilt when busybox or perf changes.
PERF=$(command -v perf || true)
key=$(stat -c '%n %s %Y' /bin/busybox ${PERF:+"$PERF"} | md5sum | cut -c1-12)
BASE=$CACHE/initramfs-base-$key.cpio.gz
if [ ! -s "$BASE" ]; then
  b=$TMP/base; mkdir -p "$b"/{bin,sbin,usr/bin,usr/sbin,dev,proc,sys,tmp,mnt,root,etc}
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
  (cd "$b" && find . | cpio -o -H newc --quiet | gzip -1) > "$BASE.tmp"
  mv "$BASE.tmp" "$BASE"
  rm -rf "$b"
fi

# ---- per-run archive: /init, /guest.sh, workloads, extra files, modules ----
r=$TMP/run; mkdir -p "$r/bin" "$r/lib/ftr-modules"
WL=$CACHE/workloads; mkdir -p "$WL"
for src in "$HERE"/workloads/*.c; do
  [ -e "$src" ] || continue
  out=$WL/$(basename "$src" .c)
  if [ ! -x "$out" ] || [ "$src" -nt "$out" ]; then
    gcc -static -O2 -Wall -o "$out" "$src"
  fi
  cp "$out" "$r/bin/"
done
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
cat "$BASE" "$TMP/run.cpio.gz" > "$TMP/initrd.cpio.gz"

# ---- boot -------------------------------------------------------------------
LOG=$TMP/console.log
set +e
timeout -k 5 "$TIMEOUT" qemu-system-x86_64 -accel tcg,thread=single -cpu max -m "$MEM" -smp "$SMP" \
  -nodefaults -no-user-config -display none -serial stdio -net none \
  "${SHARE_ARGS[@]}" \
  -kernel "$VMLINUX" -initrd "$TMP/initrd.cpio.gz" \
  -append "console=ttyS0 quiet panic=-1 softlockup_panic=1 ${FTR_VM_APPEND:-}" \
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
