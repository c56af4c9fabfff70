#!/usr/bin/env bash
# Is ftr's function_graph renderer ever the bottleneck? Renders a
# 1,000,000-line graph (built from the real captures in tests/fixtures/graph)
# with colors to /dev/null, and compares with `cat FILE | cat > /dev/null` and
# a plain sed substitution on the same file. Target: ftr <= 5x cat|cat.
# Reports, does not gate. Needs no root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LINES=${LINES:-1000000}
RUNS=${RUNS:-11}
FTR=${FTR:-}
if [ -z "$FTR" ]; then
  (cd "$root" && cargo build --release --quiet)
  FTR=$root/target/release/ftr
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
file=$tmp/graph.txt
cat "$root"/tests/fixtures/graph/*.txt > "$tmp/one"
awk -v n="$LINES" 'FNR==NR { l[c++] = $0; next } END { for (i = 0; i < n; i++) print l[i % c] }' "$tmp/one" /dev/null > "$file"
echo "input: $(wc -l < "$file") lines, $(du -h "$file" | cut -f1)"

# Wall time of one run, in ms.
ms() {
  local s=$EPOCHREALTIME
  "$@" > /dev/null
  local e=$EPOCHREALTIME
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f\n", (e - s) * 1000 }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# The cases take turns, so that a machine that gets busier or quieter
# during the run shifts them all alike.
for _ in $(seq "$RUNS"); do
  ms sh -c "cat '$file' | cat" >> "$tmp/catcat"
  ms sed 's/us/us/' "$file" >> "$tmp/sed"
  ms "$FTR" report --color=always "$file" >> "$tmp/color"
  ms "$FTR" report --color=never "$file" >> "$tmp/plain"
done
catcat=$(median < "$tmp/catcat")
sed_ms=$(median < "$tmp/sed")
color=$(median < "$tmp/color")
plain=$(median < "$tmp/plain")
# The invariant, on this input: color only adds escapes.
if "$FTR" report --color=always "$file" | sed 's/\x1b\[[0-9;]*m//g' | cmp -s - "$file"; then same=yes; else same=NO; fi

printf '%-34s %10s %8s\n' case "median ms" "x cat"
for row in "cat FILE | cat:$catcat" "sed s/us/us/:$sed_ms" "ftr report --color=always:$color" "ftr report --color=never:$plain"; do
  name=${row%%:*}; ms=${row##*:}
  printf '%-34s %10s %8.1f\n' "$name" "$ms" "$(awk -v a="$ms" -v b="$catcat" 'BEGIN { print a / b }')"
done
ratio=$(awk -v a="$color" -v b="$catcat" 'BEGIN { printf "%.1f", a / b }')
verdict=$(awk -v r="$ratio" 'BEGIN { print (r <= 5 ? "PASS" : "FAIL") }')
echo "$verdict  colored render <= 5x cat|cat: ${ratio}x"
echo "$( [ $same = yes ] && echo PASS || echo FAIL )  colored output minus escapes == input: $same"
