//! Parser for the kernel's `function_graph` text output (`trace` / `trace_pipe`).
//!
//! Pure: no I/O, no globals, no allocation in [`parse_line`], never panics.
//! Every position in a [`Line`] is a byte range ([`Span`]) into the original
//! line, so a renderer can re-emit the exact original bytes and only insert
//! escape sequences around them.
//!
//! Layout of one graph line (every column optional):
//! `[ABSTIME "%5lu.%06lu |  "][CPU " %*d) "][PROC "comm-pid" centred in 14 + " | "]`
//! `[LAT " " + 4/5 flags + " | "][DURATION cell "M N us   |  " or 14 spaces + "|  "]`
//! `[2 spaces per depth][body]`.

/// Byte range `start..end` into the line a [`Line`] was parsed from (u32 keeps
/// [`Line`] small; [`parse_line`] treats lines over 4 GiB as [`Kind::Other`]).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Span {
    pub start: u32,
    pub end: u32,
}

impl Span {
    /// Callers guarantee `start <= end <= u32::MAX`.
    #[inline]
    pub const fn new(start: usize, end: usize) -> Span {
        Span {
            start: start as u32,
            end: end as u32,
        }
    }
    #[inline]
    pub const fn lo(self) -> usize {
        self.start as usize
    }
    #[inline]
    pub const fn hi(self) -> usize {
        self.end as usize
    }
    #[inline]
    pub const fn range(self) -> std::ops::Range<usize> {
        self.start as usize..self.end as usize
    }
    #[inline]
    pub const fn len(self) -> usize {
        self.end.saturating_sub(self.start) as usize
    }
    #[inline]
    pub const fn is_empty(self) -> bool {
        self.len() == 0
    }
    #[cfg(test)]
    /// The text of this span in `line` ("" if out of range or not on char boundaries).
    #[inline]
    pub fn get(self, line: &str) -> &str {
        line.get(self.range()).unwrap_or("")
    }
    /// The bytes of this span in `line` (empty if out of range).
    #[inline]
    pub fn bytes(self, line: &[u8]) -> &[u8] {
        line.get(self.range()).unwrap_or(&[])
    }
}

/// The kernel's delay mark in front of a duration (space = no mark = `None`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Mark {
    /// `+` : > 10 us
    Plus,
    /// `!` : > 100 us
    Bang,
    /// `#` : > 1 ms
    Hash,
    /// `*` : > 10 ms
    Star,
    /// `@` : > 100 ms
    At,
    /// `$` : > 1 s
    Dollar,
}

impl Mark {
    #[inline]
    pub fn from_byte(c: u8) -> Option<Mark> {
        match c {
            b'+' => Some(Mark::Plus),
            b'!' => Some(Mark::Bang),
            b'#' => Some(Mark::Hash),
            b'*' => Some(Mark::Star),
            b'@' => Some(Mark::At),
            b'$' => Some(Mark::Dollar),
            _ => None,
        }
    }
    #[cfg(test)]
    /// The mark the kernel prints for a duration (strictly-greater thresholds).
    pub fn for_duration_ns(ns: u64) -> Option<Mark> {
        if ns > 1_000_000_000 {
            Some(Mark::Dollar)
        } else if ns > 100_000_000 {
            Some(Mark::At)
        } else if ns > 10_000_000 {
            Some(Mark::Star)
        } else if ns > 1_000_000 {
            Some(Mark::Hash)
        } else if ns > 100_000 {
            Some(Mark::Bang)
        } else if ns > 10_000 {
            Some(Mark::Plus)
        } else {
            None
        }
    }
}

/// A task as printed by the kernel: `comm-pid` (comm cut to 7 bytes, may contain
/// spaces and dashes; the pid is the last `-digits`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Task {
    /// `comm-pid`, without the centring spaces.
    pub span: Span,
    /// Just the comm (may be empty).
    pub comm: Span,
    pub pid: u32,
}

/// What a line is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// Empty line (e.g. after a context-switch banner).
    Empty,
    /// `# ...` header line of the `trace` file (also `##### CPU n buffer started ####`).
    Header,
    /// `func() {` (optionally with args / retaddr comment).
    Entry,
    /// `func();` (optionally with args / `/* ... */` retval/retaddr comment).
    Leaf,
    /// `}` or `} /* func */`, `} /* func = -22 */`, `} /* func ret=-8 */`.
    Return,
    /// `/* text */`: an event, trace_marker or trace_printk inside the graph.
    Comment,
    /// `==========>` (interrupt entry marker).
    IrqEnter,
    /// `<==========` (interrupt exit marker).
    IrqExit,
    /// ` ------------------------------------------` around a context switch banner.
    SwitchRule,
    /// ` 2)     wc-457     =>     ls-436`
    Switch { prev: Task, next: Task },
    /// `CPU:3 [LOST 1885 EVENTS]` / `CPU:0 [LOST EVENTS]` (count unknown).
    Lost { cpu: u32, count: Option<u64> },
    /// ` (Overruns: N)`
    Overrun(u64),
    /// Anything else; renderers pass it through unchanged.
    Other,
}

/// One parsed line. All spans index into `text`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Line<'a> {
    /// The original line (without newline).
    pub text: &'a str,
    pub kind: Kind,
    /// `11.469355` (funcgraph-abstime), without ` |`.
    pub abstime: Option<Span>,
    /// The absolute time in ns (microsecond resolution).
    pub abstime_ns: Option<u64>,
    pub cpu: Option<u32>,
    /// The cpu digits (without `)`).
    pub cpu_span: Option<Span>,
    /// The proc column (funcgraph-proc).
    pub task: Option<Task>,
    /// Latency flags like `d..1.` (latency-format).
    pub lat: Option<Span>,
    pub mark: Option<Mark>,
    pub mark_span: Option<Span>,
    /// Duration in nanoseconds, exact decimal reading of `1837.709` us.
    pub duration_ns: Option<u64>,
    /// The duration number, e.g. `1837.709`.
    pub duration_span: Option<Span>,
    /// The unit `us`.
    pub unit_span: Option<Span>,
    /// Number of body indentation spaces / 2. For comments the kernel indents one
    /// level deeper than the current depth (except at depth 0).
    pub depth: Option<usize>,
    /// The body: from the first non-space character after the indentation to the end.
    pub body: Option<Span>,
    /// Function name: Entry/Leaf before the parentheses; Return from the tail comment.
    pub func: Option<Span>,
    /// Module tag of `%ps`, like `[ext4]`, if present.
    pub module: Option<Span>,
    /// `(...)` after the name, parentheses included (`()` when funcgraph-args is off).
    pub args: Option<Span>,
    /// `{` of an Entry, `}` of a Return, `;` of a Leaf.
    pub brace: Option<Span>,
    /// The whole `/* ... */` (Comment kind, or the tail comment of a function line).
    pub comment: Option<Span>,
    /// Inside of the comment, without `/* ` and ` */`.
    pub comment_text: Option<Span>,
    pub retval: Option<i64>,
    /// The value text of the retval, e.g. `-22` or `0x1`.
    pub retval_span: Option<Span>,
    /// Return address, `<-rb_simple_write+0xda/0x150`.
    pub retaddr: Option<Span>,
}

