#!/usr/bin/env bash
# In a Debian 6.1 guest (tests/vm/), a heavy graph (-G 'vfs_*' over thousands
# of pwritev2 calls) read by ftr and by perf ftrace in the same boot: does
# ftr lose more events than perf? Both read the top-level trace_pipe with the
# kernel's default buffer. Prints lines and lost events per run. Needs root.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
vmlinux=$(tests/vm/kernels.sh | grep 'linux-image-6.1\.' | head -1)
RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --quiet \
  --target x86_64-unknown-linux-gnu --target-dir target/static
FTR_VM_TIMEOUT=900 tests/vm/run-guest.sh "$vmlinux" tests/bench/guest/graph-lost.sh \
  target/static/x86_64-unknown-linux-gnu/release/ftr | grep '^RESULT'
