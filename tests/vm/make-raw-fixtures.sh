#!/bin/bash
# Regenerate tests/fixtures/graph-raw: boot each stock kernel once, run
# guest/raw-capture.sh (plain tracefs writes, no ftr) and store each capture
# under graph-raw/<kernel>-<name>/: the `trace` text and the raw pages of the
# same buffer, with the metadata that turns one into the other.
#   tests/vm/make-raw-fixtures.sh            # every kernel (6.1, 6.12, 7.2)
#   tests/vm/make-raw-fixtures.sh 7.2        # one kernel
#
# /proc/kallsyms is ~10 MB; each capture keeps only the symbols its text
# names, each with the symbol after it (which bounds it, so an address
# inside the function still resolves to it), plus the bounds of the irq
# entry text (function_graph marks calls into it), so the fixtures stay small.
# Likewise the kernel's BTF (5 MB on 7.2): a funcgraph-args capture keeps, in
# its `btf` file, a BTF of only the functions its text names (see trim_btf).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
DEST=$HERE/../fixtures/graph-raw
CACHE=${FTR_VM_CACHE:-/var/cache/ftr-vm}
"$HERE/kernels.sh" >/dev/null
mkdir -p "$DEST"

# trim_kallsyms KALLSYMS TRACE: the kallsyms lines naming a word of TRACE,
# each followed by its successor, in kallsyms order.
trim_kallsyms() {
  awk 'NR == FNR {
         n = split($0, w, /[^A-Za-z0-9_.]+/)
         for (i = 1; i <= n; i++) if (w[i] != "") want[w[i]] = 1
         next
       }
       keep { print; keep = 0; next }
       $3 in want || $3 ~ /^__irqentry_text_(start|end)$/ { print; keep = 1 }' "$2" "$1"
}

# trim_btf BTF TRACE OUT: a valid BTF holding, for each function TRACE names,
# what print_function_args reads: the FUNC (the first of that name, as the
# kernel finds it), its FUNC_PROTO with the parameters' names, and each
# parameter's type with the modifiers skipped, reduced to what the printer
# uses: an INT's encoding, an ENUM's values and names, another kind's size.
trim_btf() {
  python3 - "$@" <<'PY'
import re, struct, sys
src, trace, out = sys.argv[1:4]
b = open(src, 'rb').read()
magic, ver, flags, hl, toff, tlen, soff, slen = struct.unpack_from('<HBBIIIII', b)
assert magic == 0xeb9f, 'not little-endian BTF'
types, strs = b[hl + toff:hl + toff + tlen], b[hl + soff:hl + soff + slen]
def name(off):
    return strs[off:strs.index(b'\0', off)] if off < len(strs) else None
fixed = {1: 4, 3: 12, 14: 4, 17: 4}
per = {4: 12, 5: 12, 15: 12, 19: 12, 6: 8, 13: 8}
at, start = 0, [None]
while at < len(types):
    info = struct.unpack_from('<I', types, at + 4)[0]
    kind, vlen = (info >> 24) & 0x1f, info & 0xffff
    start.append(at)
    at += 12 + fixed.get(kind, 0) + per.get(kind, 0) * vlen
def ty(i):
    if i <= 0 or i >= len(start):
        return None
    n, info, size = struct.unpack_from('<III', types, start[i])
    return n, info, size, start[i] + 12
words = set(re.findall(rb'[A-Za-z0-9_.]+', open(trace, 'rb').read()))
funcs = {}
for i in range(1, len(start)):
    n, info, size, _ = ty(i)
    if (info >> 24) & 0x1f == 12 and name(n) in words and name(n) not in funcs:
        funcs[name(n)] = i
new_strs, str_at, new_types, made = bytearray(b'\0'), {b'': 0}, [], {}
def s(off):
    v = name(off)
    if v is None:
        return 0xffffffff  # no name, as an offset past the strings
    if v not in str_at:
        str_at[v] = len(new_strs)
        new_strs.extend(v + b'\0')
    return str_at[v]
def add(blob):
    new_types.append(blob)
    return len(new_types)
def param_type(i):
    for _ in range(64):
        t = ty(i)
        if t is None or (t[1] >> 24) & 0x1f in (8, 9, 10, 11, 18):
            if t is None:
                return 0
            i = t[2]
            continue
        break
    if i in made:
        return made[i]
    n, info, size, at = t
    kind = (info >> 24) & 0x1f
    if kind == 0:
        made[i] = 0
        return 0
    if kind == 1:
        blob = struct.pack('<III', s(n), info, size) + types[at:at + 4]
    elif kind == 2:
        blob = struct.pack('<III', 0, info, 0)
    elif kind == 6:
        vlen = info & 0xffff
        blob = struct.pack('<III', s(n), info, size)
        for k in range(vlen):
            eo, ev = struct.unpack_from('<Ii', types, at + 8 * k)
            blob += struct.pack('<Ii', s(eo), ev)
    else:
        blob = struct.pack('<III', s(n), info & ~0xffff, size) + b'\0' * fixed.get(kind, 0)
    made[i] = add(blob)
    return made[i]
for fname, i in sorted(funcs.items(), key=lambda f: f[1]):
    n, info, proto, _ = ty(i)
    p = ty(proto)
    if p is None or (p[1] >> 24) & 0x1f != 13:
        continue
    params = b''.join(
        struct.pack('<II', s(struct.unpack_from('<I', types, p[3] + 8 * k)[0]),
                    param_type(struct.unpack_from('<I', types, p[3] + 8 * k + 4)[0]))
        for k in range(p[1] & 0xffff))
    pid = add(struct.pack('<III', 0, p[1], 0) + params)
    add(struct.pack('<III', s(n), info, pid))
body = b''.join(new_types)
with open(out, 'wb') as f:
    f.write(struct.pack('<HBBIIIII', 0xeb9f, 1, 0, 24, 0, len(body), len(body), len(new_strs)))
    f.write(body + bytes(new_strs))
PY
}

# args_on OPTIONS: the capture was made with funcgraph-args (or the function
# tracer's func-args) on.
args_on() { grep -qxE 'funcgraph-args|func-args' "$1"; }

for ver in ${@:-6.1 6.12 7.2}; do
  out=$(mktemp -d /tmp/ftr-raw-fixtures.XXXXXX)
  echo "== $ver: booting $(readlink -f "$CACHE/$ver/vmlinux")"
  start=$(date +%s)
  FTR_VM_SHARE=$out FTR_VM_MEM=1G "$HERE/run-guest.sh" "$CACHE/$ver/vmlinux" "$HERE/guest/raw-capture.sh"
  echo "== $ver: boot + all captures took $(( $(date +%s) - start )) s"
  rm -rf "$DEST/$ver"-*
  for c in "$out/$ver"-*/; do
    name=$(basename "$c")
    trim_kallsyms "$out/kallsyms" "$c/trace" > "$c/kallsyms"
    if args_on "$c/options"; then trim_btf "$out/btf" "$c/trace" "$c/btf"; fi
    cp -r "$c" "$DEST/$name"
    chmod -R u+w,a+rX "$DEST/$name"  # tracefs files come read-only for others
  done
  rm -rf "$out"
done
du -sh "$DEST"