impl<'a> Line<'a> {
    pub const fn new(text: &'a str, kind: Kind) -> Line<'a> {
        Line {
            text,
            kind,
            abstime: None,
            abstime_ns: None,
            cpu: None,
            cpu_span: None,
            task: None,
            lat: None,
            mark: None,
            mark_span: None,
            duration_ns: None,
            duration_span: None,
            unit_span: None,
            depth: None,
            body: None,
            func: None,
            module: None,
            args: None,
            brace: None,
            comment: None,
            comment_text: None,
            retval: None,
            retval_span: None,
            retaddr: None,
        }
    }
    #[cfg(test)]
    #[inline]
    pub fn slice(&self, s: Span) -> &'a str {
        s.get(self.text)
    }
    #[cfg(test)]
    #[inline]
    fn opt(&self, s: Option<Span>) -> Option<&'a str> {
        s.map(|s| s.get(self.text))
    }
    #[cfg(test)]
    pub fn func_name(&self) -> Option<&'a str> {
        self.opt(self.func)
    }
    #[cfg(test)]
    pub fn comm(&self) -> Option<&'a str> {
        self.task.map(|t| t.comm.get(self.text))
    }
    #[cfg(test)]
    pub fn pid(&self) -> Option<u32> {
        self.task.map(|t| t.pid)
    }
    #[cfg(test)]
    pub fn comment_str(&self) -> Option<&'a str> {
        self.opt(self.comment_text)
    }
    #[cfg(test)]
    /// A bare `}` (no tail comment): the function it closes is only known from context.
    pub fn is_bare_return(&self) -> bool {
        self.kind == Kind::Return && self.comment.is_none()
    }
}

// ---------------------------------------------------------------------------
// byte helpers (all bounds-checked)

#[inline]
fn at(b: &[u8], i: usize) -> u8 {
    match b.get(i) {
        Some(&c) => c,
        None => 0,
    }
}

#[inline]
fn word8(b: &[u8], i: usize) -> Option<u64> {
    match b.get(i..i + 8) {
        Some(c) => {
            let mut a = [0u8; 8];
            a.copy_from_slice(c);
            Some(u64::from_le_bytes(a))
        }
        None => None,
    }
}

const LO: u64 = 0x0101_0101_0101_0101;
const HI: u64 = 0x8080_8080_8080_8080;

/// First index >= i whose byte is not a space (8 bytes at a time).
#[inline]
fn skip_spaces(b: &[u8], mut i: usize) -> usize {
    while let Some(w) = word8(b, i) {
        let x = w ^ (LO * b' ' as u64);
        if x != 0 {
            return i + (x.trailing_zeros() / 8) as usize;
        }
        i += 8;
    }
    while at(b, i) == b' ' {
        i += 1;
    }
    i
}

