#!/bin/sh
# funcgraph-args on a kernel that has it (Debian 7.2); run by tests/vm.rs
# last in 7.2's boot, after lib.sh (run, check, settle), graph.sh and the
# others (its snap replaces graph.sh's from here on). The kernel's own text of a workload
# (plain tracefs writes) and ftr's, live and from its capture, for the same
# workload; and the graph options this kernel lacks, refused by name.

snap() {
  for f in current_tracer tracing_on set_ftrace_filter set_graph_function max_graph_depth \
           tracing_thresh trace_options buffer_size_kb; do
    echo "== $f"; cat $T/$f
  done
  for o in $T/options/*; do echo "$o=$(cat $o)"; done
  echo "instances: $(ls $T/instances)"
  echo "journals: $(ls /run/ftr 2>/dev/null)"
}

echo "kernel $(uname -r)"
echo "options: $(ls $T/options | tr '\n' ' ')"
[ -e $T/options/funcgraph-args ] || { echo "no options/funcgraph-args on this kernel"; exit 1; }
[ -e /sys/kernel/btf/vmlinux ] || { echo "no /sys/kernel/btf/vmlinux on this kernel"; exit 1; }

# The scenarios before this one in the boot seed non-default values (a pid
# filter among them, which would keep pwv2 out of the kernel's text): back
# to the defaults first.
echo > $T/set_ftrace_pid
echo > $T/set_ftrace_notrace
echo 0 > $T/options/funcgraph-tail
echo 0 > $T/max_graph_depth

# The kernel's text: pwritev2 to depth 3 with the arguments.
kernel_text() {
  echo __x64_sys_pwritev2 > $T/set_graph_function
  echo 3 > $T/max_graph_depth
  echo 1 > $T/options/funcgraph-args
  echo 0 > $T/tracing_on
  echo function_graph > $T/current_tracer
  echo > $T/trace
  echo 1 > $T/tracing_on
  pwv2 3
  echo 0 > $T/tracing_on
  cat $T/trace
  echo nop > $T/current_tracer
  echo 0 > $T/options/funcgraph-args
  echo 0 > $T/max_graph_depth
  echo > $T/set_graph_function
  echo 1 > $T/tracing_on
}
run kernel-args kernel_text

snap > /tmp/before
run ftr-args ftr -G __x64_sys_pwritev2 --graph-opts depth=3,args --no-pager -- pwv2 3
check ftr-args
run ftr-args-capture ftr -G __x64_sys_pwritev2 --graph-opts depth=3,args --no-pager -o /tmp/args.dat -- pwv2 3
check ftr-args-capture
run ftr-args-report ftr report --no-pager /tmp/args.dat

# Options this kernel is built without: one line naming the config option,
# nothing changed (graph.sh's noretval does the same for retval).
run noretaddr ftr -G __x64_sys_pwritev2 --graph-opts depth=2,retaddr --no-pager -- pwv2 1
check noretaddr
