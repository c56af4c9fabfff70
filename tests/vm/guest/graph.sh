#!/bin/sh
# Graph-mode scenarios for ftr on a stock kernel; run by tests/vm.rs through
# run-guest.sh with a static ftr in /bin, after lib.sh (run, check, settle).

snap() {
  for f in current_tracer tracing_on set_event set_event_pid set_ftrace_filter set_ftrace_notrace \
           set_ftrace_pid set_graph_function set_graph_notrace max_graph_depth tracing_thresh \
           trace_options trace_clock tracing_cpumask buffer_size_kb; do
    [ -e $T/$f ] && { echo "== $f"; cat $T/$f; }
  done
  for f in dynamic_events kprobe_events; do
    [ -e $T/$f ] && { echo "== $f"; cat $T/$f; }
  done
  for o in $T/options/*; do echo "$o=$(cat $o)"; done
  echo "instances: $(ls $T/instances)"
  echo "journals: $(ls /run/ftr 2>/dev/null)"
}

# The tracer ftr runs: in its own instance where the kernel allows that (6.12),
# else at the top level (6.1). An instance being removed reads as gone.
tracer_now() {
  for d in $T/instances/ftr-*; do
    t=$(cat $d/current_tracer 2>/dev/null) && [ "$t" != nop ] && { echo "$t"; return; }
  done
  cat $T/current_tracer
}

# Waits until ftr has armed function_graph (switching takes seconds under TCG).
armed() {
  i=0
  while [ "$(tracer_now)" != function_graph ] && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done
  sleep 1
}

# Not the defaults: ftr must put back these values, not defaults. (An explicit
# buffer size also keeps the kernel from expanding "7 (expanded: 1408)" itself.)
seed() {
  echo 2048 > $T/buffer_size_kb
  echo 7 > $T/max_graph_depth
  echo 1 > $T/options/funcgraph-tail
  echo vfs_read > $T/set_ftrace_notrace
  echo 1 > $T/set_ftrace_pid
}

# No /run here, as on minimal systems: ftr makes what it needs.
echo "kernel $(uname -r)"
[ -d /run ] && echo "/run exists before ftr" || echo "no /run before ftr"
# Another tool's probe: it must survive every way out.
echo 'p:othertool/vfsr vfs_read' >> $T/dynamic_events || echo "cannot add the kprobe"
seed
snap > /tmp/before

run depth4 ftr -G __x64_sys_pwritev2 --graph-opts depth=4 --no-pager -- pwv2 3
check depth4
run perf-depth4 timeout -s INT 60 perf --no-pager ftrace -G __x64_sys_pwritev2 --graph-opts depth=4 -- pwv2 3
# perf ftrace (6.1) does not restore what it changed: put the snapshot back by hand.
echo nop > $T/current_tracer; echo > $T/set_graph_function; echo 1 > $T/tracing_on
seed
snap > /tmp/before
# ftr profile of 50 pwritev2, saved too; then the graph, stacks and table of
# that same capture; ftr latency -T of 30.
run profile50 ftr profile -G __x64_sys_pwritev2 --no-pager -o /tmp/p50.dat -- pwv2 50
check profile50
run profile50-graph ftr report --no-pager --color=never /tmp/p50.dat
run profile50-folded ftr report --no-pager --folded /tmp/p50.dat
run profile50-report ftr report --no-pager --profile -s count /tmp/p50.dat
run latency30 ftr latency -T vfs_writev --no-pager -- pwv2 30
check latency30
run thresh ftr -G __x64_sys_pwritev2 --graph-opts thresh=20 --no-pager -- pwv2 3
check thresh
run nograph ftr -G __x64_sys_pwritev2 -g vfs_writev,vfs_iter_write --graph-opts depth=3 --no-pager -- pwv2 2
check nograph
run notrace ftr -G __x64_sys_pwritev2 -N '__cond_resched,rw_verify_area' --graph-opts depth=4 --no-pager -- pwv2 2
check notrace
run events ftr -G __x64_sys_nanosleep,__x64_sys_clock_nanosleep -e sched:sched_switch --graph-opts depth=2 --no-pager -- sleeper 2
check events
run function ftr -T vfs_writev --no-pager -- pwv2 2
check function
run bufsize ftr -m 1M -G __x64_sys_pwritev2 --graph-opts depth=1 --no-pager -- pwv2 1
check bufsize
# pwv2 pinned to CPU 0 and to CPU 1 at once: -C 0 sees only the first.
run cpu0 ftr -C 0 -G __x64_sys_pwritev2 --graph-opts depth=1 --no-pager -- sh -c "taskset 1 pwv2 4 & taskset 2 pwv2 4; wait"
check cpu0
run abstime ftr -O funcgraph-abstime -G __x64_sys_pwritev2 --graph-opts depth=1 --no-pager -- pwv2 2
check abstime
run delay ftr -D 2500 -G __x64_sys_write --graph-opts depth=1 --no-pager -- sleeper 60
check delay
# -o saves a capture (trace.dat); ftr report renders it again.
run saved ftr -o /tmp/cap.dat -G __x64_sys_pwritev2 --graph-opts depth=2 --no-pager -- pwv2 2
check saved
run report ftr report --color=never --no-pager /tmp/cap.dat
# In color, live: each line is colored as it is printed.
run colored ftr -G __x64_sys_pwritev2 --graph-opts depth=3 --color=always --no-pager -- pwv2 2
check colored
run inherit ftr -G __x64_sys_pwritev2 --graph-opts depth=1 --no-pager -- forker 2
check inherit
run no-inherit ftr -G __x64_sys_pwritev2 --graph-opts depth=1 --no-inherit --no-pager -- forker 2
check no-inherit
sleeper 400 >/dev/null &
spid=$!
echo "sleeper pid $spid"
run pid ftr -G __x64_sys_write --graph-opts depth=1 -p $spid --timeout 2 --no-pager
check pid
run typo ftr -G __x64_sys_pwritv2 --no-pager -- pwv2 1
check typo
# Debian builds these kernels without CONFIG_FUNCTION_GRAPH_RETVAL.
run noretval ftr -G __x64_sys_pwritev2 --graph-opts depth=2,retval --no-pager -- pwv2 1
check noretval
# Values the plan rejects: one line, exit 125, nothing changed.
run badcpu ftr -C 7 -G __x64_sys_pwritev2 --no-pager -- pwv2 1
check badcpu
run badcpulist ftr -C 1-x -G __x64_sys_pwritev2 --no-pager -- pwv2 1
check badcpulist
run badopt ftr -O funcgraph-nosuch -G __x64_sys_pwritev2 --no-pager -- pwv2 1
check badopt
run badevent ftr -e sched:sched_swtch -G __x64_sys_pwritev2 --no-pager -- pwv2 1
check badevent
# A value only the kernel can refuse (no memory for the buffer): rolled back.
run nomem ftr -m 64G -G __x64_sys_pwritev2 --no-pager -- pwv2 1
check nomem
# A panic with tracing armed: the session puts everything back.
run panic env FTR_TEST_PANIC=1 ftr -G __x64_sys_pwritev2 --graph-opts depth=1 --no-pager -- pwv2 1
check panic
# SIGTERM in the middle of a trace: passed on to the command, which dies of it.
# (SIGINT would be ignored by a background job of a non-interactive shell.)
echo "==== BEGIN sigterm"
ftr -G __x64_sys_write --graph-opts depth=1 --no-pager -- sleeper 100 > /tmp/sigint.out 2>&1 &
fpid=$!
armed
kill -TERM $fpid
wait $fpid
echo "==== END sigterm rc=$?"
tail -n 2 /tmp/sigint.out
check sigterm
# SIGINT (ignored by this background command): tracing stops and tracefs is
# restored at once, while ftr goes on waiting for its command.
echo "==== BEGIN sigint"
ftr -G __x64_sys_write --graph-opts depth=1 --no-pager -- sleeper 200 > /tmp/sigint2.out 2>&1 &
fpid=$!
armed
kill -INT $fpid
sleep 4
echo "tracer after SIGINT, command still running: $(tracer_now)"
echo "ftr still waiting for its command: $(kill -0 $fpid 2>/dev/null && echo yes || echo no)"
wait $fpid
echo "==== END sigint rc=$?"
check sigint
# Another tracer is active: ftr refuses and changes nothing.
echo function > $T/current_tracer
snap > /tmp/before
run busy ftr -G __x64_sys_pwritev2 --no-pager -- pwv2 1
check busy
echo nop > $T/current_tracer
# Another, non-graph tracer at the top level: where the kernel lets the graph
# run in an instance (6.12), ftr runs beside it in its own; 6.1 cannot, and
# refuses as above. The command says where the tracers are while ftr runs.
echo blk > $T/current_tracer
snap > /tmp/before
run beside ftr -G __x64_sys_pwritev2 --graph-opts depth=2 --no-pager -- sh -c '
  for d in /sys/kernel/tracing/instances/*; do echo "during: ${d##*/} $(cat $d/current_tracer)"; done
  echo "during: top level $(cat /sys/kernel/tracing/current_tracer)"
  pwv2 2'