/// First index >= i holding `c` (8 bytes at a time).
#[inline]
fn find_byte(b: &[u8], mut i: usize, c: u8) -> Option<usize> {
    while let Some(w) = word8(b, i) {
        let z = eq_mask(w, c);
        if z != 0 {
            return Some(i + (z.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    while i < b.len() {
        if b[i] == c {
            return Some(i);
        }
        i += 1;
    }
    None
}

#[inline]
fn skip_digits(b: &[u8], mut i: usize) -> usize {
    while at(b, i).is_ascii_digit() {
        i += 1;
    }
    i
}

/// `b[i..]` starts with `pat` (byte loop: patterns are tiny, avoids a memcmp call).
#[inline(always)]
fn starts_at(b: &[u8], i: usize, pat: &[u8]) -> bool {
    match b.get(i..i.saturating_add(pat.len())) {
        Some(r) => {
            let mut k = 0;
            while k < pat.len() {
                if r[k] != pat[k] {
                    return false;
                }
                k += 1;
            }
            true
        }
        None => false,
    }
}

/// SWAR: high bit set in each byte of `w` equal to `c` (exact for the lowest one).
#[inline]
fn eq_mask(w: u64, c: u8) -> u64 {
    let x = w ^ (LO * c as u64);
    x.wrapping_sub(LO) & !x & HI
}

/// End of a function name starting at `i`: the first `(`, ` `, `{`, `;` or `/*`.
#[inline]
fn name_end(b: &[u8], mut i: usize) -> usize {
    loop {
        if let Some(w) = word8(b, i) {
            let z = eq_mask(w, b'(')
                | eq_mask(w, b' ')
                | eq_mask(w, b'{')
                | eq_mask(w, b';')
                | eq_mask(w, b'/');
            if z == 0 {
                i += 8;
                continue;
            }
            let j = i + (z.trailing_zeros() / 8) as usize;
            if at(b, j) == b'/' && at(b, j + 1) != b'*' {
                i = j + 1;
                continue;
            }
            return j;
        }
        while i < b.len() {
            let c = b[i];
            if NAME_END[c as usize] && (c != b'/' || at(b, i + 1) == b'*') {
                return i;
            }
            i += 1;
        }
        return i;
    }
}

/// Parse decimal digits in `b[s..e]` (all digits assumed), None on overflow or empty.
fn dec_u64(b: &[u8], s: usize, e: usize) -> Option<u64> {
    let d = b.get(s..e)?;
    if d.is_empty() {
        return None;
    }
    let mut v: u64 = 0;
    for &c in d {
        if !c.is_ascii_digit() {
            return None;
        }
        v = v.checked_mul(10)?.checked_add((c - b'0') as u64)?;
    }
    Some(v)
}

fn dec_u32(b: &[u8], s: usize, e: usize) -> Option<u32> {
    dec_u64(b, s, e).and_then(|v| u32::try_from(v).ok())
}

/// Parse `int[.frac]` where frac is a decimal fraction of `unit` (e.g. 1000 for
/// us -> ns, 1_000_000 for s -> us). Extra fraction digits beyond the unit are truncated.
fn fixed_point(b: &[u8], s: usize, dot: Option<usize>, e: usize, scale_digits: u32) -> Option<u64> {
    let int_end = dot.unwrap_or(e);
    let int = dec_u64(b, s, int_end)?;
    let mut v = int.checked_mul(10u64.checked_pow(scale_digits)?)?;
    if let Some(d) = dot {
        let frac = b.get(d + 1..e)?;
        let mut f: u64 = 0;
        let mut n = 0u32;
        for &c in frac {
            if !c.is_ascii_digit() {
                return None;
            }
            if n < scale_digits {
                f = f * 10 + (c - b'0') as u64;
                n += 1;
            }
        }
        while n < scale_digits {
            f *= 10;
            n += 1;
        }
        v = v.checked_add(f)?;
    }
    Some(v)
}

/// `-22`, `0`, `0x1`, `0xffffffffffffffea` -> i64 (hex is read as u64 and reinterpreted).
pub fn parse_retval(s: &str) -> Option<i64> {
    let b = s.as_bytes();
    let (neg, b) = match b.first() {
        Some(b'-') => (true, &b[1..]),
        _ => (false, b),
    };
    if b.len() > 2 && (b.starts_with(b"0x") || b.starts_with(b"0X")) {
        let h = &b[2..];
        if h.len() > 16 {
            return None;
        }
        let mut v: u64 = 0;
        for &c in h {
            let d = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                b'A'..=b'F' => c - b'A' + 10,
                _ => return None,
            };
            v = (v << 4) | d as u64;
        }
        let v = v as i64;
        return Some(if neg { v.wrapping_neg() } else { v });
    }
    if b.is_empty() || b.len() > 20 {
        return None;
    }
    let mut v: i64 = 0;
    for &c in b {
        if !c.is_ascii_digit() {
            return None;
        }
        let d = (c - b'0') as i64;
        v = if neg {
            v.checked_mul(10)?.checked_sub(d)?
        } else {
            v.checked_mul(10)?.checked_add(d)?
        };
    }
    Some(v)
}

// ---------------------------------------------------------------------------
// columns

/// `%5lu.%06lu |  ` -> (span of number, ns, next pos)
fn col_abstime(b: &[u8], pos: usize) -> Option<(Span, u64, usize)> {
    let s = skip_spaces(b, pos);
    let d = skip_digits(b, s);
    if d == s || d - s > 12 || at(b, d) != b'.' {
        return None;
    }
    let e = skip_digits(b, d + 1);
    if e == d + 1 || e - d - 1 > 9 || !starts_at(b, e, b" |") {
        return None;
    }
    // must not be a duration: that one is followed by " us"
    let ns = fixed_point(b, s, Some(d), e, 6).and_then(|us| us.checked_mul(1000));
    let mut next = e + 2;
    // the column ends with "|  "
    for _ in 0..2 {
        if at(b, next) == b' ' {
            next += 1;
        }
    }
    Some((Span::new(s, e), ns.unwrap_or(0), next))
}

/// ` %*d) ` -> (cpu, span of digits, next pos)
fn col_cpu(b: &[u8], pos: usize) -> Option<(u32, Span, usize)> {
    let s = skip_spaces(b, pos);
    if s - pos > 8 {
        return None;
    }
    let e = skip_digits(b, s);
    if e == s || e - s > 6 || at(b, e) != b')' {
        return None;
    }
    let cpu = dec_u32(b, s, e)?;
    let mut next = e + 1;
    if at(b, next) == b' ' {
        next += 1;
    }
    Some((cpu, Span::new(s, e), next))
}

/// `comm-pid` inside `b[s..e]` with surrounding spaces trimmed.
fn task_in(b: &[u8], s: usize, e: usize) -> Option<Task> {
    let mut s = s;
    let mut e = e;
    while s < e && at(b, s) == b' ' {
        s += 1;
    }
    while e > s && at(b, e - 1) == b' ' {
        e -= 1;
    }
    if e <= s {
        return None;
    }
    let mut d = e;
    while d > s && at(b, d - 1).is_ascii_digit() {
        d -= 1;
    }
    if d == e || e - d > 10 || d <= s || at(b, d - 1) != b'-' {
        return None;
    }
    let pid = dec_u32(b, d, e)?;
    Some(Task {
        span: Span::new(s, e),
        comm: Span::new(s, d - 1),
        pid,
    })
}

/// Position of `pat` in `b[from..from+limit]`. Scans for the pattern's middle byte
/// (`|`, `=`, `]`: rare in these lines) and only then compares the rest.
fn find(b: &[u8], from: usize, limit: usize, pat: &[u8]) -> Option<usize> {
    let end = b.len().min(from.saturating_add(limit));
    let hay = b.get(from..end)?;
    let k = pat.len() / 2;
    let key = *pat.get(k)?;
    let mut i = k;
    while i < hay.len() {
        let j = find_byte(hay, i, key)?; // candidate position of the key byte
        let s = j - k;
        if starts_at(hay, s, pat) {
            return Some(from + s);
        }
        i = j + 1;
    }
    None
}

/// Bytes that end a function name.
const NAME_END: [bool; 256] = {
    let mut t = [false; 256];
    t[b'(' as usize] = true;
    t[b' ' as usize] = true;
    t[b'{' as usize] = true;
    t[b';' as usize] = true;
    t[b'/' as usize] = true;
    t
};

/// Proc column: `comm-pid` centred in 14 chars, then ` | `.
/// `strict` (no column before it): require the kernel's exact centring, since the
/// line could also be a body with context-info off.
fn col_proc(b: &[u8], pos: usize, strict: bool) -> Option<(Task, usize)> {
    const W: usize = 14;
    let bar = find(b, pos, 64, b" | ")?;
    let t = task_in(b, pos, bar)?;
    let comm = t.comm.bytes(b);
    if comm.starts_with(b"/*") || comm.len() > 32 {
        return None;
    }
    let left = t.span.lo() - pos;
    let right = bar - t.span.hi();
    let len = t.span.len();
    if strict {
        let spaces = W.saturating_sub(len);
        if left != spaces / 2 || right != spaces - spaces / 2 {
            return None;
        }
    } else if left > 8 || right > 8 {
        return None;
    }
    Some((t, bar + 3))
}

/// Latency flags: ` ` + 4 or 5 flag characters + ` | `. `s` = first non-space
/// at or after `pos`.
#[inline]
fn col_lat(b: &[u8], pos: usize, s: usize) -> Option<(Span, usize)> {
    if s - pos > 2 {
        return None;
    }
    // quick reject: " | " must follow 4 or 5 flag characters
    if !((at(b, s + 4) == b' ' && at(b, s + 5) == b'|')
        || (at(b, s + 5) == b' ' && at(b, s + 6) == b'|'))
    {
        return None;
    }
    let mut e = s;
    while e - s < 6 {
        let c = at(b, e);
        if c.is_ascii_alphanumeric() || c == b'.' {
            e += 1;
        } else {
            break;
        }
    }
    let n = e - s;
    if !(4..=5).contains(&n) || !starts_at(b, e, b" | ") {
        return None;
    }
    Some((Span::new(s, e), e + 3))
}

struct Dur {
    mark: Option<(Mark, Span)>,
    num: Option<(Span, Option<u64>)>,
    unit: Option<Span>,
    next: usize,
}

/// Duration cell: `M N us   |  ` or 14 spaces + `|  `. `p` = first non-space.
#[inline]
fn col_duration(b: &[u8], p: usize) -> Option<Dur> {
    let mut p = p;
    if at(b, p) == b'|' {
        let mut next = p + 1;
        for _ in 0..2 {
            if at(b, next) == b' ' {
                next += 1;
            }
        }
        return Some(Dur {
            mark: None,
            num: None,
            unit: None,
            next,
        });
    }
    let mut mark = None;
    if let Some(m) = Mark::from_byte(at(b, p)) {
        if at(b, p + 1) != b' ' {
            return None;
        }
        mark = Some((m, Span::new(p, p + 1)));
        p = skip_spaces(b, p + 1);
    }
    // "int[.frac]" microseconds -> exact ns, computed while scanning
    let s = p;
    let mut us: u64 = 0;
    let mut i = s;
    loop {
        let d = at(b, i).wrapping_sub(b'0');
        if d > 9 {
            break;
        }
        us = us.wrapping_mul(10).wrapping_add(d as u64);
        i += 1;
    }
    let nint = i - s;
    if nint == 0 || nint > 20 {
        return None;
    }
    let mut frac: u64 = 0;
    let mut nfrac = 0u32;
    if at(b, i) == b'.' {
        i += 1;
        let fs = i;
        loop {
            let d = at(b, i).wrapping_sub(b'0');
            if d > 9 {
                break;
            }
            if nfrac < 3 {
                frac = frac * 10 + d as u64;
                nfrac += 1;
            }
            i += 1;
        }
        if i == fs {
            return None;
        }
    }
    let e = i;
    if !starts_at(b, e, b" us") {
        return None;
    }
    let unit = Span::new(e + 1, e + 3);
    let q = skip_spaces(b, e + 3);
    if at(b, q) != b'|' {
        return None;
    }
    let mut next = q + 1;
    for _ in 0..2 {
        if at(b, next) == b' ' {
            next += 1;
        }
    }
    while nfrac < 3 {
        frac *= 10;
        nfrac += 1;
    }
    let ns = if nint > 19 {
        None
    } else {
        us.checked_mul(1000).and_then(|v| v.checked_add(frac))
    };
    Some(Dur {
        mark,
        num: Some((Span::new(s, e), ns)),
        unit: Some(unit),
        next,
    })
}

// ---------------------------------------------------------------------------
// whole-line forms

fn parse_lost(b: &[u8]) -> Option<Kind> {
    // CPU:%d [LOST %lu EVENTS]  |  CPU:%d [LOST EVENTS]
    if !b.starts_with(b"CPU:") {
        return None;
    }
    let e = skip_digits(b, 4);
    let cpu = dec_u32(b, 4, e)?;
    if !starts_at(b, e, b" [LOST ") {
        return None;
    }
    let p = e + 7;
    let q = skip_digits(b, p);
    let (count, p) = if q > p {
        if at(b, q) != b' ' {
            return None;
        }
        (Some(dec_u64(b, p, q)?), q + 1)
    } else {
        (None, p)
    };
    if !starts_at(b, p, b"EVENTS]") {
        return None;
    }
    if b.get(p + 7..)
        .is_some_and(|r| r.iter().any(|&c| c != b' ' && c != b'\r'))
    {
        return None;
    }
    Some(Kind::Lost { cpu, count })
}

fn parse_overrun(b: &[u8]) -> Option<Kind> {
    let s = skip_spaces(b, 0);
    if !starts_at(b, s, b"(Overruns: ") {
        return None;
    }
    let p = s + 11;
    let e = skip_digits(b, p);
    let n = dec_u64(b, p, e)?;
    if at(b, e) != b')' {
        return None;
    }
    Some(Kind::Overrun(n))
}

fn is_rule(b: &[u8]) -> bool {
    let s = skip_spaces(b, 0);
    let mut e = s;
    while at(b, e) == b'-' {
        e += 1;
    }
    e - s >= 10
        && b.get(e..)
            .is_some_and(|r| r.iter().all(|&c| c == b' ' || c == b'\r'))
}

/// After the cpu column: `    wc-457     =>     ls-436    `
fn parse_switch(b: &[u8], pos: usize) -> Option<Kind> {
    let arrow = find(b, pos, 80, b" => ")?;
    let prev = task_in(b, pos, arrow)?;
    let next = task_in(b, arrow + 4, b.len())?;
    Some(Kind::Switch { prev, next })
}

/// The text inside the `/* ... */` that starts at `start` (to the end of
/// the line), without the spaces next to the delimiters.
fn comment_text(b: &[u8], start: usize) -> (usize, usize) {
    let mut ts = start + 2;
    if at(b, ts) == b' ' {
        ts += 1;
    }
    let mut te = b.len();
    if te >= ts + 2 && b.get(te - 2..te) == Some(b"*/") {
        te -= 2;
        if te > ts && at(b, te - 1) == b' ' {
            te -= 1;
        }
    }
    (ts, te.max(ts))
}

/// Parse the `/* ... */` that follows a function line. `ret` = Return line, in
/// which case the first word is the function name.
fn parse_fn_comment(b: &[u8], start: usize, ret: bool, l: &mut Line<'_>) {
    let len = b.len();
    l.comment = Some(Span::new(start, len));
    let (ts, te) = comment_text(b, start);
    l.comment_text = Some(Span::new(ts, te));
    // words of the comment text
    let mut i = ts;
    let mut first = true;
    let mut expect_val = false;
    while i < te {
        while i < te && at(b, i) == b' ' {
            i += 1;
        }
        if i >= te {
            break;
        }
        let ws = i;
        while i < te && at(b, i) != b' ' {
            i += 1;
        }
        let we = i;
        let w = &b[ws..we];
        if expect_val {
            expect_val = false;
            if let Some(v) = std::str::from_utf8(w).ok().and_then(parse_retval) {
                l.retval = Some(v);
                l.retval_span = Some(Span::new(ws, we));
            }
        } else if w == b"=" {
            expect_val = true;
        } else if w.starts_with(b"<-") {
            l.retaddr = Some(Span::new(ws, we));
        } else if w.starts_with(b"ret=") {
            if let Some(v) = std::str::from_utf8(&w[4..]).ok().and_then(parse_retval) {
                l.retval = Some(v);
                l.retval_span = Some(Span::new(ws + 4, we));
            }
        } else if ret && first {
            l.func = Some(Span::new(ws, we));
        } else if ret
            && l.func.is_some()
            && l.module.is_none()
            && w.starts_with(b"[")
            && w.ends_with(b"]")
        {
            l.module = Some(Span::new(ws, we));
        }
        first = false;
    }
}

fn parse_body(b: &[u8], p: usize, l: &mut Line<'_>) {
    let len = b.len();
    if p >= len {
        l.kind = Kind::Other;
        return;
    }
    l.body = Some(Span::new(p, len));
    let c = b[p];
    if c == b'/' && at(b, p + 1) == b'*' {
        l.kind = Kind::Comment;
        l.comment = Some(Span::new(p, len));
        let (ts, te) = comment_text(b, p);
        l.comment_text = Some(Span::new(ts, te));
        return;
    }
    if c == b'}' {
        l.kind = Kind::Return;
        l.brace = Some(Span::new(p, p + 1));
        if starts_at(b, p + 1, b" /*") {
            parse_fn_comment(b, p + 2, true, l);
        }
        return;
    }
    // function name up to '(' (or " [module](")
    let mut q = name_end(b, p);
    if q == p {
        l.kind = Kind::Other;
        return;
    }
    let name = Span::new(p, q);
    if at(b, q) == b' ' && at(b, q + 1) == b'[' {
        if let Some(close) = find(b, q + 2, 64, b"]") {
            l.module = Some(Span::new(q + 1, close + 1));
            q = close + 1;
        }
    }
    if at(b, q) != b'(' {
        l.kind = Kind::Other;
        l.module = None;
        return;
    }
    // matching ')'
    let mut depth = 0usize;
    let mut r = q;
    let mut close = None;
    while r < len {
        match b[r] {
            b'(' => depth += 1,
            b')' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    close = Some(r);
                    break;
                }
            }
            _ => {}
        }
        r += 1;
    }
    let Some(close) = close else {
        l.kind = Kind::Other;
        l.module = None;
        return;
    };
    let after = close + 1;
    let kind;
    let rest;
    if at(b, after) == b';' {
        kind = Kind::Leaf;
        l.brace = Some(Span::new(after, after + 1));
        rest = after + 1;
    } else if starts_at(b, after, b" {") {
        kind = Kind::Entry;
        l.brace = Some(Span::new(after + 1, after + 2));
        rest = after + 2;
    } else {
        l.kind = Kind::Other;
        l.module = None;
        return;
    }
    l.kind = kind;
    l.func = Some(name);
    l.args = Some(Span::new(q, after));
    if starts_at(b, rest, b" /*") {
        parse_fn_comment(b, rest + 1, false, l);
    }
}

/// Parse one line of function_graph output (without its trailing newline).
/// Never panics; unknown lines come back as [`Kind::Other`].
#[inline]
pub fn parse_line(line: &str) -> Line<'_> {
    // Built in place through `&mut` with a single return: avoids copying the
    // ~350-byte Line (a memmove call was a third of the parse time).
    let mut l = Line::new(line, Kind::Other);
    parse_into(line.as_bytes(), &mut l);
    l
}

