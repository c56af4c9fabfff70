#!/bin/sh
# Guest script (run by run-guest.sh): produce the function_graph fixtures of
# tests/fixtures/graph with plain writes to tracefs (no ftr).  Each fixture
# NAME.txt gets a NAME.cmd listing the kernel and the exact tracefs writes.
# Files are written to /tmp/out first (so 9p traffic stays out of the traces)
# and copied to $OUT (default /mnt, the FTR_VM_SHARE folder) at the end.
T=/sys/kernel/tracing
OUT=${OUT:-/mnt}
V=$(uname -r | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
D=/tmp/out
mkdir -p $D
cd $T || exit 1
CMD=/tmp/cmdlog

# w VALUE FILE: write to tracefs and log it for the .cmd file
w() {
  if echo "$1" > "$2" 2>/dev/null; then echo "echo '$1' > $2" >> $CMD
  else echo "FAILED: echo '$1' > $2" >> $CMD; echo "write '$1' > $2 failed" >&2; return 1; fi
}
# a VALUE FILE: append
a() { echo "$1" >> "$2" && echo "echo '$1' >> $2" >> $CMD; }
note() { echo "$*" >> $CMD; }
has() { [ -e "options/$1" ]; }
begin() { NAME=$V-$1; : > $CMD; echo "# kernel $(uname -r), tracefs at $T, 2 vCPUs (qemu TCG: durations meaningless)" >> $CMD; }
# finish: save the .cmd file next to the fixture
finish() { cp $CMD $D/$NAME.cmd; echo "fixture $NAME: $(wc -l < $D/$NAME.txt) lines"; }
# read_trace MAXLINES: save the trace file (with header)
read_trace() { head -n "$1" trace > $D/$NAME.txt; note "head -n $1 $T/trace > $NAME.txt"; }

# ---- kernel facts ----
{ echo "# uname -r"; uname -r
  echo "# cat available_tracers"; cat available_tracers
  echo "# ls options"; ls options
  echo "# cat trace_options"; cat trace_options
  echo "# cat trace_clock"; cat trace_clock
  echo "# cat buffer_size_kb"; cat buffer_size_kb
} > $D/$V-options.txt

# ---- base setup: function_graph on, filtered to pwritev2, depth 4 ----
echo 0 > tracing_on
echo nop > current_tracer
base_cmds() {
  note "echo 0 > tracing_on"
  note "echo __x64_sys_pwritev2 > set_graph_function"
  note "echo 4 > max_graph_depth"
  note "echo function_graph > current_tracer"
}
echo __x64_sys_pwritev2 > set_graph_function
echo 4 > max_graph_depth
t0=$(date +%s)
echo function_graph > current_tracer || { echo "no function_graph" >&2; exit 1; }
echo "switch to function_graph took $(( $(date +%s) - t0 )) s"

# pw SUFFIX OPTION...: one pwritev2 scenario with the given options set
pw() {
  sfx=$1; shift
  begin pwritev2-depth4$sfx; base_cmds
  for o in "$@"; do has "$o" || { echo "option $o missing on $V, skipping $NAME"; return 0; }; done
  for o in "$@"; do w 1 options/$o; done
  w '' trace
  w 1 tracing_on
  pwv2 3; note "pwv2 3   # 3 pwritev2() calls"
  w 0 tracing_on
  read_trace 300
  for o in "$@"; do w 0 options/$o; done
  finish
}
pw ""
pw -proc funcgraph-proc
pw -abstime funcgraph-abstime
pw -tail funcgraph-tail
pw -retval funcgraph-retval
pw -retval-hex funcgraph-retval funcgraph-retval-hex
pw -latency latency-format
# options that default on: turn them off instead
pw_off() {
  sfx=$1; shift
  begin pwritev2-depth4$sfx; base_cmds
  for o in "$@"; do w 0 options/$o; done
  w '' trace; w 1 tracing_on
  pwv2 3; note "pwv2 3   # 3 pwritev2() calls"
  w 0 tracing_on
  read_trace 300
  for o in "$@"; do w 1 options/$o; done
  finish
}
pw_off -nocpu funcgraph-cpu
pw_off -noduration funcgraph-duration
pw_off -nocontextinfo context-info
# everything at once
ALL="funcgraph-proc funcgraph-abstime funcgraph-tail latency-format"
has funcgraph-retval && ALL="$ALL funcgraph-retval"
pw -all $ALL

# forker: two pids in the graph
begin pwritev2-depth4-proc-forker; base_cmds
w 1 options/funcgraph-proc; w '' trace; w 1 tracing_on
forker 3; note "forker 3   # parent: 1 pwritev2; child: 3 x (pwritev2 + write)"
w 0 tracing_on; read_trace 300; w 0 options/funcgraph-proc; finish

# trace_pipe (no header)
begin pwritev2-depth4-pipe; base_cmds
w '' trace; w 1 tracing_on
cat trace_pipe > /tmp/pipe.txt & P=$!
note "cat $T/trace_pipe > $NAME.txt &"
pwv2 3; note "pwv2 3"
sleep 1; w 0 tracing_on; sleep 1; kill $P 2>/dev/null; wait $P 2>/dev/null
note "sleep 1; echo 0 > tracing_on; sleep 1; kill the cat"
head -n 300 /tmp/pipe.txt > $D/$NAME.txt; finish

# ---- tracing_thresh=20: return lines only (no depth limit) ----
begin pwritev2-thresh20
note "echo 0 > tracing_on"; note "echo __x64_sys_pwritev2 > set_graph_function"
w 0 max_graph_depth; note "echo function_graph > current_tracer   # (already)"
w 20 tracing_thresh
w '' trace; w 1 tracing_on
pwv2 3; note "pwv2 3"
w 0 tracing_on; read_trace 300
w 0 tracing_thresh; w 4 max_graph_depth
finish

# ---- sched_switch events inline, sleeper ----
begin sched-switch-sleeper
note "echo 0 > tracing_on"
w __x64_sys_clock_nanosleep set_graph_function
a __x64_sys_write set_graph_function
w 6 max_graph_depth
note "echo function_graph > current_tracer   # (already)"
w 1 events/sched/sched_switch/enable
w 1 options/funcgraph-proc
w '' trace; w 1 tracing_on
sleeper 3; note "sleeper 3   # 3 x (write 8 bytes, nanosleep 50 ms)"
w 0 tracing_on; read_trace 300
w 0 events/sched/sched_switch/enable
w 0 options/funcgraph-proc
w __x64_sys_pwritev2 set_graph_function; w 4 max_graph_depth
finish

# ---- unfiltered, two workloads on two CPUs ----
unfiltered() {
  src=$1
  begin unfiltered-2cpu-depth2-$src
  note "echo 0 > tracing_on"
  w '' set_graph_function
  w 2 max_graph_depth
  note "echo function_graph > current_tracer   # (already)"
  w '' trace; w 1 tracing_on
  if [ $src = pipe ]; then
    timeout 20 head -n 300 trace_pipe > /tmp/pipe.txt & P=$!
    note "timeout 20 head -n 300 $T/trace_pipe > $NAME.txt &"
  fi
  taskset 1 pwv2 20 & taskset 2 forker 5 & taskset 2 sleeper 2 &
  note "taskset 1 pwv2 20 & taskset 2 forker 5 & taskset 2 sleeper 2 & wait"
  sleep 1; w 0 tracing_on
  if [ $src = pipe ]; then wait $P; cp /tmp/pipe.txt $D/$NAME.txt; else read_trace 300; fi
  wait
  w __x64_sys_pwritev2 set_graph_function; w 4 max_graph_depth
  finish
}
unfiltered trace
unfiltered pipe

# ---- lost events: tiny buffer, read through trace_pipe ----
begin lost-events-pipe
BSZ=$(cat buffer_size_kb | sed 's/ .*//')
note "echo 0 > tracing_on"
w '' set_graph_function
w 0 max_graph_depth
note "echo function_graph > current_tracer   # (already)"
w 8 buffer_size_kb
w '' trace; w 1 tracing_on
timeout 20 head -n 300 trace_pipe > /tmp/pipe.txt & P=$!
note "timeout 20 head -n 300 $T/trace_pipe > $NAME.txt &   # started while tracing"
taskset 1 pwv2 50 & taskset 2 forker 10 & wait %2 %3 2>/dev/null
note "taskset 1 pwv2 50 & taskset 2 forker 10 & wait"
w 0 tracing_on
wait $P; cp /tmp/pipe.txt $D/$NAME.txt
w $BSZ buffer_size_kb
w __x64_sys_pwritev2 set_graph_function; w 4 max_graph_depth
finish
grep -c LOST $D/$NAME.txt

# ---- back to nop, then perf ftrace ----
echo 0 > tracing_on
echo nop > current_tracer
echo > set_graph_function
echo 0 > max_graph_depth
echo > trace
NAME=$V-perf-ftrace-pwritev2-depth4
t0=$(date +%s)
timeout -s INT 120 perf ftrace -G __x64_sys_pwritev2 --graph-opts depth=4 -- /bin/pwv2 3 > $D/$NAME.txt 2>/tmp/perf.err
echo "perf ftrace rc=$? took $(( $(date +%s) - t0 )) s"; cat /tmp/perf.err >&2
{ echo "# kernel $(uname -r), 2 vCPUs (qemu TCG), $(perf --version) from the host (Debian bookworm)"
  echo "timeout -s INT 120 perf ftrace -G __x64_sys_pwritev2 --graph-opts depth=4 -- /bin/pwv2 3 > $NAME.txt"
} > $D/$NAME.cmd
echo "fixture $NAME: $(wc -l < $D/$NAME.txt) lines"

# state check: everything back to defaults
echo "final: tracer=$(cat current_tracer) thresh=$(cat tracing_thresh) depth=$(cat max_graph_depth) sgf=[$(cat set_graph_function | head -1)] opts=$(cat trace_options | grep -v '^no' | tr '\n' ' ')"
cp $D/* $OUT/ || exit 1
