#!/usr/bin/env bash
# Is ftr's function_graph renderer ever the bottleneck? Two inputs:
# - text: a 1,000,000-line graph (built from the real captures in
#   tests/fixtures/graph), as `ftr report` of `cat trace` output renders it;
# - a capture: COPIES (100) copies of the pages of a real 6.12 capture
#   (tests/fixtures/graph-raw/6.12-unfiltered-2cpu-depth2, made by the test
#   many_copies_of_a_capture_render_as_many_copies_of_its_text, which also
#   checks that its text is the kernel's), as `ftr -o` saves them.
# Each is rendered with colors to /dev/null and compared with
# `cat TEXT | cat > /dev/null` of the same text. Target: ftr <= 5x cat|cat.
# Reports, does not gate. Needs no root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
LINES=${LINES:-1000000}
COPIES=${COPIES:-100}
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
echo "text input: $(wc -l < "$file") lines, $(du -h "$file" | cut -f1)"
(cd "$root" && FTR_BENCH_CAPTURE=$tmp FTR_BENCH_COPIES=$COPIES \
  cargo test --release --quiet many_copies_of_a_capture > /dev/null)
echo "capture input: $(du -h "$tmp/capture.dat" | cut -f1), its text $(wc -l < "$tmp/trace.txt") lines, $(du -h "$tmp/trace.txt" | cut -f1)"

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
  ms sh -c "cat '$tmp/trace.txt' | cat" >> "$tmp/capcat"
  ms "$FTR" report --color=always "$tmp/capture.dat" >> "$tmp/capcolor"
  ms "$FTR" report --color=never "$tmp/capture.dat" >> "$tmp/capplain"
done
# Median and best of each case: the machine may be shared, and the best
# run is the one the neighbours disturbed least (for cat as for ftr).
best() { sort -n | head -1; }
for case in catcat sed color plain capcat capcolor capplain; do
  printf -v "$case" '%s' "$(median < "$tmp/$case")"
  printf -v "${case}_best" '%s' "$(best < "$tmp/$case")"
done
# The invariant, on this input: color only adds escapes.
if "$FTR" report --color=always "$file" | sed 's/\x1b\[[0-9;]*m//g' | cmp -s - "$file"; then same=yes; else same=NO; fi
if "$FTR" report --color=always "$tmp/capture.dat" | sed 's/\x1b\[[0-9;]*m//g' | cmp -s - "$tmp/trace.txt"; then capsame=yes; else capsame=NO; fi

ratio() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", a / b }'; }
# row NAME CASE BASE: the case's median and best, each against the base's.
row() {
  local m=$2 b=${2}_best bm=$3 bb=${3}_best
  printf '%-36s %9s %6s %9s %6s\n' "$1" "${!m}" "$(ratio "${!m}" "${!bm}")" "${!b}" "$(ratio "${!b}" "${!bb}")"
}
printf '%-36s %9s %6s %9s %6s\n' case "median ms" "x cat" "best ms" "x cat"
row "text: cat FILE | cat" catcat catcat
row "text: sed s/us/us/" sed catcat
row "text: ftr report --color=always" color catcat
row "text: ftr report --color=never" plain catcat
row "capture: cat ITS-TEXT | cat" capcat capcat
row "capture: ftr report --color=always" capcolor capcat
row "capture: ftr report --color=never" capplain capcat
verdict() { awk -v a="$2" -v b="$3" -v what="$1" 'BEGIN { r = a / b; printf "%s  %s <= 5x cat|cat: %.1fx\n", (r <= 5 ? "PASS" : "FAIL"), what, r }'; }
verdict "text: colored render (medians)" "$color" "$catcat"
verdict "capture: colored render (medians)" "$capcolor" "$capcat"
echo "$( [ $same = yes ] && echo PASS || echo FAIL )  text: colored output minus escapes == input: $same"
echo "$( [ $capsame = yes ] && echo PASS || echo FAIL )  capture: colored output minus escapes == the kernel's text: $capsame"
