# kill -9 of `ftr -G` at many moments (set-up, tracing, ftr's own restore),
# then 0.1 s later either `ftr reset` or a second `ftr -G`. The guardian may
# still be putting tracefs back then (under TCG that takes seconds): reset
# must return with tracefs as before, and the second ftr must journal the
# values from before the first, not its leftovers. Runs after lib.sh and
# graph.sh (snap, tracer_now, seed) in the same boot.
#
# Prints, per moment, `MOMENT <how> <event+s> <phase> rc=<rc> said=<lines>`,
# phase being where the first ftr was when killed: setup (its command not
# started yet), tracing (command running), restore (command ended), and a
# `SNAPSHOT` line: for reset, taken as it returns (no settle); for the
# second ftr, once both are done.

# No command of an earlier scenario may still run: phase() looks for sleeper.
pkill sleeper 2>/dev/null
while pidof sleeper > /dev/null; do sleep 0.05; done
seed
snap > /tmp/before

# Where the ftr of pid $1 is: its command runs `sleeper`, then touches
# /tmp/cmd-done.
phase() {
  if [ -e /tmp/cmd-done ]; then echo restore
  elif pidof sleeper > /dev/null; then echo tracing
  else echo setup
  fi
}

# Waits (up to 60 s) for an event of the first ftr's run: start (now),
# command (its command runs), done (its command ended; ftr restores).
reach() {
  i=0
  case $1 in
    start) return ;;
    command) while ! pidof sleeper > /dev/null && [ ! -e /tmp/cmd-done ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done ;;
    done) while [ ! -e /tmp/cmd-done ] && [ $i -lt 1200 ]; do sleep 0.05; i=$((i+1)); done ;;
  esac
}

# Moments as event+seconds: set-up (arming function_graph takes 3-4 s under
# TCG), tracing (the command takes 0.5 s), ftr's own restore (putting the
# tracer back takes 2-3 s).
MOMENTS="start+0.05 start+0.5 start+1.5 command+0 command+0.2 done+0 done+0.3 done+0.8 done+1.5 done+2.5"

for how in reset second; do
  for m in $MOMENTS; do
    rm -f /tmp/cmd-done
    ftr -G __x64_sys_write --graph-opts depth=1 --no-pager -- sh -c 'sleeper 10; touch /tmp/cmd-done' > /dev/null 2>&1 &
    fpid=$!
    reach "${m%+*}"
    sleep "${m#*+}"
    p=$(phase)
    kill -9 $fpid
    wait $fpid 2>/dev/null
    sleep 0.1
    if [ $how = reset ]; then
      ftr reset > /tmp/said 2>&1
      rc=$?
      snap > /tmp/after
    else
      ftr -G __x64_sys_pwritev2 --graph-opts depth=1 --no-pager -- pwv2 1 > /tmp/second 2>&1
      rc=$?
      grep -v '^ *[0-9])' /tmp/second > /tmp/said
      grep -q '__x64_sys_pwritev2();' /tmp/second || { echo "second ftr traced nothing:"; cat /tmp/second; rc=99; }
      settle
      snap > /tmp/after
    fi
    echo "MOMENT $how $m $p rc=$rc said=$(tr '\n' '|' < /tmp/said)"
    if cmp -s /tmp/before /tmp/after; then
      echo "SNAPSHOT kill9-$how-$m same"
    else
      echo "SNAPSHOT kill9-$how-$m DIFFERENT"
      diff /tmp/before /tmp/after | head -20
    fi
    # The killed ftr's command is orphaned, not killed: end it (it and the
    # shell around it are this script's own).
    pkill sleeper 2>/dev/null
    settle
    # Put back what a failure changed, so that the next moment starts clean.
    cmp -s /tmp/before /tmp/after || { ftr reset > /dev/null 2>&1; snap > /tmp/before; }
  done
done

# A capture (-o) of a run the kernel side refuses (another tracer is busy)
# leaves the file of that name as it was, and nothing beside it.
echo "==== BEGIN keep-capture"
echo "an earlier capture" > /tmp/keep.dat
echo vfs_read > $T/set_ftrace_filter
echo function > $T/current_tracer
ftr -G __x64_sys_pwritev2 --graph-opts depth=1 --no-pager -o /tmp/keep.dat -- pwv2 1
echo "ftr rc=$?"
echo nop > $T/current_tracer
echo > $T/set_ftrace_filter
echo "kept: $(cat /tmp/keep.dat)"
echo "beside it: $(ls -a /tmp | grep -c 'keep\.dat')"
echo "==== END keep-capture rc=0"
check keep-capture
