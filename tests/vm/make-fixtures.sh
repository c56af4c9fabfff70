#!/bin/bash
# Regenerate tests/fixtures/graph: boot each stock kernel once, run
# guest/fixtures.sh (plain tracefs writes, no ftr) and copy the captures.
#   tests/vm/make-fixtures.sh            # both kernels (6.1 and 6.12)
#   tests/vm/make-fixtures.sh 6.12       # one kernel
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=$HERE/../fixtures/graph
CACHE=${FTR_VM_CACHE:-/var/cache/ftr-vm}
"$HERE/kernels.sh" >/dev/null
mkdir -p "$DEST"
for v in "${@:-6.1 6.12}"; do
  for ver in $v; do
    out=$(mktemp -d /tmp/ftr-fixtures.XXXXXX)
    echo "== $ver: booting $(readlink -f "$CACHE/$ver/vmlinux")"
    start=$(date +%s)
    FTR_VM_SHARE=$out "$HERE/run-guest.sh" "$CACHE/$ver/vmlinux" "$HERE/guest/fixtures.sh"
    echo "== $ver: boot + all scenarios took $(( $(date +%s) - start )) s"
    rm -f "$DEST/$ver"-*
    cp "$out"/* "$DEST/"
    rm -rf "$out"
  done
done
