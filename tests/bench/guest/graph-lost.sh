#!/bin/sh
# Guest side of tests/bench/graph-lost.sh: one heavy graph (-G 'vfs_*' over
# N pwritev2 calls, default buffer, output to a file) read three ways in one
# boot: by ftr (binary per-CPU buffers), by perf ftrace (text trace_pipe),
# and by the floor any binary reader has (one `dd bs=4096` per CPU of
# per_cpu/cpuN/trace_pipe_raw, the kernel's knobs set by hand). Prints one
# RESULT line for each: events kept and lost.
T=/sys/kernel/tracing
N=${N:-3000}
CPUS=$(ls -d $T/per_cpu/cpu* | wc -l)
lost_in() { # sum of [LOST n EVENTS] in a file
  grep -o 'LOST [0-9]* EVENTS' "$1" | awk '{ s += $2 } END { print s + 0 }'
}
stat_sum() { # field: summed over the CPUs' stats
  cat $T/per_cpu/cpu*/stats | awk -v f="$1:" '$0 ~ "^" f { s += $NF } END { print s + 0 }'
}
floor() {
  echo 'vfs_*' > $T/set_graph_function
  echo function_graph > $T/current_tracer
  echo 0 > $T/tracing_on
  i=0
  while [ $i -lt $CPUS ]; do
    dd if=$T/per_cpu/cpu$i/trace_pipe_raw of=/tmp/raw$i bs=4096 2>/dev/null &
    i=$((i + 1))
  done
  sh -c "echo \$\$ > $T/set_ftrace_pid; echo 1 > $T/tracing_on; exec pwv2 $N" > /dev/null
  echo 0 > $T/tracing_on
  sleep 2
  kept=$(stat_sum "read events")
  lost=$(( $(stat_sum overrun) + $(stat_sum "dropped events") ))
  kill $(jobs -p) 2>/dev/null; wait
  echo nop > $T/current_tracer; echo > $T/set_graph_function; echo > $T/set_ftrace_pid
  echo 1 > $T/tracing_on
  echo "RESULT floor round=$1 kept=$kept lost=$lost"
}
for round in 1 2; do
  ftr -G 'vfs_*' --no-pager -- pwv2 $N > /tmp/ftr.out 2> /tmp/ftr.err
  kept=$(sed -n 's/^ftr: \([0-9]*\) events traced, \([0-9]*\) events lost.*/\1/p' /tmp/ftr.err)
  lost=$(sed -n 's/^ftr: \([0-9]*\) events traced, \([0-9]*\) events lost.*/\2/p' /tmp/ftr.err)
  echo "RESULT ftr round=$round kept=${kept:-?} lost=${lost:-?} lines=$(wc -l < /tmp/ftr.out)"
  timeout -s INT 300 perf --no-pager ftrace -G 'vfs_*' -- pwv2 $N > /tmp/perf.out 2>&1
  echo "RESULT perf round=$round lines=$(wc -l < /tmp/perf.out) lost=$(lost_in /tmp/perf.out)"
  # perf ftrace 6.1 leaves its settings behind; clear them for the next run.
  echo nop > $T/current_tracer; echo > $T/set_graph_function; echo > $T/set_ftrace_pid; echo 1 > $T/tracing_on
  floor $round
done
# Rendering a capture of the same storm: ftr report with colors, against
# `cat | cat` of the kernel's text for the same events (ftr report without
# colors prints exactly that text). Times from /proc/uptime (10 ms steps).
up() { cut -d' ' -f1 /proc/uptime; }
ftr -o /tmp/cap.dat -G 'vfs_*' --no-pager -- pwv2 $N > /dev/null 2>&1
ftr report --color=never /tmp/cap.dat > /tmp/cap.txt
best_cat=999999; best_ftr=999999
for i in 1 2 3; do
  a=$(up); cat /tmp/cap.txt | cat > /dev/null; b=$(up)
  ftr report --color=always /tmp/cap.dat > /dev/null; c=$(up)
  best_cat=$(awk -v a=$a -v b=$b -v m=$best_cat 'BEGIN { d = (b - a) * 1000; print (d < m ? d : m) }')
  best_ftr=$(awk -v b=$b -v c=$c -v m=$best_ftr 'BEGIN { d = (c - b) * 1000; print (d < m ? d : m) }')
done
echo "RESULT render lines=$(wc -l < /tmp/cap.txt) capture_bytes=$(wc -c < /tmp/cap.dat) cat_ms=$best_cat ftr_ms=$best_ftr ratio=$(awk -v a=$best_ftr -v b=$best_cat 'BEGIN { printf "%.1f", (b > 0 ? a / b : 0) }')"
