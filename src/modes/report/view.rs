//! A text trace (`cat trace`, `trace-cmd show`, `perf ftrace` output) in,
//! rendered lines out, a line cut by a read kept until its end arrives.
//! Also counts lines, `[LOST N EVENTS]` and errno return values for the
//! closing summary ([`Tally`], which the printer of records keeps too:
//! records are colored as they are printed, not parsed again here).
//!
//! Plain output is the kernel's bytes, passed on untouched. Colored output
//! is parsed and rendered line by line; a big chunk (`ftr report` of a large
//! file) is cut into pieces that two threads take turns rendering.

use std::collections::HashMap;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::thread;

use crate::modes::report::parse::{parse_line, Kind, Line};
use crate::modes::report::render::{errno_of, find_newline, Renderer};
use crate::present::errno;
use crate::present::output::Output;
use crate::present::theme::Theme;

/// What the lines said besides themselves.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Tally {
    pub lines: u64,
    pub lost: u64,
    /// A `[LOST EVENTS]` line without a count.
    pub lost_unknown: bool,
    /// Errno return values (funcgraph-retval): function → (errno, times).
    errnos: HashMap<String, Vec<(i32, u64)>>,
}

impl Tally {
    pub fn add(&mut self, other: Tally) {
        self.lines += other.lines;
        self.lost += other.lost;
        self.lost_unknown |= other.lost_unknown;
        for (func, counts) in other.errnos {
            for (errno, n) in counts {
                self.add_errno(&func, errno, n);
            }
        }
    }

    /// A `[LOST N EVENTS]` mark (0: without a count).
    pub fn lost_mark(&mut self, count: u64) {
        match count {
            0 => self.lost_unknown = true,
            n => self.lost += n,
        }
    }

    /// A function returned `-errno`.
    pub fn errno(&mut self, func: &str, errno: i32) {
        self.add_errno(func, errno, 1);
    }

    /// Everything but the line count.
    fn count(&mut self, line: &Line<'_>) {
        match line.kind {
            Kind::Lost { count: Some(n), .. } => self.lost += n,
            Kind::Lost { count: None, .. } => self.lost_unknown = true,
            _ => {}
        }
        if let Some(errno) = line.retval.and_then(errno_of) {
            let func = line
                .func
                .map_or("?", |s| line.text.get(s.range()).unwrap_or("?"));
            self.add_errno(func, errno, 1);
        }
    }

    fn add_errno(&mut self, func: &str, errno: i32, n: u64) {
        let counts = match self.errnos.get_mut(func) {
            Some(counts) => counts,
            None => self.errnos.entry(func.to_string()).or_default(),
        };
        match counts.iter_mut().find(|(e, _)| *e == errno) {
            Some((_, total)) => *total += n,
            None => counts.push((errno, n)),
        }
    }

    /// The errno return values seen, most frequent first, as a table for
    /// the end of the run; `None` if there were none.
    pub fn errno_table(&self) -> Option<String> {
        const ROWS: usize = 20;
        let mut rows: Vec<(u64, &str, i32)> = self
            .errnos
            .iter()
            .flat_map(|(func, counts)| counts.iter().map(move |&(e, n)| (n, func.as_str(), e)))
            .collect();
        if rows.is_empty() {
            return None;
        }
        rows.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)).then(a.2.cmp(&b.2)));
        let width = rows.iter().take(ROWS).map(|r| r.1.len()).max().unwrap_or(0);
        let mut text = String::from("errno return values:\n");
        for &(n, func, e) in rows.iter().take(ROWS) {
            let name = errno::name(e).map(|n| format!(" {n}")).unwrap_or_default();
            text.push_str(&format!("{n:>9}  {func:<width$}  -{e}{name}\n"));
        }
        if rows.len() > ROWS {
            text.push_str(&format!("{:>9}  ({} more)\n", "...", rows.len() - ROWS));
        }
        Some(text)
    }
}

/// Below this, a chunk is rendered on one core; above, on two (lines render
/// independently of each other).
const PARALLEL_CHUNK: usize = 256 * 1024;

/// Size of the pieces a big chunk is cut into. Threads take the next piece
/// when done with one, so a thread slowed down (by other load on its core)
/// does less of the work instead of holding up the other.
const PIECE: usize = 32 * 1024;

