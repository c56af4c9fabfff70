#!/bin/sh
# Guest side of tests/bench/graph-lost.sh: the same heavy graph read by ftr and
# by perf ftrace, in one boot; prints lines and lost events for each.
T=/sys/kernel/tracing
mkdir -p /run
N=${N:-3000}
lost_in() { # sum of [LOST n EVENTS] in a file
  grep -o 'LOST [0-9]* EVENTS' "$1" | awk '{ s += $2 } END { print s + 0 }'
}
for round in 1 2; do
  ftr -G 'vfs_*' --no-pager -- pwv2 $N > /tmp/ftr.out 2> /tmp/ftr.err
  echo "RESULT ftr round=$round lines=$(wc -l < /tmp/ftr.out) lost=$(lost_in /tmp/ftr.out)"
  ftr -G 'vfs_*' -O nofuncgraph-proc --no-pager -- pwv2 $N > /tmp/ftr2.out 2> /tmp/ftr.err
  echo "RESULT ftr-noproc round=$round lines=$(wc -l < /tmp/ftr2.out) lost=$(lost_in /tmp/ftr2.out)"
  timeout -s INT 300 perf --no-pager ftrace -G 'vfs_*' -- pwv2 $N > /tmp/perf.out 2>&1
  echo "RESULT perf round=$round lines=$(wc -l < /tmp/perf.out) lost=$(lost_in /tmp/perf.out)"
  # perf ftrace 6.1 leaves its settings behind; clear them for the next round.
  echo nop > $T/current_tracer; echo > $T/set_graph_function; echo > $T/set_ftrace_pid; echo 1 > $T/tracing_on
done
