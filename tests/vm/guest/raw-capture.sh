#!/bin/sh
# Guest script (run by make-raw-fixtures.sh through run-guest.sh): for each
# option set of tests/fixtures/graph, capture the SAME ring buffer twice --
# as the kernel's text (`trace`, which does not consume) and as raw pages
# (per_cpu/cpuN/trace_pipe_raw, which does) -- plus everything a decoder
# needs to turn the pages into that text: the events' format files, the page
# header layout, saved_cmdlines, the options, the CPU count and kallsyms.
# On kernels with funcgraph-args (7.2: options/funcgraph-args) the same
# option sets are captured again with it on, and the kernel's BTF
# (/sys/kernel/btf/vmlinux) is saved once for the host to trim.
# Knobs are set by plain echo (no ftr).  Each capture goes to /tmp/out/NAME
# first (so 9p traffic stays out of the traces) and is copied to $OUT
# (default /mnt, the FTR_VM_SHARE folder) at the end.
T=/sys/kernel/tracing
OUT=${OUT:-/mnt}
ARGS=
V=$(uname -r | sed 's/^\([0-9]*\.[0-9]*\).*/\1/')
D=/tmp/out
mkdir -p $D
cd $T || exit 1

# Events whose layouts a capture may hold; their format files are saved.
FORMATS="ftrace/funcgraph_entry ftrace/funcgraph_exit ftrace/function ftrace/print ftrace/bprint
sched/sched_switch sched/sched_wakeup sched/sched_wakeup_new sched/sched_process_fork
sched/sched_process_exit sched/sched_process_wait sched/sched_process_free sched/sched_process_exec"
# The sched events of the "events" capture.
SCHED_EVENTS="sched_switch sched_wakeup sched_wakeup_new sched_process_fork sched_process_exit sched_process_wait sched_process_free"
OPTIONS="funcgraph-proc funcgraph-abstime funcgraph-tail funcgraph-cpu funcgraph-duration
funcgraph-overhead funcgraph-irqs funcgraph-overrun latency-format context-info funcgraph-args"

# w VALUE FILE: write to tracefs and log it in the capture's `cmd` file.
w() {
  if echo "$1" > "$2" 2>/dev/null; then echo "echo '$1' > $2" >> $CMD
  else echo "FAILED: echo '$1' > $2" >> $CMD; echo "write '$1' > $2 failed" >&2; return 1; fi
}
note() { echo "$*" >> $CMD; }

# begin NAME: a new capture directory, an empty buffer, nothing lost so far.
begin() {
  NAME=$V-$1
  C=$D/$NAME
  mkdir -p $C
  CMD=$C/cmd
  echo "# kernel $(uname -r), tracefs at $T, $(nproc) vCPUs (qemu TCG: durations meaningless)" > $CMD
  w 0 tracing_on
}

# start: clear the buffer and record.
start() { w '' trace; w 1 tracing_on; }