/// Turns the text stream into rendered lines, keeping a partial last line
/// for the next read.
pub struct View {
    renderer: Renderer,
    /// `-o FILE`: the stream as the kernel wrote it.
    partial: Vec<u8>,
    /// Rendered output waiting to be written; the caller empties it.
    pub out: Vec<u8>,
    /// Per-thread output of a big chunk, kept to reuse its memory.
    scratch: [Vec<u8>; 2],
    pub tally: Tally,
}

impl View {
    /// `errno_names`: add the name after errno return values (`-12 ENOMEM`),
    /// which makes the output differ from the kernel's.
    pub fn new(theme: Theme, errno_names: bool) -> View {
        View {
            renderer: Renderer::new(&theme, errno_names),
            partial: Vec::new(),
            out: Vec::with_capacity(64 * 1024),
            scratch: [Vec::new(), Vec::new()],
            tally: Tally::default(),
        }
    }

    /// Renders `bytes` (plain: passes them on) straight to `output`.
    pub fn write(&mut self, bytes: &[u8], output: &mut Output) {
        if self.renderer.passes_through() {
            output.write(&self.out); // what `feed` left
            self.out.clear();
            self.tally_plain(bytes);
            output.write(bytes);
            return;
        }
        self.feed(bytes);
        output.write(&self.out);
        self.out.clear();
    }

    pub fn feed(&mut self, bytes: &[u8]) {
        if self.renderer.passes_through() {
            self.out.extend_from_slice(bytes);
            self.tally_plain(bytes);
            return;
        }
        if self.partial.is_empty() && bytes.last() == Some(&b'\n') {
            self.render(bytes); // whole lines: no copy
            return;
        }
        // Only the new bytes can hold the last newline.
        let Some(last_nl) = bytes.iter().rposition(|&b| b == b'\n') else {
            self.partial.extend_from_slice(bytes);
            return;
        };
        let mut buf = std::mem::take(&mut self.partial);
        buf.extend_from_slice(bytes);
        let complete = buf.len() - bytes.len() + last_nl + 1;
        self.render(&buf[..complete]);
        // Keep the cut line, and the buffer's memory, for the next read.
        buf.drain(..complete);
        self.partial = buf;
    }

    /// Renders complete lines.
    fn render(&mut self, complete: &[u8]) {
        // One UTF-8 check per chunk, not per line.
        match std::str::from_utf8(complete) {
            Ok(text) if text.len() > PARALLEL_CHUNK => {
                let tally = render_parallel(text, &self.renderer, &mut self.scratch, &mut self.out);
                self.tally.add(tally);
            }
            Ok(text) => self
                .tally
                .add(render_lines(text, &self.renderer, &mut self.out)),
            Err(_) => self.render_mixed(complete),
        }
    }

    /// Lines with bytes that are not UTF-8 (a comm, a trace_marker text) go
    /// out exactly as they came, uncolored; the stretches of valid lines
    /// between them are rendered as usual.
    fn render_mixed(&mut self, complete: &[u8]) {
        let mut valid_from = 0;
        let mut at = 0;
        for line in complete.split_inclusive(|&b| b == b'\n') {
            if std::str::from_utf8(line).is_err() {
                self.render(&complete[valid_from..at]);
                self.tally.lines += 1;
                self.tally
                    .count(&parse_line(&String::from_utf8_lossy(line)));
                self.out.extend_from_slice(line);
                valid_from = at + line.len();
            }
            at += line.len();
        }
        self.render(&complete[valid_from..]);
    }

    /// The last line, if the stream did not end with a newline.
    pub fn finish(&mut self) {
        if self.partial.is_empty() {
            return;
        }
        let mut line = std::mem::take(&mut self.partial);
        if self.renderer.passes_through() {
            self.tally.lines += 1;
            self.tally_plain_line(&line);
            self.out.push(b'\n');
            return;
        }
        line.push(b'\n');
        self.render(&line);
    }

    /// Counts lines and lost events of plain output; a line cut by a read is
    /// kept in `partial` until its end arrives.
    fn tally_plain(&mut self, bytes: &[u8]) {
        let mut rest = bytes;
        while let Some(end) = find_newline(rest) {
            self.tally.lines += 1;
            if self.partial.is_empty() {
                self.tally_plain_line(&rest[..end]);
            } else {
                let mut line = std::mem::take(&mut self.partial);
                line.extend_from_slice(&rest[..end]);
                self.tally_plain_line(&line);
            }
            rest = &rest[end + 1..];
        }
        self.partial.extend_from_slice(rest);
    }

