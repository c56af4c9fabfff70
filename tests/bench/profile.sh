#!/usr/bin/env bash
# Is `ftr report --profile` cheap next to rendering the same capture, and
# does its memory grow with the distinct functions and stacks rather than
# with the number of events? Builds captures of COPIES and 3*COPIES copies of
# the pages of a real 6.12 capture (tests/fixtures/graph-raw/
# 6.12-unfiltered-2cpu-depth2, via the test
# many_copies_of_a_capture_render_as_many_copies_of_its_text): the big one
# is about 1,000,000 lines of graph. Then, taking turns, times
# `ftr report --color=never` (rendering), `--profile` and `--folded` of it.
# Memory is the peak anonymous RSS (RssAnon, sampled every few ms: the
# capture itself is mapped, its pages are file memory either way).
# Targets: profile <= 2x render; RssAnon of the 3x capture within 1 MiB of
# the 1x capture's. Reports, does not gate. Needs no root.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
COPIES=${COPIES:-95}
RUNS=${RUNS:-7}
FTR=${FTR:-}
if [ -z "$FTR" ]; then
  (cd "$root" && cargo build --release --quiet)
  FTR=$root/target/release/ftr
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for n in "$COPIES" $((COPIES * 3)); do
  mkdir -p "$tmp/$n"
  (cd "$root" && FTR_BENCH_CAPTURE=$tmp/$n FTR_BENCH_COPIES=$n \
    cargo test --release --quiet many_copies_of_a_capture > /dev/null)
  echo "capture of $n copies: $(du -h "$tmp/$n/capture.dat" | cut -f1), $(wc -l < "$tmp/$n/trace.txt") lines of text"
done
big=$tmp/$((COPIES * 3))/capture.dat

ms() {
  local s=$EPOCHREALTIME
  "$@" > /dev/null
  local e=$EPOCHREALTIME
  awk -v s="$s" -v e="$e" 'BEGIN { printf "%.1f\n", (e - s) * 1000 }'
}
median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

# Peak RssAnon (KiB) of one run of "$@", sampled while it runs.
anon_kb() {
  "$@" > /dev/null &
  local pid=$! peak=0 v
  while v=$(awk '/^RssAnon/ { print $2 }' "/proc/$pid/status" 2>/dev/null) && [ -n "$v" ]; do
    [ "$v" -gt "$peak" ] && peak=$v
    sleep 0.002
  done
  wait "$pid"
  echo "$peak"
}

for _ in $(seq "$RUNS"); do
  ms "$FTR" report --color=never "$big" >> "$tmp/render"
  ms "$FTR" report --profile "$big" >> "$tmp/profile"
  ms "$FTR" report --folded "$big" >> "$tmp/folded"
done
render=$(median < "$tmp/render")
profile=$(median < "$tmp/profile")
folded=$(median < "$tmp/folded")
printf '%-42s %10s %8s\n' case "median ms" "x render"
for row in "ftr report --color=never (render):$render" "ftr report --profile:$profile" "ftr report --folded:$folded"; do
  printf '%-42s %10s %8.2f\n' "${row%%:*}" "${row##*:}" "$(awk -v a="${row##*:}" -v b="$render" 'BEGIN { print a / b }')"
done

printf '\n%-42s %12s %12s\n' "peak RssAnon (KiB)" "${COPIES} copies" "$((COPIES * 3)) copies"
verdicts=()
for what in --profile --folded --color=never; do
  small=$(anon_kb "$FTR" report "$what" "$tmp/$COPIES/capture.dat")
  large=$(anon_kb "$FTR" report "$what" "$big")
  printf '%-42s %12s %12s\n' "ftr report $what" "$small" "$large"
  [ "$what" = --color=never ] && continue
  growth=$((large - small))
  verdicts+=("$( [ $growth -le 1024 ] && echo PASS || echo FAIL )  $what memory: 3x the events, +${growth} KiB (target: <= 1024)")
done
awk -v a="$profile" -v b="$render" 'BEGIN { r = a / b; printf "%s  profile <= 2x render: %.2fx\n", (r <= 2 ? "PASS" : "FAIL"), r }'
awk -v a="$folded" -v b="$render" 'BEGIN { r = a / b; printf "%s  folded <= 2x render: %.2fx\n", (r <= 2 ? "PASS" : "FAIL"), r }'
printf '%s\n' "${verdicts[@]}"
