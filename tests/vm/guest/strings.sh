# String arguments of `ftr trace`, read by event probes. tests/vm.rs runs this
# after lib.sh and graph.sh in the same boot, with graph.sh's snapshot of the
# seeded tracefs; the other tool's kprobe that
# graph.sh added is still in dynamic_events.

# Waits until ftr's probes are enabled in its instance.
probes_on() {
  i=0
  while ! grep -qs '^ftr_' $T/instances/ftr-*/set_event && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done
  sleep 0.5
}

echo hello > /tmp/a.txt
run strings-cat ftr trace -e openat,execve,sendfile64,close --no-pager -- cat /tmp/a.txt /tmp/missing
check strings-cat
# A name in a page this process has not touched: the probe cannot read it.
printf /tmp/a.txt > /tmp/name
run strings-unresident ftr trace -e openat --no-pager -- opener unresident /tmp/name
check strings-unresident

echo "==== BEGIN strings-int"
ftr trace -e openat,nanosleep,clock_nanosleep --no-pager -- sleeper 100 > /tmp/strings-int.out 2>&1 &
fpid=$!
probes_on
echo "probes while running: $(grep -c '^e:ftr_' $T/dynamic_events)"
kill -INT $fpid
wait $fpid
echo "ftr after SIGINT: rc=$?"
cat /tmp/strings-int.out
echo "==== END strings-int rc=0"
pkill sleeper 2>/dev/null
check strings-int

echo "==== BEGIN strings-kill9"
ftr trace -e openat --no-pager -- sleeper 100 > /dev/null 2>&1 &
fpid=$!
probes_on
gpid=$(sed -n 's/^guardian //p' /run/ftr/$fpid)
kill -9 $gpid $fpid
wait $fpid 2>/dev/null
echo "probes after kill -9: $(grep -c '^e:ftr_' $T/dynamic_events)"
pkill sleeper 2>/dev/null
ftr reset
echo "==== END strings-kill9 rc=$?"
check strings-kill9
echo "probes at the very end: $(cat $T/dynamic_events)"
