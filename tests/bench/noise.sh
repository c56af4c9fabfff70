#!/usr/bin/env bash
# How much `ftr osnoise` and `ftr timerlat` disturb what they measure, side
# by side with Debian's rtla on the same kernel, in one boot of Debian's
# 6.1 PREEMPT_RT under qemu (tests/vm/; emulated, so only comparisons within
# the boot mean anything). A thread spins pinned to CPU 1; each tool
# measures CPU 1 for DUR seconds, the cases alternating, ROUNDS times:
#
#   rtla osnoise top -c 1 -d DUR -q                 (period = runtime = 1 s)
#   ftr osnoise --cpus 1 -d DUR --runtime 1000000    (rtla's runtime)
#   ftr osnoise --cpus 1 -d DUR                      (ftr's default: 90%)
#   ftr osnoise --cpus 1 -d DUR --runtime 1000000 --live
#   rtla timerlat top -c 1 -d DUR -q
#   ftr timerlat --cpus 1 -d DUR
#   ftr timerlat --cpus 1 -d DUR --live
#
# and prints every run, the medians, and ftr's medians over rtla's with the
# targets (CPU available within 0.5 points; counts and latencies within
# 15%). FTR_BASE=path adds the same ftr cases run with another static ftr
# (an older build, for before/after). Root. Knobs: ROUNDS (3), DUR (6),
# FTR (a static ftr; default: build one), CASES (replace the case list: one
# case a line, NAME COMMAND with @DUR@).
#
# rtla comes from apt (`apt-get download rtla libtracefs1 libtraceevent1`,
# the host's release), bundled with the libraries ldd lists at their paths
# and cached in the VM cache as rtla-VERSION.tgz (tests/vm/cache.sh rules).
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
. tests/vm/cache.sh
CACHE=${FTR_VM_CACHE:-/var/cache/ftr-vm}
ROUNDS=${ROUNDS:-3} DUR=${DUR:-6}
[ "$(id -u)" = 0 ] || { echo "noise.sh: needs root (qemu, the VM cache)" >&2; exit 2; }
vmlinux=$(tests/vm/kernels.sh | grep -- '-rt-amd64/' | head -1)
[ -n "$vmlinux" ] || { echo "noise.sh: kernels.sh printed no rt kernel" >&2; exit 2; }

if [ -z "${FTR:-}" ]; then
  RUSTFLAGS='-C target-feature=+crt-static' cargo build --release --quiet \
    --target x86_64-unknown-linux-gnu --target-dir target/static
  FTR=target/static/x86_64-unknown-linux-gnu/release/ftr
fi
work=$(mktemp -d /tmp/ftr-bench-noise.XXXXXX)
TEMPS=("$work")
trap 'rm -rf "${TEMPS[@]}"' EXIT
cp "$FTR" "$work/ftr"
extra=("$work/ftr")
if [ -n "${FTR_BASE:-}" ]; then cp "$FTR_BASE" "$work/ftr-base"; extra+=("$work/ftr-base"); fi

# ---- rtla and its libraries, bundled for the initramfs -----------------------
version=$(apt-cache policy rtla | awk '/Candidate:/ { print $2 }')
[ -n "$version" ] && [ "$version" != "(none)" ] || {
  echo "noise.sh: apt knows no rtla package (Debian bookworm or later has it; apt-get update?)" >&2; exit 2; }
