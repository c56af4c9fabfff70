//! Renderer for parsed function_graph lines.
//!
//! Invariant: color only adds escape sequences. Stripping `\x1b[...m` from the
//! output of [`Renderer::lines`] gives back the input byte for byte, and with
//! [`Theme::plain`] the output *is* the input. Every style opened is closed
//! with [`RESET`] before the line ends. Hot path: no allocation beyond growing
//! `out`, no formatting; bytes move in 16-byte blocks (see [`Emit`]).

use crate::modes::report::parse::{parse_line, Kind, Line, Mark, Span};
use crate::present::errno;
use crate::present::theme::{Theme, RESET};

/// The positive errno a return value stands for, with the kernel's own rule:
/// -4095..-1, or a 32-bit value with bit 31 set that sign-extends into that range.
pub fn errno_of(retval: i64) -> Option<i32> {
    if (-4095..=-1).contains(&retval) {
        return Some((-retval) as i32);
    }
    let u = retval as u64;
    if u >> 32 == 0 && u & 0x8000_0000 != 0 {
        let v = (u as u32) as i32 as i64;
        if (-4095..=-1).contains(&v) {
            return Some((-v) as i32);
        }
    }
    None
}

/// An SGR escape kept in a 16-byte block, so writing one is one 16-byte move.
#[derive(Clone, Copy)]
pub struct Esc {
    pub bytes: [u8; 16],
    pub len: usize,
}

impl Esc {
    const NONE: Esc = Esc {
        bytes: [0; 16],
        len: 0,
    };

    /// Theme styles are short SGR prefixes (a test checks they fit).
    fn new(style: &str) -> Esc {
        let mut bytes = [0u8; 16];
        let len = style.len().min(16);
        bytes[..len].copy_from_slice(&style.as_bytes()[..len]);
        Esc { bytes, len }
    }

    /// Appends the escape (nothing for no style).
    #[inline]
    pub fn write(&self, out: &mut Vec<u8>) {
        if self.len > 0 {
            let at = out.len();
            out.extend_from_slice(&self.bytes);
            out.truncate(at + self.len);
        }
    }
}

/// The theme's styles as [`Esc`] blocks, prepared once per batch of lines.
#[derive(Clone, Copy)]
pub struct Palette {
    pub time: Esc,
    pub cpu: Esc,
    pub task: Esc,
    pub lat: Esc,
    pub dur: [Esc; 7],
    pub unit: Esc,
    pub func: Esc,
    pub module: Esc,
    pub args: Esc,
    pub brace: Esc,
    pub tail: Esc,
    pub retval: Esc,
    pub errno: Esc,
    pub event: Esc,
    pub header: Esc,
    pub rule: Esc,
    pub switch: Esc,
    pub lost: Esc,
    pub overrun: Esc,
    pub irq: Esc,
    pub reset: Esc,
}

impl Palette {
    pub fn new(t: &Theme) -> Palette {
        Palette {
            time: Esc::new(t.time),
            cpu: Esc::new(t.cpu),
            task: Esc::new(t.task),
            lat: Esc::new(t.lat),
            dur: t.dur.map(Esc::new),
            unit: Esc::new(t.unit),
            func: Esc::new(t.func),
            module: Esc::new(t.module),
            args: Esc::new(t.args),
            brace: Esc::new(t.brace),
            tail: Esc::new(t.tail),
            retval: Esc::new(t.retval),
            errno: Esc::new(t.errno),
            event: Esc::new(t.event),
            header: Esc::new(t.header),
            rule: Esc::new(t.rule),
            switch: Esc::new(t.switch),
            lost: Esc::new(t.lost),
            overrun: Esc::new(t.overrun),
            irq: Esc::new(t.irq),
            reset: Esc::new(RESET),
        }
    }
}

/// Room one line can need beyond its own length. Text is copied once; what
/// adds bytes is each styled piece's escape and reset (at most 14 pieces in
/// [`Renderer::line_body`], 32 bytes each), an errno name (22 bytes), and one
/// 16-byte move past the end: 486 in all. Twice that, to be safe.
const LINE_SLACK: usize = 1024;

/// Writes one line, `src[..len]`, into `out[w..]` piecewise. Positions only
/// move forward, so whatever the spans say, the bytes kept (escapes and an
/// asked-for errno name aside) are exactly the line. `src` goes on past the
/// line where the text does: short pieces are copied as 16-byte moves that
/// may read past the line and write past `w`; the next piece, or the
/// caller's final truncate, overwrites the excess.
struct Emit<'o, 'b> {
    out: &'o mut [u8],
    w: usize,
    src: &'b [u8],
    len: usize,
    cur: usize,
    reset: Esc,
}

