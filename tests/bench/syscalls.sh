#!/usr/bin/env bash
# Syscall-tracing benchmark: ftr trace vs perf trace vs strace.
#
#   tests/bench/syscalls.sh            (as root, from any directory)
#
# Compiles tests/bench/pwv2.c (N pwritev2 calls), then measures the median
# wall time (and peak RSS) of:
#   1. ./pwv2 N                                   untraced
#   2. ftr trace -e pwritev2 --no-pager -- ./pwv2 N > /dev/null
#   3. ftr trace -e pwritev2 -s -- ./pwv2 N > /dev/null          (summary only)
#   4. perf trace -e pwritev2 -o /dev/null -- ./pwv2 N
#   5. strace -f -e trace=pwritev2 -o /dev/null ./pwv2 N
#   6. startup: ftr trace -e write --no-pager -- true, perf trace -e write --
#      true, strace -e trace=write true
# and prints a table and the targets with PASS/FAIL. It reports, it does not
# gate: it exits 0 even when a target fails, 1 when ftr itself fails to run
# (or the benchmark cannot be set up), 2 when not run as root.
#
# Environment knobs:
#   N=200000        pwritev2 calls per run
#   RUNS=5          runs of the fast cases (untraced, ftr, ftr -s)
#   SLOW_RUNS=3     runs of perf trace and strace (several seconds each)
#   STARTUP_RUNS=10 runs of each startup case
#   FTR=path        ftr binary to use (default: target/release/ftr, built first)
#   SKIP_BUILD=1    do not run cargo build --release
#
# Each timed run is wrapped in /usr/bin/time -f %M (for the peak RSS, which is
# the largest of the tracer and the traced command); the wall time is taken
# around that with $EPOCHREALTIME, so every row, the untraced baseline too,
# carries the same ~1 ms of /usr/bin/time fork+exec.
#
# ftr leaves the rmdir of its tracefs instance (~100+ ms of RCU waits in the
# kernel) to a detached child after it exits. Before each timed run the script
# waits for such leftovers to go (otherwise a run pays for the previous run's
# rmdir); the startup case is also measured back to back, without that wait,
# and the time the deferred clean-up took is reported.

set -u
export LC_ALL=C

HERE=$(cd -- "$(dirname -- "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd -- "$HERE/../.." && pwd)
N=${N:-200000}
RUNS=${RUNS:-5}
SLOW_RUNS=${SLOW_RUNS:-3}
STARTUP_RUNS=${STARTUP_RUNS:-10}
TRACEFS=/sys/kernel/tracing

die() { echo "syscalls.sh: $*" >&2; exit 1; }
note() { echo "== $*" >&2; }

[ "$(id -u)" -eq 0 ] || { echo "syscalls.sh: must run as root (tracefs, perf trace)" >&2; exit 2; }
[ -n "${EPOCHREALTIME:-}" ] || die "needs bash >= 5 (EPOCHREALTIME)"
command -v gcc >/dev/null || die "gcc not found"
[ -d "$TRACEFS/instances" ] || die "$TRACEFS is not mounted"

# --- tools -----------------------------------------------------------------
HAVE_TIME=1
if [ ! -x /usr/bin/time ]; then
    note "/usr/bin/time missing: trying apt-get install -y time"
    apt-get install -y time >/dev/null 2>&1 || true
    [ -x /usr/bin/time ] || { HAVE_TIME=0; note "no /usr/bin/time: peak RSS will be n/a"; }
fi
HAVE_PERF=0
command -v perf >/dev/null && perf trace -h 2>&1 | grep -q 'Usage: perf trace' && HAVE_PERF=1
HAVE_STRACE=0; command -v strace >/dev/null && HAVE_STRACE=1
[ "$HAVE_PERF" = 1 ] || echo "*** perf (with 'perf trace') not found: perf rows and the perf target are SKIPPED (apt-get install linux-perf)" >&2
[ "$HAVE_STRACE" = 1 ] || echo "*** strace not found: strace rows are SKIPPED (apt-get install strace)" >&2

# --- ftr -------------------------------------------------------------------
if [ -z "${FTR:-}" ]; then
    FTR=$ROOT/target/release/ftr
    if [ "${SKIP_BUILD:-0}" != 1 ]; then
        note "cargo build --release"
        if ! (cd "$ROOT" && cargo build --release --quiet) >/dev/null 2>&1; then
            [ -x "$FTR" ] || die "cargo build --release failed and there is no $FTR"
            echo "*** cargo build --release failed: benchmarking the existing $FTR" >&2
        fi
    fi