    /// Only two kinds of line count for the tally: `CPU:3 [LOST 1885
    /// EVENTS]` (the kernel starts it with `CPU:`) and a return value, which
    /// is in a tail comment (`} /* f = -12 */`, `f(); /* ret=-12 */`).
    fn tally_plain_line(&mut self, line: &[u8]) {
        if line.starts_with(b"CPU:") || line.trim_ascii_end().ends_with(b"*/") {
            self.tally
                .count(&parse_line(&String::from_utf8_lossy(line)));
        }
    }
}

/// `plain` text colored by a view, and what the view counted but lines.
pub fn recolor(plain: &[u8], theme: Theme, errno_names: bool) -> (Vec<u8>, Tally) {
    let mut view = View::new(theme, errno_names);
    view.feed(plain);
    view.finish();
    let mut tally = std::mem::take(&mut view.tally);
    tally.lines = 0;
    (view.out, tally)
}

/// Renders complete lines (each ending in `\n`).
fn render_lines(text: &str, renderer: &Renderer, out: &mut Vec<u8>) -> Tally {
    let mut tally = Tally::default();
    renderer.lines(text, out, |parsed| {
        tally.lines += 1;
        tally.count(parsed);
    });
    tally
}

/// Renders `text` (complete lines) on two threads and appends the result to
/// `out` in order. Each thread renders the pieces it takes into its own
/// scratch buffer and notes where each went.
fn render_parallel(
    text: &str,
    renderer: &Renderer,
    scratch: &mut [Vec<u8>; 2],
    out: &mut Vec<u8>,
) -> Tally {
    let pieces = pieces(text, PIECE);
    let next = AtomicUsize::new(0);
    let work = |buf: &mut Vec<u8>| {
        buf.clear();
        let mut done: Vec<(usize, Range<usize>)> = Vec::new();
        let mut tally = Tally::default();
        loop {
            let i = next.fetch_add(1, Ordering::Relaxed);
            let Some(piece) = pieces.get(i) else {
                break;
            };
            let start = buf.len();
            tally.add(render_lines(piece, renderer, buf));
            done.push((i, start..buf.len()));
        }
        (done, tally)
    };
    let [mine, theirs] = scratch;
    let ((my_pieces, mut tally), other) = thread::scope(|scope| {
        let helper = thread::Builder::new().spawn_scoped(scope, || work(theirs));
        let result = work(mine);
        (result, helper.ok().and_then(|h| h.join().ok()))
    });
    let buffers = [&*mine, &*theirs];
    // Where each piece's output is: (index into `buffers`, range).
    let mut placed: Vec<Option<(usize, Range<usize>)>> = vec![None; pieces.len()];
    for (i, range) in my_pieces {
        placed[i] = Some((0, range));
    }
    if let Some((their_pieces, their_tally)) = other {
        for (i, range) in their_pieces {
            placed[i] = Some((1, range));
        }
        tally.add(their_tally);
    }
    for (piece, place) in pieces.iter().zip(placed) {
        match place {
            Some((b, range)) => out.extend_from_slice(&buffers[b][range]),
            // The second thread could not start, or panicked: render it here.
            None => tally.add(render_lines(piece, renderer, out)),
        }
    }
    tally
}