impl Emit<'_, '_> {
    #[inline(always)]
    fn esc(&mut self, e: Esc) {
        self.out[self.w..self.w + 16].copy_from_slice(&e.bytes);
        self.w += e.len;
    }
    #[inline(always)]
    fn copy(&mut self, from: usize, to: usize) {
        let n = to - from;
        if n <= 16 && from + 16 <= self.src.len() {
            self.out[self.w..self.w + 16].copy_from_slice(&self.src[from..from + 16]);
        } else {
            self.out[self.w..self.w + n].copy_from_slice(&self.src[from..to]);
        }
        self.w += n;
    }
    /// Plain bytes up to `upto`, written with `style`.
    #[inline]
    fn fill(&mut self, upto: usize, style: Esc) {
        if upto > self.cur && upto <= self.len {
            if style.len == 0 {
                self.copy(self.cur, upto);
            } else {
                self.esc(style);
                self.copy(self.cur, upto);
                self.esc(self.reset);
            }
            self.cur = upto;
        }
    }
    /// The span with `style` (gap before it unstyled). Spans that go backwards or
    /// out of range are ignored; so are unstyled spans (the next gap covers them).
    #[inline]
    fn seg(&mut self, span: Option<Span>, style: Esc) {
        if style.len == 0 {
            return;
        }
        if let Some(s) = span {
            if s.lo() >= self.cur && s.end >= s.start && s.hi() <= self.len {
                self.fill(s.lo(), Esc::NONE);
                self.fill(s.hi(), style);
            }
        }
    }
    /// Inside a region styled `base` (already started at `cur`), a nested span.
    #[inline]
    fn inner(&mut self, span: Option<Span>, base: Esc, style: Esc) {
        if let Some(s) = span {
            if s.lo() >= self.cur && s.end >= s.start && s.hi() <= self.len {
                self.fill(s.lo(), base);
                self.fill(s.hi(), style);
            }
        }
    }
    /// Text that is not in the line, with `style`.
    fn insert(&mut self, text: &[u8], style: Esc) {
        if style.len > 0 {
            self.esc(style);
        }
        self.out[self.w..self.w + text.len()].copy_from_slice(text);
        self.w += text.len();
        if style.len > 0 {
            self.esc(self.reset);
        }
    }
    /// The rest of the line, unstyled; returns the new write position.
    fn finish(&mut self) -> usize {
        self.fill(self.len, Esc::NONE);
        self.w
    }
}

/// Renders lines of function_graph text.
pub struct Renderer {
    pal: Palette,
    /// Output is the input: no styles, nothing added.
    plain: bool,
    /// Add the errno's name after an errno return value (`-12 ENOMEM`).
    errno_names: bool,
}

impl Renderer {
    pub fn new(theme: &Theme, errno_names: bool) -> Renderer {
        Renderer {
            pal: Palette::new(theme),
            plain: theme.is_plain() && !errno_names,
            errno_names,
        }
    }

    /// Output is the input: lines need not be parsed or rendered at all.
    pub fn passes_through(&self) -> bool {
        self.plain
    }