fi
[ -x "$FTR" ] || die "ftr binary not found: $FTR"

TMP=$(mktemp -d /tmp/ftr-bench.XXXXXX) || die "mktemp failed"
trap 'rm -rf -- "$TMP"' EXIT
# A private copy, so a concurrent rebuild cannot swap the binary mid-benchmark.
cp -- "$FTR" "$TMP/ftr" || die "cannot copy $FTR"
FTRBIN=$TMP/ftr
gcc -O2 -Wall -o "$TMP/pwv2" "$HERE/pwv2.c" || die "cannot compile pwv2.c"
cd "$TMP" || die "cd $TMP"
PWV2=("$TMP/pwv2" "$N" "$TMP/pwv2.out")
"${PWV2[@]}" || die "pwv2 itself fails"

# --- helpers ---------------------------------------------------------------
exec {SLEEPFD}<> <(:)      # read -t on this never returns data: a builtin sleep
nap() { read -r -t "$1" -u "$SLEEPFD" _ 2>/dev/null || true; }
now_us() { local t=${EPOCHREALTIME/./}; echo "$t"; }

# ftr-* instances present before we start belong to someone else.
declare -A FOREIGN=()
for d in "$TRACEFS"/instances/ftr-*; do [ -e "$d" ] && FOREIGN[$d]=1; done
leftovers() {
    local d
    for d in "$TRACEFS"/instances/ftr-*; do
        [ -e "$d" ] && [ -z "${FOREIGN[$d]:-}" ] && return 0
    done
    return 1
}
# Waits (up to 5 s) for ftr's deferred clean-up; SETTLE_MS = how long it took.
settle() {
    local t0; t0=$(now_us)
    local i=0
    while leftovers && [ $i -lt 5000 ]; do nap 0.001; i=$((i + 1)); done
    SETTLE_MS=$(awk -v a="$t0" -v b="$(now_us)" 'BEGIN{printf "%.1f", (b-a)/1000}')
}

# measure OUTFILE ERRFILE CMD...: sets WALL_MS, RSS_KB, RC.
measure() {
    local out=$1 err=$2; shift 2
    local t0 t1
    if [ "$HAVE_TIME" = 1 ]; then
        t0=$(now_us)
        /usr/bin/time -f '%M' -o "$TMP/rss" "$@" >"$out" 2>"$err"
        RC=$?
        t1=$(now_us)
        RSS_KB=$(tail -n 1 "$TMP/rss")
    else
        t0=$(now_us)
        "$@" >"$out" 2>"$err"
        RC=$?
        t1=$(now_us)
        RSS_KB=
    fi
    WALL_MS=$(awk -v a="$t0" -v b="$t1" 'BEGIN{printf "%.2f", (b-a)/1000}')
}

median() { printf '%s\n' "$@" | sort -g | awk '{v[NR]=$1} END{if(NR==0){print ""; exit} if(NR%2) print v[(NR+1)/2]; else printf "%.2f\n", (v[NR/2]+v[NR/2+1])/2}'; }
minof() { printf '%s\n' "$@" | sort -g | head -n 1; }
maxof() { printf '%s\n' "$@" | sort -g | tail -n 1; }

declare -A R_WALL R_MIN R_MAX R_RSS R_RUNS R_EVENTS
ORDER=()
FTR_NOISE=$TMP/ftr-noise
: >"$FTR_NOISE"
FTR_FAILED=0

# check_ftr ERRFILE WHAT: the closing line must be there and exit status 0.
# Sets FTR_N, FTR_LOST. Anything else ftr wrote on stderr is kept as noise.
check_ftr() {
    local err=$1 what=$2 line
    line=$(grep -E '^ftr: [0-9]+ syscalls traced, [0-9]+ events lost' "$err" | tail -n 1)
    grep -vE '^ftr: [0-9]+ syscalls traced, [0-9]+ events lost' "$err" | sed "s|^|[$what] |" >>"$FTR_NOISE"
    if [ "$RC" -ne 0 ] || [ -z "$line" ]; then
        echo "*** ftr failed ($what): exit status $RC; its stderr:" >&2
        sed 's/^/    /' "$err" >&2
        FTR_FAILED=1
        FTR_N=; FTR_LOST=
        return 1
    fi
    FTR_N=$(sed -E 's/^ftr: ([0-9]+) syscalls traced.*/\1/' <<<"$line")
    FTR_LOST=$(sed -E 's/.* ([0-9]+) events lost.*/\1/' <<<"$line")
}

