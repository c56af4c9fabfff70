#!/usr/bin/env bash
# In a Debian 6.1 guest (tests/vm/), a heavy graph (-G 'vfs_*' over thousands
# of pwritev2 calls) read in one boot by ftr (binary per-CPU buffers), by
# perf ftrace (text trace_pipe) and by the floor of any binary reader (dd of
# each trace_pipe_raw), default buffer, output to a file. Prints events kept
# and lost for each, and ftr's lost share; the target is at most 1%. Root.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
vmlinux=$(tests/vm/kernels.sh | grep 'linux-image-6.1\.' | grep -v -- -rt- | head -1)
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --quiet \
  --target x86_64-unknown-linux-gnu --target-dir target/static
FTR_VM_TIMEOUT=900 tests/vm/run-guest.sh "$vmlinux" tests/bench/guest/graph-lost.sh \
  target/static/x86_64-unknown-linux-gnu/release/ftr | grep '^RESULT' | tee /dev/stderr |
  awk '$2 == "ftr" { split($4, k, "="); split($5, l, "="); kept += k[2]; lost += l[2] }
       END { if (kept + lost) printf "ftr lost %.2f%% of %d events (target: at most 1%%)\n", 100 * lost / (kept + lost), kept + lost }'