#[inline(never)]
fn parse_into(b: &[u8], l: &mut Line<'_>) {
    let Some(&first) = b.first() else {
        l.kind = Kind::Empty;
        return;
    };
    if b.len() > u32::MAX as usize {
        return;
    }
    // A header line, unless it is the `#` mark of a duration over 1 ms on a
    // line without the CPU column (`# 1120.268 us |  f();`): no header line
    // has a digit after `# `.
    if first == b'#' && !(at(b, 1) == b' ' && at(b, 2).is_ascii_digit()) {
        l.kind = Kind::Header;
        return;
    }
    if first == b'C' {
        if let Some(k) = parse_lost(b) {
            if let Kind::Lost { cpu, .. } = k {
                l.cpu = Some(cpu);
            }
            l.kind = k;
            return;
        }
    }
    if first == b'\r' && b.len() == 1 {
        l.kind = Kind::Empty;
        return;
    }
    if first == b' ' {
        let s = skip_spaces(b, 0);
        match at(b, s) {
            b'-' if is_rule(b) => {
                l.kind = Kind::SwitchRule;
                return;
            }
            b'(' => {
                if let Some(k) = parse_overrun(b) {
                    l.kind = k;
                    return;
                }
            }
            0 => {
                // only spaces: not something the kernel prints; pass through
                return;
            }
            _ => {}
        }
    }

    // prologue
    let mut pos = 0usize;
    let mut any_col = false;
    // abstime and cpu both start with spaces + digits: look once
    let p0 = skip_spaces(b, 0);
    let d0 = skip_digits(b, p0);
    let lead = if d0 > p0 { at(b, d0) } else { 0 };
    if lead == b'.' {
        if let Some((span, ns, next)) = col_abstime(b, pos) {
            l.abstime = Some(span);
            l.abstime_ns = Some(ns);
            pos = next;
            any_col = true;
        }
    }
    if lead == b')' || l.abstime.is_some() {
        if let Some((cpu, span, next)) = col_cpu(b, pos) {
            l.cpu = Some(cpu);
            l.cpu_span = Some(span);
            pos = next;
            any_col = true;
        }
    }
    if let Some((task, next)) = col_proc(b, pos, !any_col) {
        l.task = Some(task);
        pos = next;
    } else if l.cpu.is_some() && l.abstime.is_none() {
        if let Some(k) = parse_switch(b, pos) {
            l.kind = k;
            return;
        }
    }
    let mut p = skip_spaces(b, pos);
    if let Some((span, next)) = col_lat(b, pos, p) {
        l.lat = Some(span);
        pos = next;
        p = skip_spaces(b, pos);
    }
    // interrupt markers sit in the duration column
    let c = at(b, p);
    if c == b'=' && starts_at(b, p, b"==========>") {
        l.kind = Kind::IrqEnter;
        l.body = Some(Span::new(p, p + 11));
        return;
    }
    if c == b'<' && starts_at(b, p, b"<==========") {
        l.kind = Kind::IrqExit;
        l.body = Some(Span::new(p, p + 11));
        return;
    }
    if let Some(d) = col_duration(b, p) {
        if let Some((m, s)) = d.mark {
            l.mark = Some(m);
            l.mark_span = Some(s);
        }
        if let Some((s, ns)) = d.num {
            l.duration_span = Some(s);
            l.duration_ns = ns;
        }
        l.unit_span = d.unit;
        pos = d.next;
    }
    let p = skip_spaces(b, pos);
    l.depth = Some((p - pos) / 2);
    parse_body(b, p, l);
    if l.kind == Kind::Other {
        l.depth = None;
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;

    /// Every sample line of the format doc, plus constructed lines for the forms
    /// the doc describes without a capture.
    pub(crate) const SAMPLES: &[&str] = &[
        // duration cells and marks
        "    3) # 1837.709 us |          } /* __switch_to */",
        "    3) ! 140.417 us  |      } /* __schedule */",
        "    3) * 33998.59 us |  } /* schedule_preempt_disabled */",
        "    1) @ 119760.2 us |  }",
        "    2) $ 3594274 us  |  }",
        // context switch banner
        " ------------------------------------------",
        " 2)     wc-457     =>     ls-436",
        " 2)     wc-457     =>     ls-436    ",
        "",
        // lost events
        "CPU:3 [LOST 1885 EVENTS]",
        "CPU:0 [LOST EVENTS]",
        // Debian 6.1 capture
        "# tracer: function_graph",
        "#",
        "# CPU  TASK/PID         DURATION                  FUNCTION CALLS",
        "# |     |    |           |   |                     |   |   |   |",
        " 0)    pwv2-98     |               |  __x64_sys_pwritev2() {",
        " 0)    pwv2-98     |               |    do_pwritev() {",
        " 0)    pwv2-98     |               |      __fdget() {",
        " 0)    pwv2-98     | + 30.916 us   |        __fget_light();",
        " 0)    pwv2-98     | ! 142.200 us  |      }",
        " 0)    pwv2-98     |               |      vfs_writev() {",
        " 0)    pwv2-98     |   3.225 us    |        __check_object_size();",
        " 0)    pwv2-98     |   1.442 us    |        __cond_resched();",
        " 0)    pwv2-98     | ! 587.969 us  |        do_iter_write();",
        " 0)    pwv2-98     |   2.173 us    |        kfree();",
        " 0)    pwv2-98     | ! 824.800 us  |      }",
        " 0)    pwv2-98     | # 1035.661 us |    }",
        " 0)    pwv2-98     | # 1609.540 us |  }",
        // 7.1: abstime + proc + args + retval + retaddr
        "   11.469355 |   0)    cat-245     |   1.062 us    |  mutex_unlock(lock=0xffffffffb0587f80); /* <-rb_simple_write+0xe1/0x170 ret=0xffff8f30837d0000 */",
        "   11.469356 |   0)    cat-245     |               |  __x64_sys_dup2(regs=0xffffd26ac0567f48) { /* <-do_syscall_64+0xaa/0x660 */",
        "   11.469361 |   0)    cat-245     |   4.890 us    |  } /* __x64_sys_dup2 ret=0x1 */",
        // tracing_thresh
        " 1) ! 125.415 us  |        } /* dup_mmap */",
        " 1) ! 206.858 us  |  } /* __do_sys_fork */",
        // body forms quoted in the doc
        " 0)               |  cgroup_migrate_add_task(); /* = 0xffff93fcfd346c00 */",
        " 0)   5.123 us    |  } /* cpu_cgroup_can_attach = -22 */",
        " 0)   5.123 us    |  } /* load_misc_binary ret=-8 */",
        " 0)               |  mutex_unlock() { /* <-rb_simple_write+0xda/0x150 */",
        " 0)               |  ksys_dup3(oldfd=0xa, newfd=0x1, flags=0) {",
        " 0)   0.100 us    |  func(a=1, b=0x2);",
        " 0)               |    /* sched_switch: prev_comm=ls prev_pid=436 prev_prio=120 prev_state=S ==> next_comm=swapper/0 next_pid=0 next_prio=120 */",
        " 0)               |  /* hello from trace_marker */",
        " 0)   ==========> |",
        " 0)   <========== |",
        " (Overruns: 0)",
        " (Overruns: 12)",
        // other column combinations
        " 0)  d..1. |               |  foo() {",
        " 0)   bash-1234    |  d.h1. |   0.512 us    |  bar();",
        "   <idle>-0    |               |  do_idle() {",
        " 12)   kworke-12345   |   1.000 us    |  baz();",
        " 0) my prog-77     |   1.000 us    |  baz();",
        "  foo() {",
        "    bar();",
        "  }",
        "/* at depth 0 */",
        " 1)               |  nf_hook_slow [nf_tables]() {",
        " 1)   1.000 us    |  } /* nf_hook_slow [nf_tables] */",
        " 0) $ 12345678 us |  }",
        "##### CPU 2 buffer started ####",
    ];

    fn p(s: &str) -> Line<'_> {
        parse_line(s)
    }

    #[test]
    fn a_mark_without_the_cpu_column_is_no_header() {
        let l = p("# 1120.268 us |        do_iter_readv_writev();");
        assert_eq!(l.kind, Kind::Leaf);
        assert_eq!(l.mark, Some(Mark::Hash));
        assert_eq!(l.duration_ns, Some(1_120_268));
        assert_eq!(l.depth, Some(3));
        assert_eq!(l.func_name(), Some("do_iter_readv_writev"));
        for header in [
            "#",
            "# tracer: function_graph",
            "# CPU  DURATION",
            "#     |   |",
        ] {
            assert_eq!(p(header).kind, Kind::Header, "{header}");
        }
    }

    #[test]
    fn doc_marks_and_durations() {
        let l = p(SAMPLES[0]);
        assert_eq!(l.kind, Kind::Return);
        assert_eq!(l.cpu, Some(3));
        assert_eq!(l.mark, Some(Mark::Hash));
        assert_eq!(l.duration_ns, Some(1_837_709));
        assert_eq!(l.slice(l.duration_span.unwrap()), "1837.709");
        assert_eq!(l.slice(l.unit_span.unwrap()), "us");
        assert_eq!(l.slice(l.mark_span.unwrap()), "#");
        assert_eq!(l.depth, Some(4));
        assert_eq!(l.func_name(), Some("__switch_to"));
        assert_eq!(l.slice(l.brace.unwrap()), "}");
        assert_eq!(l.slice(l.comment.unwrap()), "/* __switch_to */");

        let l = p(SAMPLES[1]);
        assert_eq!(
            (l.mark, l.duration_ns, l.depth),
            (Some(Mark::Bang), Some(140_417), Some(2))
        );
        let l = p(SAMPLES[2]);
        assert_eq!(
            (l.mark, l.duration_ns, l.depth),
            (Some(Mark::Star), Some(33_998_590), Some(0))
        );
        assert_eq!(l.func_name(), Some("schedule_preempt_disabled"));
        let l = p(SAMPLES[3]);
        assert_eq!((l.mark, l.duration_ns), (Some(Mark::At), Some(119_760_200)));
        assert!(l.is_bare_return());
        assert_eq!(l.func, None);
        let l = p(SAMPLES[4]);
        assert_eq!(
            (l.mark, l.duration_ns, l.cpu),
            (Some(Mark::Dollar), Some(3_594_274_000), Some(2))
        );
        // marks agree with the kernel's thresholds
        for s in SAMPLES {
            let l = p(s);
            if let Some(ns) = l.duration_ns {
                if l.mark_span.is_some() || l.duration_span.is_some() {
                    // truncated decimals can only under-state: mark of value must match
                    assert_eq!(Mark::for_duration_ns(ns), l.mark, "{s}");
                }
            }
        }
    }

    #[test]
    fn banner_lost_header_empty() {
        assert_eq!(p(SAMPLES[5]).kind, Kind::SwitchRule);
        for s in [SAMPLES[6], SAMPLES[7]] {
            let l = p(s);
            let Kind::Switch { prev, next } = l.kind else {
                panic!("{s}: {:?}", l.kind)
            };
            assert_eq!(l.cpu, Some(2));
            assert_eq!((prev.comm.get(s), prev.pid), ("wc", 457));
            assert_eq!((next.comm.get(s), next.pid), ("ls", 436));
            assert_eq!(next.span.get(s), "ls-436");
        }
        assert_eq!(p("").kind, Kind::Empty);
        assert_eq!(
            p("CPU:3 [LOST 1885 EVENTS]").kind,
            Kind::Lost {
                cpu: 3,
                count: Some(1885)
            }
        );
        assert_eq!(
            p("CPU:0 [LOST EVENTS]").kind,
            Kind::Lost {
                cpu: 0,
                count: None
            }
        );
        assert_eq!(p("CPU:0 [LOST EVENTS] junk").kind, Kind::Other);
        assert_eq!(p("CPU:x [LOST EVENTS]").kind, Kind::Other);
        for s in &SAMPLES[11..15] {
            assert_eq!(p(s).kind, Kind::Header);
        }
        assert_eq!(p("##### CPU 2 buffer started ####").kind, Kind::Header);
    }

    type Row<'a> = (Kind, Option<usize>, Option<&'a str>, Option<u64>);

    #[test]
    fn debian_capture() {
        let kinds: Vec<Row<'_>> = SAMPLES[15..28]
            .iter()
            .map(|s| {
                let l = p(s);
                assert_eq!(l.cpu, Some(0), "{s}");
                assert_eq!(l.comm(), Some("pwv2"), "{s}");
                assert_eq!(l.pid(), Some(98), "{s}");
                assert_eq!(l.task.unwrap().span.get(s), "pwv2-98");
                (l.kind, l.depth, l.func_name(), l.duration_ns)
            })
            .collect();
        use Kind::*;
        assert_eq!(
            kinds,
            vec![
                (Entry, Some(0), Some("__x64_sys_pwritev2"), None),
                (Entry, Some(1), Some("do_pwritev"), None),
                (Entry, Some(2), Some("__fdget"), None),
                (Leaf, Some(3), Some("__fget_light"), Some(30_916)),
                (Return, Some(2), None, Some(142_200)),
                (Entry, Some(2), Some("vfs_writev"), None),
                (Leaf, Some(3), Some("__check_object_size"), Some(3_225)),
                (Leaf, Some(3), Some("__cond_resched"), Some(1_442)),
                (Leaf, Some(3), Some("do_iter_write"), Some(587_969)),
                (Leaf, Some(3), Some("kfree"), Some(2_173)),
                (Return, Some(2), None, Some(824_800)),
                (Return, Some(1), None, Some(1_035_661)),
                (Return, Some(0), None, Some(1_609_540)),
            ]
        );
        let s = SAMPLES[18];
        let l = p(s);
        assert_eq!(l.slice(l.args.unwrap()), "()");
        assert_eq!(l.slice(l.brace.unwrap()), ";");
        assert_eq!(l.mark, Some(Mark::Plus));
        let l = p(SAMPLES[21]);
        assert_eq!(l.mark, None);
        assert_eq!(l.mark_span, None);
    }

    #[test]
    fn everything_at_once() {
        let s = SAMPLES[28];
        let l = p(s);
        assert_eq!(l.kind, Kind::Leaf);
        assert_eq!(l.slice(l.abstime.unwrap()), "11.469355");
        assert_eq!(l.abstime_ns, Some(11_469_355_000));
        assert_eq!(
            (l.cpu, l.comm(), l.pid()),
            (Some(0), Some("cat"), Some(245))
        );
        assert_eq!(l.duration_ns, Some(1062));
        assert_eq!(l.func_name(), Some("mutex_unlock"));
        assert_eq!(l.slice(l.args.unwrap()), "(lock=0xffffffffb0587f80)");
        assert_eq!(l.slice(l.retaddr.unwrap()), "<-rb_simple_write+0xe1/0x170");
        assert_eq!(l.slice(l.retval_span.unwrap()), "0xffff8f30837d0000");
        assert_eq!(l.retval, Some(0xffff8f30837d0000u64 as i64));
        assert_eq!(
            l.comment_str(),
            Some("<-rb_simple_write+0xe1/0x170 ret=0xffff8f30837d0000")
        );

        let s = SAMPLES[29];
        let l = p(s);
        assert_eq!(l.kind, Kind::Entry);
        assert_eq!(l.func_name(), Some("__x64_sys_dup2"));
        assert_eq!(l.slice(l.args.unwrap()), "(regs=0xffffd26ac0567f48)");
        assert_eq!(l.slice(l.retaddr.unwrap()), "<-do_syscall_64+0xaa/0x660");
        assert_eq!(l.retval, None);

        let l = p(SAMPLES[30]);
        assert_eq!(l.kind, Kind::Return);
        assert_eq!(l.func_name(), Some("__x64_sys_dup2"));
        assert_eq!(l.retval, Some(1));
        assert_eq!(l.duration_ns, Some(4890));
    }

    #[test]
    fn retval_forms() {
        let l = p(SAMPLES[33]);
        assert_eq!(l.kind, Kind::Leaf);
        assert_eq!(l.func_name(), Some("cgroup_migrate_add_task"));
        assert_eq!(l.retval, Some(0xffff93fcfd346c00u64 as i64));
        let l = p(SAMPLES[34]);
        assert_eq!(
            (l.kind, l.func_name(), l.retval),
            (Kind::Return, Some("cpu_cgroup_can_attach"), Some(-22))
        );
        assert_eq!(l.slice(l.retval_span.unwrap()), "-22");
        let l = p(SAMPLES[35]);
        assert_eq!(
            (l.kind, l.func_name(), l.retval),
            (Kind::Return, Some("load_misc_binary"), Some(-8))
        );
        assert_eq!(l.slice(l.retval_span.unwrap()), "-8");
        assert_eq!(parse_retval("-9223372036854775808"), Some(i64::MIN));
        assert_eq!(parse_retval("99999999999999999999"), None);
        assert_eq!(parse_retval("0x"), None);
        assert_eq!(parse_retval("0x10000000000000000"), None);
    }

    #[test]
    fn args_retaddr_comments_irq_overrun() {
        let l = p(SAMPLES[36]);
        assert_eq!((l.kind, l.func_name()), (Kind::Entry, Some("mutex_unlock")));
        assert_eq!(l.slice(l.retaddr.unwrap()), "<-rb_simple_write+0xda/0x150");
        let l = p(SAMPLES[37]);
        assert_eq!(l.slice(l.args.unwrap()), "(oldfd=0xa, newfd=0x1, flags=0)");
        assert_eq!(l.kind, Kind::Entry);
        let l = p(SAMPLES[38]);
        assert_eq!(
            (l.kind, l.func_name(), l.duration_ns),
            (Kind::Leaf, Some("func"), Some(100))
        );
        let l = p(SAMPLES[39]);
        assert_eq!((l.kind, l.depth), (Kind::Comment, Some(1)));
        assert!(l
            .comment_str()
            .unwrap()
            .starts_with("sched_switch: prev_comm=ls"));
        assert!(l.comment_str().unwrap().ends_with("next_prio=120"));
        let l = p(SAMPLES[40]);
        assert_eq!(l.comment_str(), Some("hello from trace_marker"));
        assert_eq!(p(SAMPLES[41]).kind, Kind::IrqEnter);
        assert_eq!(p(SAMPLES[42]).kind, Kind::IrqExit);
        assert_eq!(p(SAMPLES[43]).kind, Kind::Overrun(0));
        assert_eq!(p(SAMPLES[44]).kind, Kind::Overrun(12));
    }

    #[test]
    fn column_combinations() {
        let s = SAMPLES[45];
        let l = p(s);
        assert_eq!((l.kind, l.cpu, l.task), (Kind::Entry, Some(0), None));
        assert_eq!(l.slice(l.lat.unwrap()), "d..1.");
        assert_eq!(l.depth, Some(0));
        let s = SAMPLES[46];
        let l = p(s);
        assert_eq!(
            (l.kind, l.comm(), l.pid()),
            (Kind::Leaf, Some("bash"), Some(1234))
        );
        assert_eq!(l.slice(l.lat.unwrap()), "d.h1.");
        assert_eq!(l.duration_ns, Some(512));
        let l = p(SAMPLES[47]); // proc without cpu
        assert_eq!(
            (l.kind, l.comm(), l.pid(), l.cpu),
            (Kind::Entry, Some("<idle>"), Some(0), None)
        );
        let l = p(SAMPLES[48]); // wide pid, two-digit cpu
        assert_eq!(
            (l.kind, l.comm(), l.pid(), l.cpu),
            (Kind::Leaf, Some("kworke"), Some(12345), Some(12))
        );
        let l = p(SAMPLES[49]); // comm with a space
        assert_eq!(
            (l.kind, l.comm(), l.pid()),
            (Kind::Leaf, Some("my prog"), Some(77))
        );
        // context-info off: body only
        let l = p(SAMPLES[50]);
        assert_eq!(
            (l.kind, l.depth, l.cpu, l.func_name()),
            (Kind::Entry, Some(1), None, Some("foo"))
        );
        let l = p(SAMPLES[51]);
        assert_eq!((l.kind, l.depth), (Kind::Leaf, Some(2)));
        let l = p(SAMPLES[52]);
        assert_eq!((l.kind, l.depth), (Kind::Return, Some(1)));
        let l = p(SAMPLES[53]);
        assert_eq!((l.kind, l.depth), (Kind::Comment, Some(0)));
        // comm with dashes: pid is the last -digits
        let s = " 0)   a-b-c-42     |   1.000 us    |  x();";
        let l = p(s);
        assert_eq!((l.comm(), l.pid()), (Some("a-b-c"), Some(42)));
        // module tags
        let l = p(SAMPLES[54]);
        assert_eq!((l.kind, l.func_name()), (Kind::Entry, Some("nf_hook_slow")));
        assert_eq!(l.slice(l.module.unwrap()), "[nf_tables]");
        let l = p(SAMPLES[55]);
        assert_eq!(
            (l.kind, l.func_name()),
            (Kind::Return, Some("nf_hook_slow"))
        );
        assert_eq!(l.slice(l.module.unwrap()), "[nf_tables]");
        // > 7 digit duration: no decimals, no padding
        let l = p(SAMPLES[56]);
        assert_eq!(
            (l.kind, l.duration_ns, l.mark),
            (Kind::Return, Some(12_345_678_000), Some(Mark::Dollar))
        );
        // a body that looks like a column must not be eaten by the proc column
        let l = p("  /* x-1 | y */");
        assert_eq!((l.kind, l.task), (Kind::Comment, None));
        let l = p(" 0) /* a-1 | b */");
        assert_eq!((l.kind, l.task), (Kind::Comment, None));
        // CamelCase function at depth 0 with context-info off
        let l = p("Cfunc();");
        assert_eq!((l.kind, l.func_name()), (Kind::Leaf, Some("Cfunc")));
    }

    #[test]
    fn spans_are_ordered_and_in_bounds() {
        for s in SAMPLES {
            let l = p(s);
            let spans = [
                l.abstime,
                l.cpu_span,
                l.task.map(|t| t.span),
                l.lat,
                l.mark_span,
                l.duration_span,
                l.unit_span,
                l.func.filter(|_| l.kind != Kind::Return),
                l.module.filter(|_| l.kind != Kind::Return),
                l.args,
                l.brace,
                l.comment,
            ];
            let mut cur = 0;
            for sp in spans.iter().flatten() {
                assert!(
                    sp.lo() >= cur && sp.end >= sp.start && sp.hi() <= s.len(),
                    "{s}: {sp:?}"
                );
                assert!(s.get(sp.range()).is_some());
                cur = sp.hi();
            }
        }
    }

    #[test]
    fn duration_is_exact_decimal() {
        let cases = [
            ("1.382", 1382),
            ("1837.709", 1_837_709),
            ("33998.59", 33_998_590),
            ("119760.2", 119_760_200),
            ("3594274", 3_594_274_000),
            ("0.001", 1),
            ("9999.999", 9_999_999),
        ];
        for (num, ns) in cases {
            let s = format!(" 0)   {num} us    |  f();");
            assert_eq!(p(&s).duration_ns, Some(ns), "{s}");
        }
        // overflow does not panic, just no value
        let l = p(" 0) $ 99999999999999999999 us |  }");
        assert_eq!(l.kind, Kind::Return);
        assert_eq!(l.duration_ns, None);
    }

    /// Tiny xorshift64* PRNG (no extra crates).
    pub(crate) struct Rng(pub u64);
    impl Rng {
        pub fn next(&mut self) -> u64 {
            let mut x = self.0;
            x ^= x >> 12;
            x ^= x << 25;
            x ^= x >> 27;
            self.0 = x;
            x.wrapping_mul(0x2545_F491_4F6C_DD1D)
        }
        pub fn below(&mut self, n: usize) -> usize {
            if n == 0 {
                0
            } else {
                (self.next() % n as u64) as usize
            }
        }
    }

    /// 200k fuzz inputs: random ASCII from the format's alphabet, random mutations
    /// of real lines, every truncation of every sample, random bytes via lossy UTF-8.
    pub(crate) fn fuzz_corpus(mut f: impl FnMut(&str)) -> usize {
        let mut n = 0;
        for s in SAMPLES {
            for i in 0..=s.len() {
                if let Some(t) = s.get(..i) {
                    f(t);
                    n += 1;
                }
                if let Some(t) = s.get(i..) {
                    f(t);
                    n += 1;
                }
            }
        }
        let alpha = b" 0123456789|(){};/*-=>< .#!+@$:[]xabcusLOSTEVNCPUret";
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut buf: Vec<u8> = Vec::with_capacity(256);
        while n < 200_000 {
            buf.clear();
            match rng.below(4) {
                0 => {
                    let len = rng.below(120);
                    for _ in 0..len {
                        buf.push(alpha[rng.below(alpha.len())]);
                    }
                }
                1 => {
                    let len = rng.below(100);
                    for _ in 0..len {
                        buf.push(rng.next() as u8);
                    }
                }
                _ => {
                    buf.extend_from_slice(SAMPLES[rng.below(SAMPLES.len())].as_bytes());
                    let muts = 1 + rng.below(4);
                    for _ in 0..muts {
                        let i = rng.below(buf.len() + 1);
                        match rng.below(4) {
                            0 if i < buf.len() => {
                                buf.remove(i);
                            }
                            1 if i < buf.len() => buf[i] = alpha[rng.below(alpha.len())],
                            2 if i < buf.len() => buf[i] = rng.next() as u8,
                            _ => buf.insert(i, alpha[rng.below(alpha.len())]),
                        }
                    }
                }
            }
            let s = String::from_utf8_lossy(&buf);
            f(&s);
            n += 1;
        }
        n
    }

    #[test]
    fn fuzz_parse_never_panics() {
        let n = fuzz_corpus(|s| {
            let l = parse_line(s);
            // every span must be inside the line
            for sp in [
                l.abstime,
                l.cpu_span,
                l.lat,
                l.mark_span,
                l.duration_span,
                l.unit_span,
                l.body,
                l.func,
                l.module,
                l.args,
                l.brace,
                l.comment,
                l.comment_text,
                l.retval_span,
                l.retaddr,
            ]
            .into_iter()
            .flatten()
            {
                assert!(sp.start <= sp.end && sp.hi() <= s.len(), "{s:?} {sp:?}");
                assert!(
                    s.get(sp.range()).is_some(),
                    "not on char boundary: {s:?} {sp:?}"
                );
            }
        });
        assert!(n >= 200_000);
    }
}