# bench KEY LABEL RUNS SETTLE(1/0) KIND CMD...   KIND: plain|ftr|perf|strace
bench() {
    local key=$1 label=$2 runs=$3 do_settle=$4 kind=$5; shift 5
    local walls=() rsss=() settles=() i events=""
    note "$label  (x$runs)"
    for ((i = 0; i < runs; i++)); do
        [ "$do_settle" = 1 ] && settle
        measure "$TMP/out" "$TMP/err" "$@"
        case $kind in
            ftr)
                check_ftr "$TMP/err" "$label" || { R_WALL[$key]=FAILED; ORDER+=("$key|$label"); return 1; }
                events="$FTR_N traced / $FTR_LOST lost"
                ;;
            plain)
                [ "$RC" -eq 0 ] || { echo "*** $label: exit status $RC" >&2; sed 's/^/    /' "$TMP/err" >&2; }
                ;;
            *)
                if [ "$RC" -ne 0 ]; then
                    echo "*** $label: exit status $RC; stderr:" >&2; head -n 5 "$TMP/err" | sed 's/^/    /' >&2
                    R_WALL[$key]=FAILED; ORDER+=("$key|$label"); return 1
                fi
                ;;
        esac
        walls+=("$WALL_MS"); [ -n "$RSS_KB" ] && rsss+=("$RSS_KB")
        if [ "$do_settle" = 1 ] && [ "$kind" = ftr ]; then settle; settles+=("$SETTLE_MS"); fi
    done
    R_WALL[$key]=$(median "${walls[@]}")
    R_MIN[$key]=$(minof "${walls[@]}")
    R_MAX[$key]=$(maxof "${walls[@]}")
    R_RSS[$key]=$( [ ${#rsss[@]} -gt 0 ] && median "${rsss[@]}" )
    R_RUNS[$key]=$runs
    R_EVENTS[$key]=$events
    [ ${#settles[@]} -gt 0 ] && R_SETTLE[$key]=$(median "${settles[@]}")
    ORDER+=("$key|$label")
}
declare -A R_SETTLE

# --- 1-5: N pwritev2 calls -------------------------------------------------
echo "ftr: $FTRBIN (copy of $FTR)"
echo "kernel $(uname -r), $(nproc) CPUs, N=$N, runs=$RUNS (perf/strace: $SLOW_RUNS, startup: $STARTUP_RUNS)"
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
settle

bench untraced "pwv2 $N (untraced)" "$RUNS" 1 plain "${PWV2[@]}"
bench ftr "ftr trace -e pwritev2" "$RUNS" 1 ftr "$FTRBIN" trace -e pwritev2 --no-pager -- "${PWV2[@]}"
[ "$FTR_FAILED" = 1 ] || { FTR_FULL_N=$FTR_N; FTR_FULL_LOST=$FTR_LOST; }
# Cross-check the closing line against the lines ftr printed.
if [ "$FTR_FAILED" = 0 ]; then
    settle
    measure "$TMP/ftr.out" "$TMP/err" "$FTRBIN" trace -e pwritev2 --no-pager -- "${PWV2[@]}"
    check_ftr "$TMP/err" "ftr count run" && FTR_LINES=$(grep -c 'pwritev2(' "$TMP/ftr.out")
fi
bench ftr_s "ftr trace -e pwritev2 -s" "$RUNS" 1 ftr "$FTRBIN" trace -e pwritev2 -s --no-pager -- "${PWV2[@]}"
if [ "$FTR_FAILED" = 0 ]; then
    FTR_S_CALLS=$(awk '$1=="pwritev2"{print $2; exit}' "$TMP/out")
    R_EVENTS[ftr_s]="${R_EVENTS[ftr_s]}, summary: ${FTR_S_CALLS:-?} calls"
fi

if [ "$HAVE_PERF" = 1 ]; then
    bench perf "perf trace -e pwritev2" "$SLOW_RUNS" 1 perf perf trace -e pwritev2 -o /dev/null -- "${PWV2[@]}"
    if [ "${R_WALL[perf]}" != FAILED ]; then
        note "perf trace count run"
        perf trace -e pwritev2 -o "$TMP/perf.out" -- "${PWV2[@]}" >/dev/null 2>"$TMP/perf.err"
        PERF_LINES=$(grep -c 'pwritev2(' "$TMP/perf.out")
        PERF_LOST=$(grep -hoiE 'LOST [0-9]+ events' "$TMP/perf.out" "$TMP/perf.err" | awk '{s+=$2} END{print s+0}')
        R_EVENTS[perf]="$PERF_LINES printed / $PERF_LOST lost"
    fi
fi
if [ "$HAVE_STRACE" = 1 ]; then
    bench strace "strace -f -e trace=pwritev2" "$SLOW_RUNS" 1 strace strace -f -e trace=pwritev2 -o /dev/null "${PWV2[@]}"
    if [ "${R_WALL[strace]}" != FAILED ]; then
        note "strace count run"
        strace -f -e trace=pwritev2 -o "$TMP/strace.out" "${PWV2[@]}" >/dev/null 2>&1
        R_EVENTS[strace]="$(grep -c 'pwritev2(' "$TMP/strace.out") printed"
    fi
fi

# --- 6: startup --------------------------------------------------------------
bench true "true (untraced)" "$STARTUP_RUNS" 1 plain true
bench ftr_true "ftr trace -e write -- true" "$STARTUP_RUNS" 1 ftr "$FTRBIN" trace -e write --no-pager -- true
settle
bench ftr_true_b2b "  same, back to back" "$STARTUP_RUNS" 0 ftr "$FTRBIN" trace -e write --no-pager -- true
settle
[ "$HAVE_PERF" = 1 ] && bench perf_true "perf trace -e write -- true" "$STARTUP_RUNS" 1 perf perf trace -e write -- true
[ "$HAVE_STRACE" = 1 ] && bench strace_true "strace -e trace=write true" "$STARTUP_RUNS" 1 strace strace -e trace=write true
settle

# --- report ----------------------------------------------------------------
ratio() { # a / b (to 2 decimals, or $3), or - if either is missing/failed
    awk -v a="${1:-}" -v b="${2:-}" -v d="${3:-2}" 'BEGIN{ if (a+0 > 0 && b+0 > 0) printf "%.*f", d, a/b; else print "-" }'
}
ok() { [ -n "${R_WALL[$1]:-}" ] && [ "${R_WALL[$1]}" != FAILED ]; }

echo
printf '%-30s %4s %10s %10s %10s %8s %8s %8s  %s\n' \
    "case" "runs" "median ms" "min ms" "max ms" "x base" "perf/x" "RSS MiB" "events"
printf '%s\n' "$(printf '%.0s-' {1..118})"
for entry in "${ORDER[@]}"; do
    key=${entry%%|*}; label=${entry#*|}
    if [ "${R_WALL[$key]}" = FAILED ]; then
        printf '%-30s %s\n' "$label" "FAILED"; continue
    fi
    case $key in
        *true*) base=${R_WALL[true]:-}; perfkey=perf_true ;;
        *) base=${R_WALL[untraced]:-}; perfkey=perf ;;
    esac
    rss=-; [ -n "${R_RSS[$key]:-}" ] && rss=$(awk -v k="${R_RSS[$key]}" 'BEGIN{printf "%.1f", k/1024}')
    pr=-; [ "$key" != untraced ] && [ "$key" != true ] && ok "$perfkey" && pr=$(ratio "${R_WALL[$perfkey]}" "${R_WALL[$key]}")
    xb=$(ratio "${R_WALL[$key]}" "$base")
    ev=${R_EVENTS[$key]:-}
    [ -n "${R_SETTLE[$key]:-}" ] && ev="${ev:+$ev, }deferred cleanup ${R_SETTLE[$key]} ms"
    printf '%-30s %4s %10s %10s %10s %8s %8s %8s  %s\n' "$label" "${R_RUNS[$key]}" \
        "${R_WALL[$key]}" "${R_MIN[$key]}" "${R_MAX[$key]}" "$xb" "$pr" "$rss" "$ev"
done
echo "(x base: ratio to the untraced run of the same command; perf/x: perf trace wall / this wall;"
echo " RSS: peak of the tracer and the traced command; deferred cleanup: time ftr's detached"
echo " child took, after ftr exited, to remove the tracefs instance)"
if ok ftr; then
    echo "ftr lines printed in a count run: ${FTR_LINES:-?} (closing line said ${FTR_FULL_N:-?})"
fi
if ok perf && ok ftr && ok untraced; then
    echo "overhead over untraced: ftr $(awk -v a="${R_WALL[ftr]}" -v b="${R_WALL[untraced]}" 'BEGIN{printf "%.0f", a-b}') ms," \
        "perf $(awk -v a="${R_WALL[perf]}" -v b="${R_WALL[untraced]}" 'BEGIN{printf "%.0f", a-b}') ms" \
        "(perf/ftr overhead ratio $(awk -v p="${R_WALL[perf]}" -v f="${R_WALL[ftr]}" -v b="${R_WALL[untraced]}" 'BEGIN{ if (f>b) printf "%.1f", (p-b)/(f-b); else print "inf" }'))"
fi

LOAD1=$(cut -d' ' -f1-3 /proc/loadavg)
echo "load average before: $LOAD0, after: $LOAD1"
awk -v a="${LOAD0%% *}" 'BEGIN{exit !(a > 0.8)}' &&
    echo "*** the machine was busy before the benchmark started: expect noisy numbers; rerun when idle"

echo
echo "Targets:"
verdict() { # NAME COND(0/1/skip) DETAIL
    local v=FAIL; [ "$2" = 1 ] && v=PASS; [ "$2" = skip ] && v=SKIP
    printf '  %-4s  %-52s %s\n' "$v" "$1" "$3"
}
le() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a+0 <= b+0)}' && echo 1 || echo 0; }
lt() { awk -v a="$1" -v b="$2" 'BEGIN{exit !(a+0 < b+0)}' && echo 1 || echo 0; }
if ok ftr && ok untraced; then
    x=$(ratio "${R_WALL[ftr]}" "${R_WALL[untraced]}" 3)
    verdict "ftr trace <= 2.0x untraced" "$(le "$x" 2.0)" "${x}x"
    xs=$(ratio "${R_WALL[ftr_s]:-}" "${R_WALL[untraced]}" 3)
    [ "$xs" != - ] && verdict "  (ftr trace -s <= 2.0x untraced, info)" "$(le "$xs" 2.0)" "${xs}x"
else
    verdict "ftr trace <= 2.0x untraced" 0 "ftr failed"
fi
if ok perf && ok ftr; then
    x=$(ratio "${R_WALL[perf]}" "${R_WALL[ftr]}" 3)
    verdict "ftr >= 20x faster than perf trace" "$(awk -v a="$x" 'BEGIN{print (a >= 20) ? 1 : 0}')" "${x}x"
else
    verdict "ftr >= 20x faster than perf trace" skip "perf trace or ftr missing or failed"
fi
if ok ftr; then
    c=0; [ "${FTR_FULL_N:-}" = "$N" ] && [ "${FTR_FULL_LOST:-}" = 0 ] && c=1
    verdict "$N counted, 0 events lost" "$c" "${FTR_FULL_N:-?} traced, ${FTR_FULL_LOST:-?} lost"
else
    verdict "$N counted, 0 events lost" 0 "ftr failed"
fi
if ok ftr_true; then
    verdict "ftr trace -e write -- true < 15 ms wall" "$(lt "${R_WALL[ftr_true]}" 15)" "${R_WALL[ftr_true]} ms (median, settled)"
    ok ftr_true_b2b && verdict "  (same, back to back, info)" "$(lt "${R_WALL[ftr_true_b2b]}" 15)" "${R_WALL[ftr_true_b2b]} ms"
    if [ -n "${R_RSS[ftr_true]:-}" ]; then
        verdict "ftr trace -e write -- true < 4 MiB peak RSS" "$(lt "${R_RSS[ftr_true]}" 4096)" \
            "$(awk -v k="${R_RSS[ftr_true]}" 'BEGIN{printf "%.1f MiB", k/1024}')"
    else
        verdict "ftr trace -e write -- true < 4 MiB peak RSS" skip "no /usr/bin/time"
    fi
else
    verdict "ftr trace -e write -- true < 15 ms, < 4 MiB" 0 "ftr failed"
fi

if [ -s "$FTR_NOISE" ]; then
    echo
    echo "Other things ftr wrote on stderr (count, line):"
    sort "$FTR_NOISE" | uniq -c | sort -rn | head -n 20
fi
if leftovers; then
    echo "*** ftr instances still present in $TRACEFS/instances after 5 s:" $(ls "$TRACEFS/instances")
fi

[ "$FTR_FAILED" = 0 ] || exit 1
exit 0
