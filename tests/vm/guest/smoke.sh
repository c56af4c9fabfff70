#!/bin/sh
# Minimal guest script: kernel, tracers, workloads, extra files, perf.
set -e
uname -r
cat /sys/kernel/tracing/available_tracers
pwv2 3 && forker 2 && sleeper 1 && echo workloads-ok
ls /bin | grep -v -x -e '\[' -e '\[\[' | while read -r f; do [ -L /bin/$f ] || echo "bin: $f"; done
perf --version