# save: stop recording, then read the buffer as text (`trace` first: it
# does not consume), then as raw pages, then the metadata.
save() {
  w 0 tracing_on
  cat trace > $C/trace
  note "cat $T/trace > trace"
  for d in per_cpu/cpu*; do
    n=${d#per_cpu/cpu}
    cat $d/stats > $C/stats$n
    # trace_pipe_raw blocks once empty: read it in the background, then
    # stop the reader when it has had time to copy every page.
    dd if=$d/trace_pipe_raw of=$C/cpu$n.raw bs=4096 2>/dev/null &
    eval P$n=$!
  done
  sleep 2
  for d in per_cpu/cpu*; do
    n=${d#per_cpu/cpu}
    eval kill \$P$n
    eval wait \$P$n 2>/dev/null
  done
  note "dd if=$T/per_cpu/cpuN/trace_pipe_raw of=cpuN.raw bs=4096 (until empty)"
  for f in $FORMATS; do
    [ -e events/$f/format ] || continue
    mkdir -p $C/events/${f%/*}
    cp events/$f/format $C/events/$f.format
  done
  cp events/header_page $C/header_page
  cp saved_cmdlines $C/saved_cmdlines
  { cat trace_options
    for o in tracing_thresh max_graph_depth trace_clock current_tracer; do echo "$o=$(cat $o)"; done
  } > $C/options
  ls -d per_cpu/cpu* | wc -l > $C/nr_cpus
  cat /sys/devices/system/cpu/possible > $C/cpu_possible
  uname -r > $C/uname
  echo "capture $NAME: $(wc -l < $C/trace) lines, $(cat $C/cpu*.raw | wc -c) raw bytes, lost: $(grep -h -e overrun -e dropped $C/stats* | tr '\n' ' ')"
}

# Graph knobs as fixtures.sh sets them: pwritev2 only, depth 4.
# With ARGS set, funcgraph-args on too.
graph_base() {
  w __x64_sys_pwritev2 set_graph_function
  w 4 max_graph_depth
  w 0 tracing_thresh
  [ -z "$ARGS" ] || w 1 options/funcgraph-args
}

# pw NAME VALUE OPTION...: pwv2 3 with each OPTION set to VALUE, then back.
pw() {
  name=$1 value=$2; shift 2
  begin $name; graph_base
  for o in "$@"; do w $value options/$o; done
  start
  pwv2 3; note "pwv2 3"
  save
  back=1; [ $value = 1 ] && back=0
  for o in "$@"; do w $back options/$o; done
}

# ---- setup: a buffer large enough that nothing is lost ----
echo 0 > tracing_on
echo nop > current_tracer
echo 4096 > buffer_size_kb
for o in $OPTIONS; do [ -e options/$o ] && echo "$o=$(cat options/$o)"; done > $D/default-options
echo __x64_sys_pwritev2 > set_graph_function
echo 4 > max_graph_depth
t0=$(date +%s)
echo function_graph > current_tracer || { echo "no function_graph" >&2; exit 1; }
echo "switch to function_graph took $(( $(date +%s) - t0 )) s"

pw depth4 1
pw proc 1 funcgraph-proc
pw abstime 1 funcgraph-abstime
pw tail 1 funcgraph-tail
pw latency 1 latency-format
pw all 1 funcgraph-proc funcgraph-abstime funcgraph-tail latency-format
pw nocpu 0 funcgraph-cpu
pw noduration 0 funcgraph-duration
pw nooverhead 0 funcgraph-overhead
pw nocontextinfo 0 context-info

# funcgraph-args (6.15+ with BTF): the same sets with the arguments
if [ -e options/funcgraph-args ]; then
  echo "options: $(ls options | tr '\n' ' ')"
  ARGS=1
  pw args 1
  pw args-all 1 funcgraph-proc funcgraph-abstime funcgraph-tail latency-format
  pw args-nocpu-noduration 0 funcgraph-cpu funcgraph-duration
  pw args-nocontextinfo 0 context-info
  # unfiltered: many more functions, so more kinds of parameters
  begin args-unfiltered-1cpu-depth2; graph_base
  w '' set_graph_function; w 2 max_graph_depth
  start
  taskset 1 forker 1; note "taskset 1 forker 1"
  save
  ARGS=
  w 0 options/funcgraph-args
fi

# forker: two pids, context switches on the CPUs
begin proc-forker; graph_base; w 1 options/funcgraph-proc; start
forker 3; note "forker 3"
save; w 0 options/funcgraph-proc

# tracing_thresh: return lines only, no depth limit
begin thresh20; graph_base; w 0 max_graph_depth; w 20 tracing_thresh; start
pwv2 3; note "pwv2 3"
save; w 0 tracing_thresh

# sched_switch inline, as fixtures.sh's sched-switch-sleeper
begin sched-switch-sleeper
w __x64_sys_clock_nanosleep set_graph_function
echo __x64_sys_write >> set_graph_function; note "echo __x64_sys_write >> set_graph_function"
w 6 max_graph_depth
w 1 events/sched/sched_switch/enable
w 1 options/funcgraph-proc
start
sleeper 3; note "sleeper 3"
save
w 0 events/sched/sched_switch/enable; w 0 options/funcgraph-proc

# more events and trace_marker lines inside and between graphs
begin events; graph_base; w 1 options/funcgraph-proc
for e in $SCHED_EVENTS; do w 1 events/sched/$e/enable; done
start
echo "before the forker" > trace_marker; note "echo 'before the forker' > trace_marker"
forker 2; note "forker 2"
echo "after the forker" > trace_marker; note "echo 'after the forker' > trace_marker"
save
for e in $SCHED_EVENTS; do w 0 events/sched/$e/enable; done
w 0 options/funcgraph-proc

# unfiltered, two workloads on two CPUs, depth 2 (smaller workloads than
# fixtures.sh's, so the pages stay small)
begin unfiltered-2cpu-depth2
w '' set_graph_function; w 2 max_graph_depth
start
taskset 1 pwv2 3 & taskset 2 forker 1 & wait
note "taskset 1 pwv2 3 & taskset 2 forker 1 & wait"
save

# ---- the function tracer (ftr -T vfs_writev) ----
echo 0 > tracing_on
echo nop > current_tracer
echo > set_graph_function
echo 0 > max_graph_depth
begin function-vfs_writev
w vfs_writev set_ftrace_filter
w function current_tracer
start
pwv2 2; note "pwv2 2"
save
echo nop > current_tracer; echo > set_ftrace_filter
# ... with its arguments (func-args, 6.15+; the option shows with the tracer)
begin function-args-vfs_writev
w vfs_writev set_ftrace_filter
w function current_tracer
if [ -e options/func-args ]; then
  w 1 options/func-args
  start
  pwv2 2; note "pwv2 2"
  save
  w 0 options/func-args
else
  rm -rf $C
fi
echo nop > current_tracer; echo > set_ftrace_filter

cat /proc/kallsyms > $D/kallsyms
[ -e /sys/kernel/btf/vmlinux ] && cp /sys/kernel/btf/vmlinux $D/btf
cp -r $D/* $OUT/ || exit 1
echo "raw captures done"
