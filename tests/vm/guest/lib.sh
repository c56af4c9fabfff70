#!/bin/sh
# Helpers of the guest scenarios: tests/vm.rs puts this first in the script
# it boots (lib.sh, then graph.sh and strings.sh, or noise.sh). Each
# scenario's output is framed by `==== BEGIN name` / `==== END name rc=N`;
# after each way out, the script's `snap` of tracefs is compared with the one
# taken before (/tmp/before) and reported as `SNAPSHOT name same|DIFFERENT`.
T=/sys/kernel/tracing
cd /tmp

# Waits for ftr's detached clean-up child (it removes the journal last). Where
# the graph runs in ftr's instance (6.12), removing it turns function_graph off,
# which takes seconds under TCG.
settle() {
  i=0
  while [ -n "$(ls /run/ftr 2>/dev/null)" ] && [ $i -lt 600 ]; do sleep 0.05; i=$((i+1)); done
}

check() { # name
  settle
  snap > /tmp/after
  if cmp -s /tmp/before /tmp/after; then echo "SNAPSHOT $1 same"; else echo "SNAPSHOT $1 DIFFERENT"; diff /tmp/before /tmp/after | head -20; fi
}

run() { # name, command...
  name=$1; shift
  echo "==== BEGIN $name"
  "$@" 2>&1
  echo "==== END $name rc=$?"
}
