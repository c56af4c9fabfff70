#!/bin/sh
# The guest half of tests/bench/noise.sh: on Debian's 6.1 PREEMPT_RT, with a
# CPU-bound thread pinned to CPU 1 (`spin`), runs each case of $CASES in
# turn, $ROUNDS times (alternating, so that drift in the emulator's speed
# falls on every case alike), and prints each run's output between
# `RUN case round rc=N` and `ENDRUN`. The noise script prepends ROUNDS, DUR
# and CASES (one case a line: NAME COMMAND..., with @DUR@ for the duration).
# Outputs go to files first: the serial console's interrupts would be noise,
# and only the tables are printed.
T=/sys/kernel/tracing
cd /tmp
tar -xzf /bin/rtla.tgz -C / || { echo "no rtla bundle"; exit 1; }
echo "kernel $(uname -r) rtla $(rtla --version 2>&1 | head -1)"
echo "osnoise defaults: period $(cat $T/osnoise/period_us) runtime $(cat $T/osnoise/runtime_us) timerlat_period $(cat $T/osnoise/timerlat_period_us)"
# ftr's clean-up child finishes after ftr exits (it removes the instance):
# wait for it, and for rtla's instance, before the next run.
settle() {
  i=0
  while { [ -n "$(ls /run/ftr 2>/dev/null)" ] || [ -n "$(ls $T/instances)" ]; } && [ $i -lt 600 ]; do
    sleep 0.05; i=$((i+1))
  done
}
r=1
while [ $r -le "$ROUNDS" ]; do
  echo "$CASES" | while read -r name cmd; do
    [ -n "$name" ] || continue
    cmd=$(echo "$cmd" | sed "s/@DUR@/$DUR/g")
    settle
    # The workload outlives the measurement; it is killed right after.
    spin $((DUR + 30)) 1 &
    sp=$!
    sleep 0.5
    sh -c "$cmd" > /tmp/out 2> /tmp/err
    rc=$?
    kill $sp 2>/dev/null
    wait $sp 2>/dev/null
    echo "RUN $name $r rc=$rc"
    # ftr's live lines are counted, not printed: thousands of lines through
    # the emulated serial port would take minutes.
    live='^ *[0-9]+\.[0-9]{6}  CPU '
    grep -vE "$live" /tmp/out
    echo "live lines: $(grep -cE "$live" /tmp/out)"
    cat /tmp/err
    echo "ENDRUN"
  done
  r=$((r + 1))
done
settle
echo "instances left: $(ls $T/instances)"
