# String arguments of `ftr trace`, read by event probes, or (7.2) carried by
# the syscall events themselves. tests/vm.rs runs this after lib.sh and
# graph.sh in the same boot, with graph.sh's snapshot of the seeded tracefs;
# the other tool's kprobe that graph.sh added is still in dynamic_events.

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

# openat's file name: read by a probe, or (6.19+) carried by the event, when
# no probe of ftr's may be there at all. cat blocks opening the fifo until
# the write below, so the run is sampled while it traces.
mkfifo /tmp/fifo
echo "==== BEGIN strings-native"
ftr trace -e openat --no-pager -- cat /tmp/a.txt /tmp/fifo > /tmp/strings-native.out 2>&1 &
fpid=$!
i=0
while ! pidof cat > /dev/null && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done
echo "ftr probes during the run: $(grep -c '^e:ftr_' $T/dynamic_events)"
echo "events during the run: $(cat $T/instances/ftr-*/set_event | tr '\n' ' ')"
echo bye > /tmp/fifo
wait $fpid
echo "ftr: rc=$?"
cat /tmp/strings-native.out
echo "==== END strings-native rc=0"
rm -f /tmp/fifo
check strings-native

# execve's argv needs a probe on every kernel (7.2 carries only its file
# name), so these runs have at least one to remove.
echo "==== BEGIN strings-int"
ftr trace -e openat,execve,nanosleep,clock_nanosleep --no-pager -- sleeper 100 > /tmp/strings-int.out 2>&1 &
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
ftr trace -e openat,execve --no-pager -- sleeper 100 > /dev/null 2>&1 &
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