bundle=rtla-$version.tgz
build_bundle() {
  local d=$work/rtla dest=$work/rtla/root lib tmp
  mkdir -p "$d/debs" "$d/x" "$dest"
  (cd "$d/debs" && apt-get download -q rtla libtracefs1 libtraceevent1 >/dev/null 2>&1) || {
    echo "noise.sh: apt-get download rtla libtracefs1 libtraceevent1 failed" >&2; return 1; }
  for deb in "$d"/debs/*.deb; do dpkg-deb -x "$deb" "$d/x"; done
  mkdir -p "$dest/usr/bin"
  cp "$d/x/usr/bin/rtla" "$dest/usr/bin/rtla"
  # Each library at the path the loader looks for it: the packages' own
  # (not installed here), the rest from this host, same release.
  LD_LIBRARY_PATH=$d/x/usr/lib/x86_64-linux-gnu ldd "$d/x/usr/bin/rtla" |
    grep -oE '/[^ ]+' | while read -r lib; do
      case $lib in
        "$d"/x/*) mkdir -p "$dest/usr/lib/x86_64-linux-gnu"; cp -L "$lib" "$dest/usr/lib/x86_64-linux-gnu/" ;;
        *) mkdir -p "$dest$(dirname "$lib")"; cp -L "$lib" "$dest$lib" ;;
      esac
    done
  tmp=$(mktemp "$CACHE/.tmp-rtla.XXXXXX"); TEMPS+=("$tmp")
  (cd "$dest" && tar -czf - .) > "$tmp"
  chmod 644 "$tmp"
  rm -f "$CACHE/$bundle.manifest"
  mv -f "$tmp" "$CACHE/$bundle"
  manifest_write "$CACHE" "$CACHE/$bundle.manifest" "$bundle"
}
get_bundle() {
  if ! manifest_ok "$CACHE" "$CACHE/$bundle.manifest" "$bundle"; then build_bundle; fi
  cp "$CACHE/$bundle" "$work/rtla.tgz"
}
mkdir -p "$CACHE"
with_lock "$CACHE/.locks/$bundle.lock" get_bundle
extra+=("$work/rtla.tgz")

# ---- the cases --------------------------------------------------------------
ftr_cases() { # binary, prefix
  cat <<CASES
$2osnoise-rt100 $1 osnoise --cpus 1 -d @DUR@ --runtime 1000000 -o /tmp/o
$2osnoise $1 osnoise --cpus 1 -d @DUR@ -o /tmp/o
$2osnoise-live $1 osnoise --cpus 1 -d @DUR@ --runtime 1000000 --live -o /tmp/o
$2timerlat $1 timerlat --cpus 1 -d @DUR@ -o /tmp/o
$2timerlat-live $1 timerlat --cpus 1 -d @DUR@ --live -o /tmp/o
CASES
}
if [ -z "${CASES:-}" ]; then
  CASES="rtla-osnoise rtla osnoise top -c 1 -d @DUR@s -q
rtla-timerlat rtla timerlat top -c 1 -d @DUR@s -q
$(ftr_cases ftr ftr-)"
  if [ -n "${FTR_BASE:-}" ]; then
    CASES="$CASES
$(ftr_cases ftr-base base- | grep -v -- --live)"
  fi
  # ftr's output went to a file: show it in the run's output.
  CASES=$(echo "$CASES" | sed 's|-o /tmp/o$|-o /tmp/o; cat /tmp/o|')
fi
guest=$work/guest.sh
{
  printf 'ROUNDS=%s DUR=%s\nCASES=%s\n' "$ROUNDS" "$DUR" "'$CASES'"
  cat tests/bench/guest/noise.sh
} > "$guest"
out=$work/out
FTR_VM_TIMEOUT=3600 tests/vm/run-guest.sh "$vmlinux" "$guest" "${extra[@]}" > "$out" || {
  echo "noise.sh: the guest failed" >&2; tail -40 "$out" >&2; exit 1; }
[ -n "${KEEP:-}" ] && cp "$out" "$KEEP"
echo "rtla $version"; head -2 "$out" | sed 's/ rtla $//' 

# ---- the table ----------------------------------------------------------------
# One line per run: the numbers of CPU 1's row. rtla prints `  1 #5 ...` and
# ftr `  1 5 ...`, in the same column order; ftr's closing line counts the
# noise events it recorded.
awk '
  /^RUN / { name = $2; round = $3; rc = $4; row = ""; events = "-"; next }
  /^ENDRUN/ {
    if (row == "") { printf "%s round %s: no CPU 1 row (%s)\n", name, round, rc; next }
    n = split(row, f, " ")
    if (name ~ /osnoise/) {
      # cpu periods runtime noise avail maxnoise maxsingle hw nmi irq sirq thread
      line = sprintf("avail=%s maxsingle=%s hw=%s irq=%s thread=%s", f[5], f[7], f[8], f[10], f[12])
    } else {
      # cpu count | cur min avg max | cur min avg max
      line = sprintf("count=%s irqavg=%s irqmax=%s thravg=%s thrmax=%s", f[2], f[5], f[6], f[9], f[10])
    }
    printf "RESULT %s %s %s events=%s\n", name, round, line, events
    next
  }
  /^ *1 +#?[0-9]+ / && name != "" { row = $0; gsub(/[#%|]/, " ", row); next }
  / noise events, / { for (i = 1; i <= NF; i++) if ($(i+1) == "noise" && $(i+2) == "events,") events = $i; next }
' "$out" > "$work/results"
cat "$work/results"
awk '
  function median(list,   a, k, i, j, x) {
    k = split(list, a, " ")
    for (i = 2; i <= k; i++) { x = a[i]; for (j = i - 1; j >= 1 && a[j] + 0 > x + 0; j--) a[j+1] = a[j]; a[j+1] = x }
    return k % 2 ? a[(k + 1) / 2] : (a[k / 2] + a[k / 2 + 1]) / 2
  }
  {
    c = $2
    if (!(c in seen)) { seen[c] = 1; order[++nc] = c }
    for (i = 4; i <= NF; i++) {
      split($i, kv, "=")
      if (kv[2] == "-") continue
      v[c, kv[1]] = v[c, kv[1]] " " kv[2]
      if (!((c, kv[1]) in has)) { has[c, kv[1]] = 1; keys[c] = keys[c] " " kv[1] }
    }
  }
  END {
    printf "\n%-22s %s\n", "case", "median (every run)"
    for (i = 1; i <= nc; i++) {
      c = order[i]; line = ""
      k = split(keys[c], ks, " ")
      for (j = 1; j <= k; j++) { m[c, ks[j]] = median(v[c, ks[j]]); line = line sprintf("%s=%s (%s)  ", ks[j], m[c, ks[j]], substr(v[c, ks[j]], 2)) }
      printf "%-22s %s\n", c, line
    }
    printf "\nftr against rtla (medians; targets: CPU available within 0.5 points, the rest within 15%%)\n"
    for (i = 1; i <= nc; i++) {
      c = order[i]
      if (c ~ /^rtla/) continue
      ref = (c ~ /osnoise/) ? "rtla-osnoise" : "rtla-timerlat"
      if (!((ref, "irq") in m) && !((ref, "count") in m)) continue
      line = ""
      k = split(keys[c], ks, " ")
      for (j = 1; j <= k; j++) {
        key = ks[j]
        if (key == "events" || !((ref, key) in m)) continue
        a = m[c, key]; b = m[ref, key]
        if (key == "avail") {
          d = a - b; ok = (d >= -0.5 && d <= 0.5)
          line = line sprintf("%s %+.2f pt %s  ", key, d, ok ? "ok" : "OFF")
        } else if (key ~ /max/) {
          line = line sprintf("%s %.2fx  ", key, b ? a / b : 0)
        } else {
          r = b ? a / b : 0; ok = (r >= 0.85 && r <= 1.15)
          line = line sprintf("%s %.2fx %s  ", key, r, ok ? "ok" : "OFF")
        }
      }
      printf "%-22s %s\n", c, line
    }
  }
' "$work/results"