    /// Appends every complete line of `text` (up to its last `\n`), styled,
    /// to `out`; `each` sees every parsed line first.
    pub fn lines(&self, text: &str, out: &mut Vec<u8>, mut each: impl FnMut(&Line<'_>)) {
        let mut w = out.len();
        let mut rest = text;
        while let Some(end) = find_newline(rest.as_bytes()) {
            // Splitting at an ASCII byte keeps both sides valid UTF-8.
            let line = &rest[..end];
            let parsed = parse_line(line);
            each(&parsed);
            if w + end + LINE_SLACK + 1 > out.len() {
                // Room for this line and, roughly, for the rest of the text.
                out.resize(w + end + LINE_SLACK + 1 + rest.len().min(64 << 10), 0);
            }
            w = self.line_body(out, w, rest.as_bytes(), end, &parsed);
            out[w] = b'\n';
            w += 1;
            rest = &rest[end + 1..];
        }
        out.truncate(w);
    }

    /// Writes line `src[..len]` into `out[w..]` (room: `len + LINE_SLACK`);
    /// returns the new write position.
    fn line_body(
        &self,
        out: &mut [u8],
        w: usize,
        src: &[u8],
        len: usize,
        parsed: &Line<'_>,
    ) -> usize {
        let p = &self.pal;
        let mut e = Emit {
            out,
            w,
            src,
            len,
            cur: 0,
            reset: p.reset,
        };
        if self.plain {
            return e.finish();
        }
        let whole = |e: &mut Emit, style: Esc| {
            e.fill(len, style);
            e.w
        };
        match parsed.kind {
            Kind::Empty | Kind::Other => e.finish(),
            Kind::Header => whole(&mut e, p.header),
            Kind::SwitchRule => whole(&mut e, p.rule),
            Kind::Switch { .. } => whole(&mut e, p.switch),
            Kind::Lost { .. } => whole(&mut e, p.lost),
            Kind::Overrun(n) => whole(&mut e, if n > 0 { p.overrun } else { p.rule }),
            Kind::IrqEnter
            | Kind::IrqExit
            | Kind::Comment
            | Kind::Entry
            | Kind::Leaf
            | Kind::Return => {
                e.seg(parsed.abstime, p.time);
                e.seg(parsed.cpu_span, p.cpu);
                e.seg(parsed.task.map(|t| t.span), p.task);
                e.seg(parsed.lat, p.lat);
                // mark and number as one region (the space between them is styled too)
                let ds = p.dur[mark_index(parsed.mark)];
                let dur = match (parsed.mark_span, parsed.duration_span) {
                    (Some(m), Some(d)) => Some(Span::new(m.lo(), d.hi())),
                    (m, d) => d.or(m),
                };
                e.seg(dur, ds);
                e.seg(parsed.unit_span, p.unit);
                let errno = parsed.retval.and_then(errno_of);
                let rv_style = if errno.is_some() { p.errno } else { p.retval };
                match parsed.kind {
                    Kind::IrqEnter | Kind::IrqExit => e.seg(parsed.body, p.irq),
                    Kind::Comment => e.seg(parsed.comment, p.event),
                    Kind::Return => {
                        e.seg(parsed.brace, p.brace);
                    }
                    _ => {
                        // Entry / Leaf
                        e.seg(parsed.func, p.func);
                        e.seg(parsed.module, p.module);
                        e.seg(parsed.args, p.args);
                        e.seg(parsed.brace, p.brace);
                    }
                }
                if matches!(parsed.kind, Kind::Return | Kind::Entry | Kind::Leaf) {
                    if let Some(c) = parsed.comment {
                        e.fill(c.lo(), Esc::NONE);
                        e.inner(parsed.retval_span, p.tail, rv_style);
                        let name = errno.filter(|_| self.errno_names).and_then(errno::name);
                        if let (Some(name), Some(rv)) = (name, parsed.retval_span) {
                            if e.cur == rv.hi() {
                                e.insert(b" ", Esc::NONE);
                                e.insert(name.as_bytes(), rv_style);
                            }
                        }
                        e.fill(c.hi(), p.tail);
                    }
                }
                e.finish()
            }
        }
    }
}

/// Index into [`Theme::dur`] for a delay mark.
fn mark_index(mark: Option<Mark>) -> usize {
    match mark {
        None => 0,
        Some(Mark::Plus) => 1,
        Some(Mark::Bang) => 2,
        Some(Mark::Hash) => 3,
        Some(Mark::Star) => 4,
        Some(Mark::At) => 5,
        Some(Mark::Dollar) => 6,
    }
}

/// Append `line` (styled with `theme`) and `\n` to `out`.
#[cfg(test)]
pub fn render_line(out: &mut Vec<u8>, line: &str, parsed: &Line<'_>, theme: &Theme) {
    let r = Renderer::new(theme, false);
    let mut w = out.len();
    out.resize(w + line.len() + LINE_SLACK + 1, 0);
    w = r.line_body(out, w, line.as_bytes(), line.len(), parsed);
    out[w] = b'\n';
    out.truncate(w + 1);
}

/// The first `\n`, eight bytes at a time.
pub fn find_newline(bytes: &[u8]) -> Option<usize> {
    const ONES: u64 = 0x0101_0101_0101_0101;
    const HIGHS: u64 = 0x8080_8080_8080_8080;
    const NL: u64 = ONES * b'\n' as u64;
    let mut i = 0;
    while i + 8 <= bytes.len() {
        let mut word = [0u8; 8];
        word.copy_from_slice(&bytes[i..i + 8]);
        let x = u64::from_le_bytes(word) ^ NL;
        let found = x.wrapping_sub(ONES) & !x & HIGHS;
        if found != 0 {
            return Some(i + (found.trailing_zeros() / 8) as usize);
        }
        i += 8;
    }
    bytes[i..].iter().position(|&b| b == b'\n').map(|p| i + p)
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::modes::report::parse::parse_line;
    use crate::modes::report::parse::tests::{fuzz_corpus, SAMPLES};

    /// Remove `ESC [ ... m` sequences.
    pub(crate) fn strip_ansi(b: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(b.len());
        let mut i = 0;
        while i < b.len() {
            if b[i] == 0x1b && b.get(i + 1) == Some(&b'[') {
                let mut j = i + 2;
                while j < b.len() && (b[j].is_ascii_digit() || b[j] == b';') {
                    j += 1;
                }
                if j < b.len() && b[j] == b'm' {
                    i = j + 1;
                    continue;
                }
            }
            out.push(b[i]);
            i += 1;
        }
        out
    }

    /// Every SGR opened is reset before the end of the line.
    fn all_closed(b: &[u8]) -> bool {
        let mut open = false;
        let mut i = 0;
        while i < b.len() {
            if b[i] == 0x1b && b.get(i + 1) == Some(&b'[') {
                let mut j = i + 2;
                while j < b.len() && b[j] != b'm' {
                    j += 1;
                }
                let params = &b[i + 2..j.min(b.len())];
                open = !(params == b"0" || params.is_empty());
                i = j + 1;
                continue;
            }
            if b[i] == b'\n' && open {
                return false;
            }
            i += 1;
        }
        !open
    }

    fn render(s: &str, theme: &Theme) -> Vec<u8> {
        let mut out = Vec::new();
        render_line(&mut out, s, &parse_line(s), theme);
        out
    }

    fn check_invariant(s: &str) {
        let mut want = s.as_bytes().to_vec();
        want.push(b'\n');
        let plain = render(s, &Theme::plain());
        assert_eq!(plain, want, "plain differs: {s:?}");
        let col = render(s, &Theme::color());
        assert_eq!(strip_ansi(&col), want, "color changed text: {s:?}");
        assert!(all_closed(&col), "style left open: {s:?}");
        assert_eq!(col.last(), Some(&b'\n'));
    }

    #[test]
    fn invariant_on_samples() {
        for s in SAMPLES {
            check_invariant(s);
        }
    }

    #[test]
    fn invariant_on_fuzz_corpus() {
        // Lines never contain '\n' (the caller splits on it). Input ESC bytes
        // would be indistinguishable from ours for strip_ansi: check those
        // lines separately (plain output must still be the exact input).
        let mut clean = String::new();
        let n = fuzz_corpus(|s| {
            if s.bytes().any(|c| c == b'\n' || c == 0x1b) {
                let mut want = s.as_bytes().to_vec();
                want.push(b'\n');
                assert_eq!(render(s, &Theme::plain()), want);
                let _ = render(s, &Theme::color());
                clean.clear();
                clean.extend(
                    s.chars()
                        .map(|c| if c == '\n' || c == '\x1b' { '?' } else { c }),
                );
                check_invariant(&clean);
            } else {
                check_invariant(s);
            }
        });
        assert!(n >= 200_000);
    }

    #[test]
    fn mismatched_parse_does_not_panic() {
        // a Line from another string: spans may be out of range
        let long = SAMPLES[28];
        let l = parse_line(long);
        for short in ["", "x", " 0)   1.0", SAMPLES[0]] {
            let mut out = Vec::new();
            render_line(&mut out, short, &l, &Theme::color());
            let mut want = short.as_bytes().to_vec();
            want.push(b'\n');
            assert_eq!(strip_ansi(&out), want);
        }
    }

    fn s(out: &[u8]) -> String {
        String::from_utf8_lossy(out).into_owned()
    }

    #[test]
    fn styles() {
        let c = Theme::color();
        let o = s(&render(SAMPLES[0], &c)); // # 1837.709 us } /* __switch_to */
        assert!(
            o.contains("\x1b[1;33m# 1837.709\x1b[0m \x1b[2mus\x1b[0m"),
            "{o:?}"
        );
        assert!(
            o.contains("\x1b[2m}\x1b[0m \x1b[2m/* __switch_to */\x1b[0m"),
            "{o:?}"
        );
        let o = s(&render(SAMPLES[18], &c)); // + 30.916 us  __fget_light();
        assert!(o.contains("\x1b[32m+ 30.916\x1b[0m"), "{o:?}");
        assert!(
            o.contains("\x1b[1m__fget_light\x1b[0m()\x1b[2m;\x1b[0m"),
            "{o:?}"
        );
        let o = s(&render(SAMPLES[34], &c)); // } /* cpu_cgroup_can_attach = -22 */
        assert!(
            o.contains(
                "\x1b[2m/* cpu_cgroup_can_attach = \x1b[0m\x1b[1;31m-22\x1b[0m\x1b[2m */\x1b[0m"
            ),
            "{o:?}"
        );
        let o = s(&render(SAMPLES[30], &c)); // ret=0x1 is not an errno
        assert!(o.contains("ret=\x1b[0m0x1\x1b[2m */"), "{o:?}");
        let o = s(&render(SAMPLES[39], &c));
        assert!(o.contains("\x1b[36m/* sched_switch:"), "{o:?}");
        let o = s(&render("CPU:3 [LOST 1885 EVENTS]", &c));
        assert_eq!(o, "\x1b[1;31mCPU:3 [LOST 1885 EVENTS]\x1b[0m\n");
        let o = s(&render(SAMPLES[6], &c));
        assert!(o.starts_with("\x1b[1;34m"));
        // unknown lines pass through untouched even with color
        assert_eq!(render("hello | world", &c), b"hello | world\n");
    }

    #[test]
    fn finds_newlines_like_a_plain_search() {
        let text = b"abc\ndefghijklmnop\n\nqrstuvwxyz0123456789\nend";
        for start in 0..text.len() {
            let plain = text[start..].iter().position(|&b| b == b'\n');
            assert_eq!(find_newline(&text[start..]), plain, "from {start}");
        }
        assert_eq!(find_newline(b"\xff\xfe\x8a\x0a"), Some(3));
    }

    /// Escapes are written as 16-byte blocks: every style must fit in one.
    #[test]
    fn styles_fit_an_escape_block() {
        let t = Theme::color();
        let all = [
            t.time, t.cpu, t.task, t.lat, t.unit, t.func, t.module, t.args, t.brace, t.tail,
            t.retval, t.errno, t.event, t.header, t.rule, t.switch, t.lost, t.overrun, t.irq,
            RESET,
        ];
        for style in all.iter().chain(&t.dur) {
            assert!(style.len() <= 16, "{style:?}");
        }
    }

    /// Lines rendered in a batch, where short pieces are moved 16 bytes at a
    /// time reading past their line, come out as when rendered one by one.
    #[test]
    fn batch_equals_line_by_line() {
        let mut lines: Vec<String> = SAMPLES.iter().map(|s| s.to_string()).collect();
        fuzz_corpus(|s| lines.push(s.replace('\n', "?")));
        let theme = Theme::color();
        let mut text = String::new();
        let mut single = Vec::new();
        for s in &lines {
            text.push_str(s);
            text.push('\n');
            render_line(&mut single, s, &parse_line(s), &theme);
        }
        let mut batch = Vec::new();
        Renderer::new(&theme, false).lines(&text, &mut batch, |_| {});
        assert!(batch == single);
    }

    #[test]
    fn errno_names_only_when_asked() {
        let lines = [
            (SAMPLES[34], "} /* cpu_cgroup_can_attach = -22 EINVAL */"),
            (SAMPLES[35], "} /* load_misc_binary ret=-8 ENOEXEC */"),
            (SAMPLES[30], "} /* __x64_sys_dup2 ret=0x1 */"),
        ];
        for (line, named) in lines {
            let text = format!("{line}\n");
            for theme in [Theme::plain(), Theme::color()] {
                let mut out = Vec::new();
                Renderer::new(&theme, false).lines(&text, &mut out, |_| {});
                assert_eq!(strip_ansi(&out), text.as_bytes());
                let mut out = Vec::new();
                Renderer::new(&theme, true).lines(&text, &mut out, |_| {});
                let shown = s(&strip_ansi(&out));
                assert!(shown.ends_with(&format!("{named}\n")), "{shown:?}");
                assert!(all_closed(&out));
            }
        }
        let mut out = Vec::new();
        let text = format!("{}\n", SAMPLES[34]);
        Renderer::new(&Theme::color(), true).lines(&text, &mut out, |_| {});
        assert!(
            s(&out).contains("\x1b[1;31m-22\x1b[0m \x1b[1;31mEINVAL\x1b[0m"),
            "{:?}",
            s(&out)
        );
    }

    #[test]
    fn errno_rule() {
        assert_eq!(errno_of(-22), Some(22));
        assert_eq!(errno_of(-4095), Some(4095));
        assert_eq!(errno_of(-4096), None);
        assert_eq!(errno_of(0), None);
        assert_eq!(errno_of(0xffff_ffea), Some(22)); // 32-bit -22
        assert_eq!(errno_of(0xffff8f30837d0000u64 as i64), None);
        assert_eq!(errno_of(0xffff_ffff_ffff_fff4u64 as i64), Some(12)); // retval-hex -12
    }
}