/// `text` cut after a newline about every `size` bytes.
fn pieces(text: &str, size: usize) -> Vec<&str> {
    let mut out = Vec::with_capacity(text.len() / size + 1);
    let mut rest = text;
    while rest.len() > size {
        match rest.as_bytes()[size..].iter().position(|&b| b == b'\n') {
            Some(p) => {
                let (piece, tail) = rest.split_at(size + p + 1);
                out.push(piece);
                rest = tail;
            }
            None => break,
        }
    }
    if !rest.is_empty() {
        out.push(rest);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::modes::report::render::tests::strip_ansi;

    #[test]
    fn bytes_that_are_not_utf8_pass_through_exactly() {
        let input = b" 0)   bad\xff-12   |   1.000 us    |  f();\n 0)   1.000 us    |  g();\n";
        let mut v = View::new(Theme::color(), false);
        v.feed(input);
        v.finish();
        assert_eq!(strip_ansi(&v.out), input.to_vec());
        assert!(
            v.out.starts_with(b" 0)   bad\xff-12"),
            "the odd line is left as it was"
        );
    }

    /// Every capture from real kernels: plain output is the input, colored
    /// output minus escapes is the input, and lines split across reads
    /// (as trace_pipe delivers them) render the same.
    #[test]
    fn real_captures_render_byte_exact() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/graph");
        let mut seen = 0;
        for entry in std::fs::read_dir(dir).expect("fixtures").flatten() {
            let path = entry.path();
            if path.extension().is_none_or(|e| e != "txt") {
                continue;
            }
            let input = std::fs::read(&path).expect("read fixture");
            let mut plain = View::new(Theme::plain(), false);
            plain.feed(&input);
            plain.finish();
            let mut want = input.clone();
            if !want.ends_with(b"\n") {
                want.push(b'\n');
            }
            assert_eq!(plain.out, want, "{}", path.display());
            let mut color = View::new(Theme::color(), false);
            for piece in input.chunks(777) {
                color.feed(piece);
            }
            color.finish();
            assert_eq!(strip_ansi(&color.out), want, "{}", path.display());
            assert!(color.out.len() > want.len(), "{}: colored", path.display());
            seen += 1;
        }
        assert!(seen >= 30, "fixtures found: {seen}");
    }

    /// A big chunk is rendered in two halves on two threads: the result is
    /// the same as rendering it in small pieces on one.
    #[test]
    fn big_chunks_render_as_small_ones() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/graph");
        let mut input = Vec::new();
        for entry in std::fs::read_dir(dir).expect("fixtures").flatten() {
            if entry.path().extension().is_some_and(|e| e == "txt") {
                input.extend(std::fs::read(entry.path()).expect("read fixture"));
                if !input.ends_with(b"\n") {
                    input.push(b'\n');
                }
            }
        }
        while input.len() < 3 * PARALLEL_CHUNK {
            input.extend_from_within(..);
        }
        let mut small = View::new(Theme::color(), false);
        for piece in input.chunks(4096) {
            small.feed(piece);
        }
        small.finish();
        let mut big = View::new(Theme::color(), false);
        for piece in input.chunks(input.len() / 2 + 1) {
            big.feed(piece);
        }
        big.finish();
        assert!(!big.scratch[0].is_empty(), "the two-thread path ran");
        assert!(small.out == big.out, "same bytes either way");
        assert_eq!(big.tally.lines, small.tally.lines);
        assert_eq!(strip_ansi(&big.out), input);
    }

    #[test]
    fn lost_events_are_counted() {
        let input: &[u8] =
            b"CPU:3 [LOST 1885 EVENTS]\n 0)   1.0 us    |  f();\nCPU:0 [LOST EVENTS]\nCPU:1 [LOST 5 EVENTS]\n";
        for theme in [Theme::plain(), Theme::color()] {
            // every way of cutting the stream into reads counts the same
            for cut in 0..input.len() {
                let mut v = View::new(theme, false);
                v.feed(&input[..cut]);
                v.feed(&input[cut..]);
                v.finish();
                assert_eq!(
                    (v.tally.lines, v.tally.lost, v.tally.lost_unknown),
                    (4, 1890, true),
                    "cut at {cut}"
                );
            }
        }
    }

    /// The errno table is the same whatever the output mode: plain (lines
    /// passed through), colored, or with names added; with a CR before the
    /// newline, bytes that are not UTF-8, and lines cut across reads.
    #[test]
    fn errno_tally_does_not_depend_on_the_output() {
        let input: &[u8] = b" 0)   5.123 us    |  } /* f = -12 */\r\n\
 0)  ba\xff-12  |   5.123 us    |  } /* g ret=-22 */\n\
 0)   1.000 us    |  } /* f = -12 */\n\
 0)   1.000 us    |  h(); /* ret=-4095 */ \n\
 0)   1.000 us    |  } /* f ret=0x1 */\n";
        let want = "errno return values:\n        2  f  -12 ENOMEM\n        1  g  -22 EINVAL\n        1  h  -4095\n";
        for (theme, names) in [
            (Theme::plain(), false),
            (Theme::color(), false),
            (Theme::plain(), true),
        ] {
            for cut in [0, 10, 40, 60, input.len() - 3] {
                let mut v = View::new(theme, names);
                v.feed(&input[..cut]);
                v.feed(&input[cut..]);
                v.finish();
                assert_eq!(v.tally.errno_table().as_deref(), Some(want), "cut {cut}");
                assert_eq!(v.tally.lines, 5);
                if !names {
                    assert_eq!(strip_ansi(&v.out), input, "cut {cut}");
                }
            }
        }
    }
}
