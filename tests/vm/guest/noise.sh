#!/bin/sh
# osnoise and timerlat scenarios for ftr on Debian's PREEMPT_RT kernel (the
# one of the test kernels with these tracers); run by tests/vm.rs through
# run-guest.sh with a static ftr in /bin, after lib.sh (run, check, settle).
# The osnoise knobs start at non-default values, and after every way out
# they (and everything else snapshotted) must be back: `SNAPSHOT name same`.
snap() {
  for f in current_tracer tracing_on tracing_thresh set_event buffer_size_kb; do
    echo "== $f"; cat $T/$f
  done
  for f in $T/osnoise/*; do echo "$f=$(cat $f)"; done
  echo "instances: $(ls $T/instances)"
  echo "journals: $(ls /run/ftr 2>/dev/null)"
}
# Waits until ftr's instance runs the tracer.
running() {
  i=0
  while ! grep -qs 'osnoise\|timerlat' $T/instances/ftr-*/current_tracer && [ $i -lt 150 ]; do sleep 0.2; i=$((i+1)); done
  sleep 1
}

echo "kernel $(uname -r)"
# Not the defaults: ftr must put these back, not the defaults.
echo 2048 > $T/buffer_size_kb
echo 0-1 > $T/osnoise/cpus
echo 800000 > $T/osnoise/runtime_us
echo 900000 > $T/osnoise/period_us
echo 7 > $T/tracing_thresh
echo 500 > $T/osnoise/timerlat_period_us
snap > /tmp/before

# Output goes to files, read after: the serial console's interrupts would be
# noise on the CPU measured, and its lines more noise.
# A CPU-bound thread pinned to CPU 1 while osnoise measures CPU 1: the
# summary only (the default), then with every noise event (--live).
ftr osnoise --cpus 1 --period 200000 --runtime 180000 -o /tmp/spin.out -- spin 3 1 2> /tmp/spin.err
rc=$?
echo "==== BEGIN spin"; cat /tmp/spin.out /tmp/spin.err; echo "==== END spin rc=$rc"
check spin
ftr osnoise --cpus 1 --period 200000 --runtime 180000 --live -o /tmp/spin.out -- spin 3 1 2> /tmp/spin.err
rc=$?
echo "==== BEGIN spin-live"; cat /tmp/spin.out /tmp/spin.err; echo "==== END spin-live rc=$rc"
check spin-live
# A stop threshold below that noise: the kernel stops tracing early. The
# thread runs SCHED_FIFO in bursts of 60 ms, longer than anything else takes
# CPU 1 for under TCG (its vCPU can stall for some ms: hardware noise).
ftr osnoise --cpus 1 --period 200000 --runtime 180000 --stop-us 30000 -d 20 -o /tmp/stop.out -- spin 20 1 60 2> /tmp/stop.err
rc=$?
echo "==== BEGIN stop"; cat /tmp/stop.out /tmp/stop.err; echo "==== END stop rc=$rc"
check stop
pkill spin 2>/dev/null
# The command's exit status is ftr's.
run status ftr osnoise --cpus 1 -d 10 -o /dev/null -- sh -c 'sleep 1; exit 3'
check status
ftr timerlat --cpus 0-1 -d 3 --hist -o /tmp/tl.out 2> /tmp/tl.err
rc=$?
echo "==== BEGIN timerlat"; cat /tmp/tl.out /tmp/tl.err; echo "==== END timerlat rc=$rc"
check timerlat

# A thread latency threshold that the spinning thread's CPU crosses.
ftr timerlat --cpus 1 --thread-stop-us 300 -d 20 -o /tmp/tls.out -- spin 20 1 2> /tmp/tls.err
rc=$?
echo "==== BEGIN timerlat-stop"; cat /tmp/tls.out /tmp/tls.err; echo "==== END timerlat-stop rc=$rc"
pkill spin 2>/dev/null
check timerlat-stop

echo "==== BEGIN int"
ftr osnoise --cpus 1 -o /tmp/int.out 2> /tmp/int.err &
fpid=$!
running
# The default records the tracer's summaries only: no event enabled.
echo "set_event: [$(cat $T/instances/ftr-*/set_event | tr '\n' ' ')]"
kill -INT $fpid
wait $fpid
echo "rc=$?"
grep -E "^(CPU  PERIODS|KIND )" /tmp/int.out; tail -3 /tmp/int.out; cat /tmp/int.err
echo "==== END int rc=0"
check int

echo "==== BEGIN kill9"
ftr osnoise --cpus 1 -o /dev/null 2>/dev/null &
fpid=$!
running
gpid=$(sed -n 's/^guardian //p' /run/ftr/$fpid)
kill -9 $gpid $fpid
wait $fpid 2>/dev/null
echo "tracer after kill -9: $(cat $T/instances/ftr-*/current_tracer 2>/dev/null)"
ftr reset
echo "==== END kill9 rc=$?"
check kill9

# Another osnoise user: refused, one line, nothing changed.
mkdir $T/instances/other
echo osnoise > $T/instances/other/current_tracer
run busy ftr osnoise -d 1 --no-pager
echo nop > $T/instances/other/current_tracer
rmdir $T/instances/other
check busy
echo done
