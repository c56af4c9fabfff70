#!/bin/sh
# Guest side of tests/bench/strings.sh, in one boot: a storm of N openat of
# one file under `ftr trace -e openat -s` with strings (an event probe reads
# each file name) and with --no-strings, untraced too, ROUNDS times in turn;
# then `ftr trace -- true` with and without probes (STARTUP runs each). One
# RESULT line per run: case, ns, and ftr's closing line.
N=${N:-200000}
ROUNDS=${ROUNDS:-3}
STARTUP=${STARTUP:-5}
T=/sys/kernel/tracing
echo 4096 > $T/buffer_size_kb  # no first-use expansion inside a timed run
settle() { while [ -n "$(ls /run/ftr 2>/dev/null)" ]; do sleep 0.05; done; }
timed() { # case, command...
  name=$1; shift
  settle
  elapsed "$@" > /dev/null 2> /tmp/err
  ns=$(sed -n 's/^elapsed \([0-9]*\) status.*/\1/p' /tmp/err)
  closing=$(grep '^ftr: ' /tmp/err | tr '\n' ' ')
  echo "RESULT $name $ns $closing"
}
opener 1 > /dev/null
r=0
while [ $r -lt $ROUNDS ]; do
  timed untraced opener $N
  timed strings ftr trace -e openat -s --no-pager -- opener $N
  timed no-strings ftr trace -e openat -s --no-strings --no-pager -- opener $N
  r=$((r + 1))
done
r=0
while [ $r -lt $STARTUP ]; do
  timed startup-openat ftr trace -e openat --no-pager -- true
  timed startup-openat-no-strings ftr trace -e openat --no-strings --no-pager -- true
  timed startup-all ftr trace --no-pager -- true
  timed startup-all-no-strings ftr trace --no-strings --no-pager -- true
  r=$((r + 1))
done
