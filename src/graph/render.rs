//! Renderer for parsed function_graph lines.
//!
//! Invariant: color only adds escape sequences. Stripping `\x1b[...m` from the
//! output of [`render_line`] gives back the input line byte for byte, and with
//! [`Theme::plain`] the output *is* the input (plus `\n`). Every style opened is
//! closed with [`RESET`] before the line ends. Hot path: no allocation beyond
//! appending to `out`, no formatting.

use super::parse::{Kind, Line, Span};
use crate::style::{Theme, RESET};

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

/// Append `s`; short slices byte by byte (cheaper than a memcpy call; the caller
/// reserved room for the line, so `push` does not reallocate).
#[inline(always)]
fn put(out: &mut Vec<u8>, s: &[u8]) {
    if s.len() <= 16 {
        for &c in s {
            out.push(c);
        }
    } else {
        out.extend_from_slice(s);
    }
}

#[inline]
fn styled(out: &mut Vec<u8>, bytes: &[u8], style: &str) {
    if bytes.is_empty() {
        return;
    }
    if style.is_empty() {
        put(out, bytes);
    } else {
        put(out, style.as_bytes());
        put(out, bytes);
        put(out, RESET.as_bytes());
    }
}

/// Writes the line piecewise; positions only move forward, so whatever the spans
/// say, the bytes written (escapes aside) are exactly `b`.
struct Emit<'o, 'b> {
    out: &'o mut Vec<u8>,
    b: &'b [u8],
    cur: usize,
}

impl Emit<'_, '_> {
    /// Plain bytes up to `upto`, written with `style`.
    #[inline]
    fn fill(&mut self, upto: usize, style: &str) {
        if upto > self.cur && upto <= self.b.len() {
            styled(self.out, &self.b[self.cur..upto], style);
            self.cur = upto;
        }
    }
    /// The span with `style` (gap before it unstyled). Spans that go backwards or
    /// out of range are ignored; so are unstyled spans (the next gap covers them).
    #[inline]
    fn seg(&mut self, span: Option<Span>, style: &str) {
        if style.is_empty() {
            return;
        }
        if let Some(s) = span {
            if s.lo() >= self.cur && s.end >= s.start && s.hi() <= self.b.len() {
                self.fill(s.lo(), "");
                self.fill(s.hi(), style);
            }
        }
    }
    /// Inside a region styled `base` (already started at `cur`), a nested span.
    #[inline]
    fn inner(&mut self, span: Option<Span>, base: &str, style: &str) {
        if let Some(s) = span {
            if s.lo() >= self.cur && s.end >= s.start && s.hi() <= self.b.len() {
                self.fill(s.lo(), base);
                self.fill(s.hi(), style);
            }
        }
    }
    fn finish(mut self) {
        let n = self.b.len();
        self.fill(n, "");
    }
}

fn whole(out: &mut Vec<u8>, b: &[u8], style: &str) {
    styled(out, b, style);
}

/// Render one line into `out` without the newline.
pub fn render_body(out: &mut Vec<u8>, line: &str, parsed: &Line<'_>, theme: &Theme) {
    let b = line.as_bytes();
    if theme.is_plain() {
        out.extend_from_slice(b);
        return;
    }
    out.reserve(b.len() + 192);
    match parsed.kind {
        Kind::Empty | Kind::Other => out.extend_from_slice(b),
        Kind::Header => whole(out, b, theme.header),
        Kind::SwitchRule => whole(out, b, theme.rule),
        Kind::Switch { .. } => whole(out, b, theme.switch),
        Kind::Lost { .. } => whole(out, b, theme.lost),
        Kind::Overrun(n) => whole(out, b, if n > 0 { theme.overrun } else { theme.rule }),
        Kind::IrqEnter
        | Kind::IrqExit
        | Kind::Comment
        | Kind::Entry
        | Kind::Leaf
        | Kind::Return => {
            let mut e = Emit { out, b, cur: 0 };
            e.seg(parsed.abstime, theme.time);
            e.seg(parsed.cpu_span, theme.cpu);
            e.seg(parsed.task.map(|t| t.span), theme.task);
            e.seg(parsed.lat, theme.lat);
            // mark and number as one region (the space between them is styled too)
            let ds = theme.duration(parsed.mark);
            let dur = match (parsed.mark_span, parsed.duration_span) {
                (Some(m), Some(d)) => Some(Span::new(m.lo(), d.hi())),
                (m, d) => d.or(m),
            };
            e.seg(dur, ds);
            e.seg(parsed.unit_span, theme.unit);
            let rv_style = match parsed.retval {
                Some(v) if errno_of(v).is_some() => theme.errno,
                _ => theme.retval,
            };
            match parsed.kind {
                Kind::IrqEnter | Kind::IrqExit => e.seg(parsed.body, theme.irq),
                Kind::Comment => e.seg(parsed.comment, theme.event),
                Kind::Return => {
                    e.seg(parsed.brace, theme.brace);
                    if let Some(c) = parsed.comment {
                        e.fill(c.lo(), "");
                        e.inner(parsed.retval_span, theme.tail, rv_style);
                        e.fill(c.hi(), theme.tail);
                    }
                }
                _ => {
                    // Entry / Leaf
                    e.seg(parsed.func, theme.func);
                    e.seg(parsed.module, theme.module);
                    e.seg(parsed.args, theme.args);
                    e.seg(parsed.brace, theme.brace);
                    if let Some(c) = parsed.comment {
                        e.fill(c.lo(), "");
                        e.inner(parsed.retval_span, theme.tail, rv_style);
                        e.fill(c.hi(), theme.tail);
                    }
                }
            }
            e.finish();
        }
    }
}

/// Append `line` (styled with `theme`) and `\n` to `out`.
#[inline]
pub fn render_line(out: &mut Vec<u8>, line: &str, parsed: &Line<'_>, theme: &Theme) {
    render_body(out, line, parsed, theme);
    out.push(b'\n');
}

#[cfg(test)]
mod tests {
    use super::super::parse::parse_line;
    use super::super::parse::tests::{fuzz_corpus, SAMPLES};
    use super::*;

    /// Remove `ESC [ ... m` sequences.
    fn strip_ansi(b: &[u8]) -> Vec<u8> {
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
