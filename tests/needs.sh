#!/bin/bash
# The programs the tests run beside ftr, installed when missing: the tests
# call this before they use one, so that the README's test command passes
# on a fresh Debian machine as it is, with nothing installed by hand.
#
#   tests/needs.sh TOOL...     e.g. tests/needs.sh trace-cmd tmux less
#
# Each TOOL is a command (or busybox-static, a package); the table below
# names the Debian package that brings it. Missing ones are installed with
# apt-get in one go, under a host-wide lock (two test threads or test runs
# at once would fail on apt's own locks instead of waiting). Exits 0 when
# all are there; otherwise 1, saying which command installs them.
set -euo pipefail

package_of() {
  case $1 in
    trace-cmd) echo trace-cmd ;;
    tmux) echo tmux ;;
    less) echo less ;;
    strace) echo strace ;;
    perf) echo linux-perf ;;
    gcc) echo gcc libc6-dev ;;
    groff) echo groff-base ;;
    man) echo man-db ;;
    col) echo bsdextrautils ;;
    script) echo bsdutils ;;
    unshare | setpriv) echo util-linux ;;
    qemu-system-x86_64) echo qemu-system-x86 ;;
    busybox-static) echo busybox-static ;;
    cpio) echo cpio ;;
    xz) echo xz-utils ;;
    zstd) echo zstd ;;
    *) return 1 ;;
  esac
}

present() {
  case $1 in
    busybox-static) dpkg -s busybox-static >/dev/null 2>&1 ;;
    *) command -v "$1" >/dev/null 2>&1 ;;
  esac
}

missing() {
  need=()
  local tool
  for tool in "$@"; do
    present "$tool" && continue
    # shellcheck disable=SC2207
    need+=($(package_of "$tool")) || { echo "needs.sh: no package known for $tool" >&2; exit 2; }
  done
}

missing "$@"
[ ${#need[@]} -eq 0 ] && exit 0

if [ "$(id -u)" -ne 0 ]; then
  echo "needs.sh: the tests need ${need[*]}: run them as root, or install it first: apt-get install ${need[*]}" >&2
  exit 1
fi

# The same lock tests/vm/kernels.sh takes for its apt-get runs.
LOCK=/run/lock/ftr-vm-apt.lock
[ -d /run/lock ] || LOCK=/tmp/ftr-vm-apt.lock
exec 9>"$LOCK"
flock -w 900 9 || { echo "needs.sh: waited 15 min for $LOCK" >&2; exit 1; }
missing "$@" # again: another test may have installed them meanwhile
[ ${#need[@]} -eq 0 ] && exit 0
echo "needs.sh: installing ${need[*]}" >&2
if ! { apt-get update -q && DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${need[@]}"; } >&2; then
  echo "needs.sh: apt-get could not install ${need[*]}; install it by hand: apt-get install ${need[*]}" >&2
  exit 1
fi
missing "$@"
[ ${#need[@]} -eq 0 ] || { echo "needs.sh: still missing after apt-get: ${need[*]}" >&2; exit 1; }