echo "graph lines in the top-level buffer: $(grep -c pwritev2 $T/trace)"
check beside
echo nop > $T/current_tracer
# Another instance's function tracer: the graph knobs ftr sets at the top level
# would reach it, so ftr refuses from its own instance (6.12); at the top level
# (6.1) it runs beside it, as it always did.
mkdir $T/instances/other
echo vfs_read > $T/instances/other/set_ftrace_filter
echo function > $T/instances/other/current_tracer
snap > /tmp/before
run busy-instance ftr -G __x64_sys_pwritev2 --graph-opts depth=1 --no-pager -- pwv2 1
check busy-instance
echo nop > $T/instances/other/current_tracer
rmdir $T/instances/other
snap > /tmp/before
# kill -9: the guardian puts everything back, with no ftr reset.
echo "==== BEGIN kill9"
ftr -G __x64_sys_write --graph-opts depth=1 --no-pager -- sleeper 100 > /dev/null 2>&1 &
fpid=$!
armed
echo "tracer while running: $(tracer_now)"
kill -9 $fpid
wait $fpid 2>/dev/null
i=0
while [ "$(tracer_now)" != nop ] && [ $i -lt 200 ]; do sleep 0.1; i=$((i+1)); done
echo "tracer after kill -9, no reset: $(tracer_now) (after $((i * 100)) ms)"
echo "==== END kill9 rc=0"
pkill sleeper 2>/dev/null
check kill9
# kill -9 of ftr and its guardian: the next ftr repairs it before its own
# checks (which would otherwise find a tracer active).
echo "==== BEGIN kill9-both"
ftr -G __x64_sys_write --graph-opts depth=1 --no-pager -- sleeper 100 > /dev/null 2>&1 &
fpid=$!
armed
gpid=$(sed -n 's/^guardian //p' /run/ftr/$fpid)
echo "guardian: ${gpid:-none}"
kill -9 $gpid
kill -9 $fpid
wait $fpid 2>/dev/null
sleep 1
echo "tracer after kill -9 of both: $(tracer_now)"
pkill sleeper 2>/dev/null
ftr -G __x64_sys_pwritev2 --graph-opts depth=1 --no-pager -- pwv2 1
echo "==== END kill9-both rc=$?"
check kill9-both
kill $spid 2>/dev/null
pkill sleeper 2>/dev/null
echo "probes at the end: $(cat $T/dynamic_events)"
echo done
