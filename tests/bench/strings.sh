#!/usr/bin/env bash
# What reading file names costs, in one Debian 6.1 guest (tests/vm/; the VM
# is emulated, so only ratios mean anything): a storm of N openat of one file
# traced with strings (an event probe per call) and with --no-strings, and
# what creating and removing the probes adds to `ftr trace -- true`. Prints
# medians and the ratios against the targets: strings at most 1.5x as slow,
# 0 events lost; probes add at most 50 ms, or exist only for the syscalls
# traced. Root. Knobs: N (200000), ROUNDS (3), STARTUP (5).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
vmlinux=$(tests/vm/kernels.sh | grep 'linux-image-6.1\.' | grep -v -- -rt- | head -1)
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --quiet \
  --target x86_64-unknown-linux-gnu --target-dir target/static
guest=$(mktemp /tmp/ftr-bench-strings.XXXXXX)
trap 'rm -f "$guest"' EXIT
{ echo "N=${N:-200000} ROUNDS=${ROUNDS:-3} STARTUP=${STARTUP:-5}"; cat tests/bench/guest/strings.sh; } > "$guest"
FTR_VM_TIMEOUT=1800 tests/vm/run-guest.sh "$vmlinux" "$guest" \
  target/static/x86_64-unknown-linux-gnu/release/ftr | grep '^RESULT' | tee /dev/stderr |
  awk '
    { t[$2] = t[$2] " " $3; n[$2]++ }
    / events lost/ { for (i = 4; i <= NF; i++) if ($(i+1) ~ /^events/ && $(i+2) ~ /^lost/) lost[$2] += $i + 0 }
    function median(list,   a, k, i, j, x) {
      k = split(list, a, " ")
      for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j+1] = a[j]; a[j+1] = x }
      return a[int((k + 1) / 2)]
    }
    END {
      for (c in t) m[c] = median(t[c])
      printf "\n%-28s %10s\n", "case (median)", "ms"
      for (c in m) printf "%-28s %10.1f\n", c, m[c] / 1e6
      r = m["strings"] / m["no-strings"]
      printf "\nstorm: strings / no-strings = %.2fx (target at most 1.5x): %s\n", r, r <= 1.5 ? "PASS" : "FAIL"
      printf "storm: events lost with strings: %d (target 0): %s\n", lost["strings"], lost["strings"] == 0 ? "PASS" : "FAIL"
      d1 = (m["startup-openat"] - m["startup-openat-no-strings"]) / 1e6
      d2 = (m["startup-all"] - m["startup-all-no-strings"]) / 1e6
      printf "startup, -e openat: probes add %.1f ms (target at most 50 ms): %s\n", d1, d1 <= 50 ? "PASS" : "FAIL"
      printf "startup, every syscall: probes add %.1f ms (probes only for the syscalls traced)\n", d2
    }'
