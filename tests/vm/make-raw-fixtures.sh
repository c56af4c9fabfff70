#!/bin/bash
# Regenerate tests/fixtures/graph-raw: boot each stock kernel once, run
# guest/raw-capture.sh (plain tracefs writes, no ftr) and store each capture
# under graph-raw/<kernel>-<name>/: the `trace` text and the raw pages of the
# same buffer, with the metadata that turns one into the other.
#   tests/vm/make-raw-fixtures.sh            # both kernels (6.1 and 6.12)
#   tests/vm/make-raw-fixtures.sh 6.12       # one kernel
#
# /proc/kallsyms is ~10 MB; each capture keeps only the symbols its text
# names, each with the symbol after it (which bounds it, so an address
# inside the function still resolves to it), plus the bounds of the irq
# entry text (function_graph marks calls into it), so the fixtures stay small.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=$HERE/../fixtures/graph-raw
CACHE=${FTR_VM_CACHE:-/var/cache/ftr-vm}
"$HERE/kernels.sh" >/dev/null
mkdir -p "$DEST"

# trim_kallsyms KALLSYMS TRACE: the kallsyms lines naming a word of TRACE,
# each followed by its successor, in kallsyms order.
trim_kallsyms() {
  awk 'NR == FNR {
         n = split($0, w, /[^A-Za-z0-9_.]+/)
         for (i = 1; i <= n; i++) if (w[i] != "") want[w[i]] = 1
         next
       }
       keep { print; keep = 0; next }
       $3 in want || $3 ~ /^__irqentry_text_(start|end)$/ { print; keep = 1 }' "$2" "$1"
}

for ver in ${@:-6.1 6.12}; do
  out=$(mktemp -d /tmp/ftr-raw-fixtures.XXXXXX)
  echo "== $ver: booting $(readlink -f "$CACHE/$ver/vmlinux")"
  start=$(date +%s)
  FTR_VM_SHARE=$out FTR_VM_MEM=1G "$HERE/run-guest.sh" "$CACHE/$ver/vmlinux" "$HERE/guest/raw-capture.sh"
  echo "== $ver: boot + all captures took $(( $(date +%s) - start )) s"
  rm -rf "$DEST/$ver"-*
  for c in "$out/$ver"-*/; do
    name=$(basename "$c")
    trim_kallsyms "$out/kallsyms" "$c/trace" > "$c/kallsyms"
    cp -r "$c" "$DEST/$name"
    chmod -R u+w,a+rX "$DEST/$name"  # tracefs files come read-only for others
  done
  rm -rf "$out"
done
du -sh "$DEST"
