//! Function-graph records to exactly the text the kernel prints for them in
//! `trace` and `trace_pipe`: a port of the printing half of
//! kernel/trace/trace_functions_graph.c (6.1 to 7.2, and the newer
//! retval/retaddr forms), with trace_output.c's context columns for the
//! function tracer. Pure: records in, bytes out; all state is per CPU, as
//! the kernel keeps it.
//!
//! The caller gives each record together with the next record of the same
//! CPU when there is one: that look-ahead is how the kernel tells a leaf
//! (`f();`, entry and exit as one line) from a call with children (`f() {`).
//! [`crate::source::stream::Stream`] does that bookkeeping over the per-CPU streams.
//!
//! An entry that carries its argument words (funcgraph-args, 6.15+), or a
//! function tracer record (func-args), prints them as trace_output.c's
//! `print_function_args` does, named and typed by the kernel's BTF
//! ([`crate::kernel::btf`]); without BTF ([`Kernel::args`] None) they print as
//! `()`, and whoever built the [`Kernel`] says so.
//!
//! Not reproduced: funcgraph-reltime (6.15+); the function tracer's
//! latency-format columns (they need the next event's time on any CPU).

use std::io::Write;
use std::ops::Range;

use crate::kernel::btf::FuncArgs;
use crate::modes::graph::events::EventText;
use crate::modes::graph::records::{Body, Common, Entry, Exit, Layouts, Record};
use crate::modes::report::render::{errno_of, Esc, Palette};
use crate::modes::report::view::Tally;
use crate::present::theme::Theme;
use crate::present::{digits, errno};
use crate::source::kallsyms::Symbols;

/// The kernel's FTRACE_RETFUNC_DEPTH: depths it remembers functions at.
const RETFUNC_DEPTH: usize = 50;
/// TRACE_GRAPH_PROCINFO_LENGTH: the width `comm-pid` is centred in.
const PROCINFO_WIDTH: usize = 14;
/// Task names are cut to this many bytes in the graph's proc column.
const PROC_COMM_MAX: usize = 7;

/// The trace options that change the text, read from `trace_options`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Options {
    pub cpu: bool,
    pub proc_: bool,
    pub abstime: bool,
    pub duration: bool,
    pub overhead: bool,
    pub tail: bool,
    pub irqs: bool,
    pub overrun: bool,
    pub retval: bool,
    pub retval_hex: bool,
    pub retaddr: bool,
    pub latency: bool,
    pub context_info: bool,
    pub print_parent: bool,
    pub sym_offset: bool,
    pub sym_addr: bool,
    pub irq_info: bool,
}

impl Default for Options {
    /// The kernel's defaults.
    fn default() -> Options {
        Options {
            cpu: true,
            proc_: false,
            abstime: false,
            duration: true,
            overhead: true,
            tail: false,
            irqs: true,
            overrun: false,
            retval: false,
            retval_hex: false,
            retaddr: false,
            latency: false,
            context_info: true,
            print_parent: true,
            sym_offset: false,
            sym_addr: false,
            irq_info: true,
        }
    }
}

impl Options {
    /// Reads `trace_options` (`name` or `noname` per line, a later line
    /// winning); options it does not list keep the kernel's default.
    pub fn from_trace_options(text: &str) -> Options {
        let mut o = Options::default();
        for line in text.lines().map(str::trim) {
            let (name, on) = match line.strip_prefix("no") {
                Some(name) => (name, false),
                None => (line, true),
            };
            if let Some(slot) = o.slot(name) {
                *slot = on;
            }
        }
        o
    }

    /// Whether `opt` (`name` or `noname`) is an option that changes the text.
    pub fn changes_text(opt: &str) -> bool {
        let name = opt.strip_prefix("no").unwrap_or(opt);
        Options::default().slot(name).is_some()
    }

    fn slot(&mut self, name: &str) -> Option<&mut bool> {
        let o = self;
        Some(match name {
            "funcgraph-cpu" => &mut o.cpu,
            "funcgraph-proc" => &mut o.proc_,
            "funcgraph-abstime" => &mut o.abstime,
            "funcgraph-duration" => &mut o.duration,
            "funcgraph-overhead" => &mut o.overhead,
            "funcgraph-tail" => &mut o.tail,
            "funcgraph-irqs" => &mut o.irqs,
            "funcgraph-overrun" => &mut o.overrun,
            "funcgraph-retval" => &mut o.retval,
            "funcgraph-retval-hex" => &mut o.retval_hex,
            "funcgraph-retaddr" => &mut o.retaddr,
            "latency-format" => &mut o.latency,
            "context-info" => &mut o.context_info,
            "print-parent" => &mut o.print_parent,
            "sym-offset" => &mut o.sym_offset,
            "sym-addr" => &mut o.sym_addr,
            "irq-info" => &mut o.irq_info,
            _ => return None,
        })
    }
}

/// How return values read: `f(); /* = 0x0 */` and `} /* f = -22 */` from
/// 6.5 to 6.12, `} /* f ret=-22 */` since retaddr support (6.13).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RetvalStyle {
    Equals,
    Ret,
}

impl RetvalStyle {
    /// From a kernel release (`uname -r`), e.g. `6.12.117+deb13-amd64`.
    pub fn for_release(release: &str) -> RetvalStyle {
        let mut nums = release
            .split(|c: char| !c.is_ascii_digit())
            .map(|n| n.parse::<u32>().unwrap_or(0));
        let version = (nums.next().unwrap_or(0), nums.next().unwrap_or(0));
        if version >= (6, 13) {
            RetvalStyle::Ret
        } else {
            RetvalStyle::Equals
        }
    }
}

/// Which tracer wrote the buffer: it decides how every line is laid out.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tracer {
    FunctionGraph,
    Function,
}

/// `saved_cmdlines`: pid to comm, as trace_find_cmdline answers it.
#[derive(Debug, Default, Clone)]
pub struct Cmdlines {
    /// Sorted by pid.
    entries: Vec<(i32, Box<str>)>,
}

impl Cmdlines {
    /// Parses `PID COMM` lines (a comm may contain spaces).
    pub fn parse(text: &str) -> Cmdlines {
        let mut entries: Vec<(i32, Box<str>)> = text
            .lines()
            .filter_map(|l| {
                let (pid, comm) = l.split_once(' ')?;
                Some((pid.parse().ok()?, comm.into()))
            })
            .collect();
        entries.sort_by_key(|e| e.0);
        entries.dedup_by_key(|e| e.0);
        Cmdlines { entries }
    }

    /// The comm the kernel shows for `pid`: `<idle>` for 0, `<...>` for a
    /// task it did not save.
    pub fn comm(&self, pid: i32) -> &str {
        if pid == 0 {
            return "<idle>";
        }
        if pid < 0 {
            return "<XXX>";
        }
        match self.entries.binary_search_by_key(&pid, |e| e.0) {
            Ok(at) => &self.entries[at].1,
            Err(_) => "<...>",
        }
    }
}

/// What the kernel knows besides the records: the things a buffer's text
/// depends on, read once.
#[derive(Debug, Clone)]
pub struct Kernel {
    pub layouts: Layouts,
    pub symbols: Symbols,
    pub cmdlines: Cmdlines,
    /// nr_cpu_ids: the CPU column is as wide as the largest CPU number.
    pub nr_cpu_ids: u32,
    pub options: Options,
    pub tracer: Tracer,
    pub retval_style: RetvalStyle,
    /// The kernel's BTF, to print the arguments of entries that carry them
    /// (funcgraph-args); without it they print as `()`.
    pub args: Option<FuncArgs>,
}

/// The kernel's `struct fgraph_cpu_data`.
#[derive(Debug, Clone)]
struct CpuState {
    last_pid: i32,
    /// Where comments indent to.
    depth: i32,
    /// The depth an irq-entry function was entered at while funcgraph-irqs
    /// is off (its calls are hidden until it returns), or -1.
    depth_irq: i32,
    /// The function entered at each depth, to spot returns without entries.
    enter_funcs: [u64; RETFUNC_DEPTH],
}

impl CpuState {
    fn new() -> CpuState {
        CpuState {
            last_pid: -1,
            depth: 0,
            depth_irq: -1,
            enter_funcs: [0; RETFUNC_DEPTH],
        }
    }
}

/// Whether a call into the irq entry text opens or closes a marker line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum IrqMark {
    Enter,
    Return,
}

/// What the duration column holds.
#[derive(Debug, Clone, Copy)]
enum Cell {
    Time(u64),
    /// No duration: spaces, then the column's bar.
    Blank,
    /// Around an irq marker: the start and end of the column.
    Start,
    End,
}

/// The printer: what it knows of the kernel, and each CPU's state.
pub struct KernelText {
    printer: Printer,
    cpus: Vec<CpuState>,
    /// Lost events and errno return values printed so far.
    tally: Tally,
}

/// The styles of a line's pieces, written as the pieces are: the pieces
/// and styles [`crate::modes::report::render::Renderer`] finds in a text trace, so that
/// the colored text of records is the colored text of their plain text
/// (a test holds the two equal). With [`Theme::plain`] every style is
/// empty and the bytes are the kernel's.
struct Pen {
    pal: Palette,
    /// Add the errno's name after an errno return value (`-12 ENOMEM`).
    errno_names: bool,
}

impl Pen {
    /// `bytes` in `style`; an empty piece gets no escapes.
    #[inline]
    fn put(&self, out: &mut Vec<u8>, style: Esc, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        let at = self.open(out, style);
        out.extend_from_slice(bytes);
        self.close(out, style, at);
    }

    /// Starts a piece in `style` that the caller writes; gives where it
    /// started, for [`Pen::close`].
    #[inline]
    fn open(&self, out: &mut Vec<u8>, style: Esc) -> usize {
        let at = out.len();
        style.write(out);
        at
    }

    /// Ends the piece begun at `at` (an empty one leaves nothing).
    #[inline]
    fn close(&self, out: &mut Vec<u8>, style: Esc, at: usize) {
        if style.len == 0 {
            return;
        }
        if out.len() == at + style.len {
            out.truncate(at);
        } else {
            self.pal.reset.write(out);
        }
    }

    fn plain() -> Pen {
        Pen {
            pal: Palette::new(&Theme::plain()),
            errno_names: false,
        }
    }

    /// ` N) `: the CPU right-aligned in `width` columns.
    fn cpu_column(&self, width: usize, cpu: usize, out: &mut Vec<u8>) {
        out.push(b' ');
        digits::spaces(out, width.saturating_sub(digits::len(cpu as u64)));
        let at = self.open(out, self.pal.cpu);
        digits::push(out, cpu as u64);
        self.close(out, self.pal.cpu, at);
        out.extend_from_slice(b") ");
    }

    /// `comm-pid` centred in 14 columns, the comm cut to 7 bytes.
    fn proc_column(&self, cmdlines: &Cmdlines, pid: i32, out: &mut Vec<u8>) {
        let comm = cmdlines.comm(pid).as_bytes();
        let comm = &comm[..comm.len().min(PROC_COMM_MAX)];
        let digits = decimal_len(pid);
        let spaces = PROCINFO_WIDTH.saturating_sub(comm.len() + digits + 1);
        digits::spaces(out, spaces / 2);
        let at = self.open(out, self.pal.task);
        out.extend_from_slice(comm);
        out.push(b'-');
        digits::push_signed(out, pid.into());
        self.close(out, self.pal.task, at);
        digits::spaces(out, spaces - spaces / 2);
    }

    /// Text written from `at` on (up to the line's end) in `style`: the
    /// style goes in front once the text is known. A newline in it (a
    /// trace_marker text) ends the style, as it ends the renderer's line;
    /// text that is not UTF-8 stays unstyled, as the renderer leaves it.
    /// (The renderer leaves such a line's columns unstyled too; here they
    /// keep their styles. Stripped of escapes, both are the same text.)
    fn wrap(&self, out: &mut Vec<u8>, style: Esc, at: usize) {
        let text = &out[at..];
        let end = text.iter().position(|&b| b == b'\n').unwrap_or(text.len());
        if style.len == 0 || end == 0 || std::str::from_utf8(&text[..end]).is_err() {
            return;
        }
        let reset = &self.pal.reset;
        out.splice(at + end..at + end, reset.bytes[..reset.len].iter().copied());
        out.splice(at..at, style.bytes[..style.len].iter().copied());
    }
}

/// Everything that does not change while printing (records borrow from it
/// while the CPU state changes).
struct Printer {
    kernel: Kernel,
    events: EventText,
    /// `__irqentry_text_start..__irqentry_text_end`, when kallsyms has it.
    irq_text: Option<Range<u64>>,
    cpu_width: usize,
    /// Each CPU's column, written once.
    cpu_columns: Vec<Short>,
    pen: Pen,
    /// For the lines styled as a whole.
    unstyled: Pen,
}

/// A short piece of text, copied as one fixed-size move.
#[derive(Clone, Copy)]
struct Short {
    bytes: [u8; 32],
    len: usize,
}

impl Short {
    fn new(text: &[u8]) -> Option<Short> {
        let mut bytes = [0; 32];
        bytes.get_mut(..text.len())?.copy_from_slice(text);
        Some(Short {
            bytes,
            len: text.len(),
        })
    }

    #[inline]
    fn write(&self, out: &mut Vec<u8>) {
        let at = out.len();
        out.extend_from_slice(&self.bytes);
        out.truncate(at + self.len);
    }
}

impl KernelText {
    pub fn new(kernel: Kernel) -> KernelText {
        let events = EventText::new(kernel.layouts.others());
        let irq_text = kernel
            .symbols
            .address_of("__irqentry_text_start")
            .zip(kernel.symbols.address_of("__irqentry_text_end"))
            .map(|(start, end)| start..end);
        let cpu_width = kernel.nr_cpu_ids.saturating_sub(1).to_string().len();
        KernelText {
            // Grown as CPUs show up: nr_cpu_ids comes from a capture file.
            cpus: Vec::new(),
            printer: Printer {
                kernel,
                events,
                irq_text,
                cpu_width,
                cpu_columns: Vec::new(),
                pen: Pen::plain(),
                unstyled: Pen::plain(),
            },
            tally: Tally::default(),
        }
        .with_columns()
    }

    /// The columns that are the same on every line of a CPU, written once.
    fn with_columns(mut self) -> KernelText {
        let p = &mut self.printer;
        // The CPUs of most machines; higher ones are written each time.
        const MADE: u32 = 512;
        p.cpu_columns = (0..p.kernel.nr_cpu_ids.min(MADE) as usize)
            .map_while(|cpu| {
                let mut text = Vec::new();
                p.pen.cpu_column(p.cpu_width, cpu, &mut text);
                Short::new(&text)
            })
            .collect();
        self
    }

    /// Writes the text in `theme`'s colors; `errno_names` adds the name
    /// after an errno return value (`-12 ENOMEM`), which makes the text
    /// differ from the kernel's.
    pub fn styled(mut self, theme: Theme, errno_names: bool) -> KernelText {
        self.printer.pen = Pen {
            pal: Palette::new(&theme),
            errno_names,
        };
        self.with_columns()
    }

    /// The lost events and errno return values printed since the last call.
    pub fn take_tally(&mut self) -> Tally {
        std::mem::take(&mut self.tally)
    }

    pub fn set_cmdlines(&mut self, cmdlines: Cmdlines) {
        self.printer.kernel.cmdlines = cmdlines;
    }

    pub fn layouts(&self) -> &Layouts {
        &self.printer.kernel.layouts
    }

    /// `CPU:N [LOST M EVENTS]`: the kernel lost events on `cpu` here
    /// (`count` 0: it did not say how many).
    pub fn lost(&mut self, cpu: u32, count: u64, out: &mut Vec<u8>) {
        self.tally.lost_mark(count);
        let pen = &self.printer.pen;
        let at = pen.open(out, pen.pal.lost);
        let _ = match count {
            0 => write!(out, "CPU:{cpu} [LOST EVENTS]"),
            n => write!(out, "CPU:{cpu} [LOST {n} EVENTS]"),
        };
        pen.close(out, pen.pal.lost, at);
        out.push(b'\n');
    }

    /// Prints the record `rec`, recorded on `cpu` at `ts` (ns). `next` is
    /// the next record of the same CPU, if it is known yet; the answer says
    /// whether this line used it up (a leaf's exit), so that the caller
    /// skips it. A record that does not decode prints nothing.
    pub fn record(
        &mut self,
        cpu: u32,
        ts: u64,
        rec: &[u8],
        next: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> bool {
        let p = &self.printer;
        let layouts = &p.kernel.layouts;
        let Some(r) = layouts.decode(rec) else {
            return false;
        };
        let cpu = cpu as usize;
        if cpu >= self.cpus.len() {
            self.cpus.resize(cpu + 1, CpuState::new());
        }
        let st = &mut self.cpus[cpu];
        let line = Line {
            cpu,
            ts,
            common: r.common,
        };
        match (p.kernel.tracer, r.body) {
            (Tracer::FunctionGraph, Body::Entry(e)) => {
                let leaf = next
                    .filter(|n| layouts.is_exit(n))
                    .and_then(|n| layouts.decode(n))
                    .and_then(|n| leaf_exit(&r, &e, &n));
                if p.entry(st, &line, &e, leaf, out) {
                    if let Some(x) = &leaf {
                        p.count_errno(x, &mut self.tally);
                    }
                }
                leaf.is_some()
            }
            (Tracer::FunctionGraph, Body::Exit(x)) => {
                if p.exit(st, &line, &x, out) {
                    p.count_errno(&x, &mut self.tally);
                }
                false
            }
            // The graph printer leaves function records to the default
            // format, as the kernel does (TRACE_TYPE_UNHANDLED).
            (Tracer::FunctionGraph, Body::Function { .. }) | (Tracer::Function, _) => {
                p.plain(&line, &r.body, out);
                false
            }
            (Tracer::FunctionGraph, body) => {
                p.comment(st, &line, &body, out);
                false
            }
        }
    }
}

impl Printer {
    // ---- graph lines (print_graph_entry / _return / _comment) ----

    /// True if it printed the line (funcgraph-irqs off hides irq code).
    fn entry(
        &self,
        state: &mut CpuState,
        line: &Line,
        e: &Entry,
        leaf: Option<Exit>,
        out: &mut Vec<u8>,
    ) -> bool {
        if self.irq_hidden_entry(state, e.func, e.depth) {
            return false;
        }
        let t = &self.pen.pal;
        self.prologue(state, line, Some((IrqMark::Enter, e.func)), out);
        let slot = usize::try_from(e.depth).ok().filter(|&d| d < RETFUNC_DEPTH);
        match leaf {
            Some(x) => {
                // Comments after a leaf sit at its own depth.
                state.depth = e.depth - 1;
                if let Some(d) = slot {
                    state.enter_funcs[d] = 0;
                }
                self.duration(Cell::Time(x.rettime.wrapping_sub(x.calltime)), out);
                indent(out, e.depth);
                self.function(x.func, out);
                self.args(x.func, e, out);
                self.pen.put(out, t.brace, b";");
                if self.with_retval(&x) || (self.kernel.options.retaddr && e.retaddr.is_some()) {
                    self.leaf_comment(e, &x, out);
                }
                out.push(b'\n');
                self.irq_marker(line, IrqMark::Return, x.func, out);
            }
            None => {
                state.depth = e.depth;
                if let Some(d) = slot {
                    state.enter_funcs[d] = e.func;
                }
                self.duration(Cell::Blank, out);
                indent(out, e.depth);
                self.function(e.func, out);
                self.args(e.func, e, out);
                out.push(b' ');
                self.pen.put(out, t.brace, b"{");
                if let (true, Some(ret)) = (self.kernel.options.retaddr, e.retaddr) {
                    out.push(b' ');
                    let at = self.pen.open(out, t.tail);
                    out.extend_from_slice(b"/* <-");
                    self.kernel.symbols.write_ps_offset(out, ret);
                    out.extend_from_slice(b" */");
                    self.pen.close(out, t.tail, at);
                }
                out.push(b'\n');
            }
        }
        true
    }

    /// `(a=1, b=0x2)` when the entry carries its arguments and BTF names
    /// them (print_function_args, for the function at `func`), else `()`.
    fn args(&self, func: u64, e: &Entry, out: &mut Vec<u8>) {
        match e.args {
            Some(words) => self.args_of(&self.pen, func, words, out),
            None => self.pen.put(out, self.pen.pal.args, b"()"),
        }
    }

    /// The argument words `words` of the function at `func`, named by BTF
    /// (`()` without it), with `pen`.
    fn args_of(&self, pen: &Pen, func: u64, words: &[u8], out: &mut Vec<u8>) {
        let style = pen.pal.args;
        let Some(btf) = &self.kernel.args else {
            return pen.put(out, style, b"()");
        };
        let at = pen.open(out, style);
        let symbols = &self.kernel.symbols;
        btf.write(
            out,
            func,
            || symbols.lookup(func).map(|s| s.name.to_string()),
            words,
        );
        pen.close(out, style, at);
    }

    /// A function's name as `%ps` prints it, in the name's style and the
    /// module's (`name [mod]`).
    fn function(&self, addr: u64, out: &mut Vec<u8>) {
        let t = &self.pen.pal;
        let at = self.pen.open(out, t.func);
        let module = self.kernel.symbols.write_name(out, addr);
        if module.is_none() {
            self.kernel.symbols.write_ps(out, addr); // the raw pointer
        }
        self.pen.close(out, t.func, at);
        if let Some(module) = module.and_then(|m| m.strip_prefix(' ')) {
            out.push(b' ');
            self.pen.put(out, t.module, module.as_bytes());
        }
    }

    /// True if it printed the line.
    fn exit(&self, state: &mut CpuState, line: &Line, x: &Exit, out: &mut Vec<u8>) -> bool {
        if self.irq_hidden_return(state, x.depth) {
            return false;
        }
        let t = &self.pen.pal;
        // Comments after a return sit at the level of its brace.
        state.depth = x.depth - 1;
        let mut matched = true;
        if let Some(d) = usize::try_from(x.depth).ok().filter(|&d| d < RETFUNC_DEPTH) {
            matched = state.enter_funcs[d] == x.func;
            state.enter_funcs[d] = 0;
        }
        self.prologue(state, line, None, out);
        self.duration(Cell::Time(x.rettime.wrapping_sub(x.calltime)), out);
        indent(out, x.depth);
        self.pen.put(out, t.brace, b"}");
        if self.with_retval(x) {
            out.push(b' ');
            let at = self.pen.open(out, t.tail);
            out.extend_from_slice(b"/* ");
            self.kernel.symbols.write_ps(out, x.func);
            out.extend_from_slice(match self.kernel.retval_style {
                RetvalStyle::Equals => b" = ",
                RetvalStyle::Ret => b" ret=",
            });
            self.pen.close(out, t.tail, at);
            self.retval(x.retval.unwrap_or(0), out);
            self.pen.put(out, t.tail, b" */");
        } else if !matched || self.kernel.options.tail {
            // Without its entry in the buffer the brace names its function.
            out.push(b' ');
            let at = self.pen.open(out, t.tail);
            out.extend_from_slice(b"/* ");
            self.kernel.symbols.write_ps(out, x.func);
            out.extend_from_slice(b" */");
            self.pen.close(out, t.tail, at);
        }
        out.push(b'\n');
        if self.kernel.options.overrun {
            let style = if x.overrun > 0 { t.overrun } else { t.rule };
            let at = self.pen.open(out, style);
            let _ = write!(out, " (Overruns: {})", x.overrun);
            self.pen.close(out, style, at);
            out.push(b'\n');
        }
        self.irq_marker(line, IrqMark::Return, x.func, out);
        true
    }

    fn comment(&self, state: &mut CpuState, line: &Line, body: &Body, out: &mut Vec<u8>) {
        let depth = state.depth;
        self.prologue(state, line, None, out);
        self.duration(Cell::Blank, out);
        if depth > 0 {
            indent(out, depth + 1);
        }
        let at = out.len();
        out.extend_from_slice(b"/* ");
        let start = out.len();
        self.event_text(body, out);
        // The kernel strips one final newline (trace_marker adds one).
        if out.len() > start && out.last() == Some(&b'\n') {
            out.pop();
        }
        out.extend_from_slice(b" */");
        self.pen.wrap(out, self.pen.pal.event, at);
        out.push(b'\n');
    }

    /// The body of a non-graph record, as its event's printer writes it.
    fn event_text(&self, body: &Body, out: &mut Vec<u8>) {
        match *body {
            Body::Print { text, .. } => out.extend_from_slice(text),
            Body::Bprint { fmt, .. } => {
                // The format string lives in kernel memory (printk_formats):
                // not decoded yet, so say which one it was.
                let _ = write!(out, "bprint: fmt={fmt:#x}");
            }
            Body::Other { format, data } => self.events.write(out, format, data),
            Body::Entry(_) | Body::Exit(_) | Body::Function { .. } => {}
        }
    }

    fn with_retval(&self, x: &Exit) -> bool {
        self.kernel.options.retval && x.retval.is_some()
    }

    /// A leaf's tail comment: its return value and/or return address.
    fn leaf_comment(&self, e: &Entry, x: &Exit, out: &mut Vec<u8>) {
        let tail = self.pen.pal.tail;
        let retval = x.retval.filter(|_| self.kernel.options.retval);
        out.push(b' ');
        let at = self.pen.open(out, tail);
        match self.kernel.retval_style {
            RetvalStyle::Equals => {
                out.extend_from_slice(b"/* = ");
                self.pen.close(out, tail, at);
                self.retval(retval.unwrap_or(0), out);
            }
            RetvalStyle::Ret => {
                out.extend_from_slice(b"/*");
                if let (true, Some(ret)) = (self.kernel.options.retaddr, e.retaddr) {
                    out.extend_from_slice(b" <-");
                    self.kernel.symbols.write_ps_offset(out, ret);
                }
                let Some(v) = retval else {
                    // Nothing inside styled apart: one piece.
                    out.extend_from_slice(b" */");
                    self.pen.close(out, tail, at);
                    return;
                };
                out.extend_from_slice(b" ret=");
                self.pen.close(out, tail, at);
                self.retval(v, out);
            }
        }
        self.pen.put(out, tail, b" */");
    }

    /// A return value, as the kernel prints it: an errno-looking value
    /// (also as a sign-extended 32-bit int) as a negative decimal, anything
    /// else in hex; funcgraph-retval-hex prints all in hex. An errno is
    /// styled as one, and named if asked.
    fn retval(&self, v: u64, out: &mut Vec<u8>) {
        let as_err = if v & (1 << 31) != 0 && v >> 32 == 0 {
            v as u32 as i32 as i64
        } else {
            v as i64
        };
        let is_errno = (-4095..0).contains(&as_err);
        let t = &self.pen.pal;
        let errno = errno_of(v as i64);
        let style = if errno.is_some() { t.errno } else { t.retval };
        let at = self.pen.open(out, style);
        let _ = if is_errno && !self.kernel.options.retval_hex {
            write!(out, "{as_err}")
        } else {
            write!(out, "{v:#x}")
        };
        self.pen.close(out, style, at);
        let name = errno.filter(|_| self.pen.errno_names).and_then(errno::name);
        if let Some(name) = name {
            out.push(b' ');
            self.pen.put(out, style, name.as_bytes());
        }
    }

    /// Counts an errno return value the line showed, by function.
    fn count_errno(&self, x: &Exit, tally: &mut Tally) {
        let Some(errno) = x
            .retval
            .filter(|_| self.with_retval(x))
            .and_then(|v| errno_of(v as i64))
        else {
            return;
        };
        match self.kernel.symbols.lookup(x.func) {
            Some(sym) => tally.errno(sym.name, errno),
            None => tally.errno(&format!("{:#x}", x.func), errno),
        }
    }

    // ---- the columns before the body ----

    /// print_graph_prologue: the context-switch banner when the pid on
    /// this CPU changed, an irq marker before an entry into irq code, then
    /// the context columns.
    fn prologue(
        &self,
        state: &mut CpuState,
        line: &Line,
        irq: Option<(IrqMark, u64)>,
        out: &mut Vec<u8>,
    ) {
        self.banner(state, line, out);
        if let Some((mark, addr)) = irq {
            self.irq_marker(line, mark, addr, out);
        }
        if self.kernel.options.context_info {
            self.context(line, out);
        }
    }

    fn context(&self, line: &Line, out: &mut Vec<u8>) {
        let o = &self.kernel.options;
        let t = &self.pen.pal;
        if o.abstime {
            let (secs, ns) = (line.ts / 1_000_000_000, line.ts % 1_000_000_000);
            digits::spaces(out, 5usize.saturating_sub(digits::len(secs)));
            let at = self.pen.open(out, t.time);
            digits::push(out, secs);
            out.push(b'.');
            digits::push_zeros(out, ns / 1000, 6);
            self.pen.close(out, t.time, at);
            out.extend_from_slice(b" |  ");
        }
        if o.cpu {
            self.cpu_column(line.cpu, out);
        }
        if o.proc_ {
            self.proc_column(line.common.pid, out);
            out.extend_from_slice(b" | ");
        }
        if o.latency {
            out.push(b' ');
            let at = self.pen.open(out, t.lat);
            lat_flags(&line.common, out);
            self.pen.close(out, t.lat, at);
            out.extend_from_slice(b" | ");
        }
    }

    fn banner(&self, state: &mut CpuState, line: &Line, out: &mut Vec<u8>) {
        let pid = line.common.pid;
        let prev = std::mem::replace(&mut state.last_pid, pid);
        if prev == pid || prev == -1 {
            return;
        }
        const RULE: &[u8] = b" ------------------------------------------";
        let t = &self.pen.pal;
        self.pen.put(out, t.rule, RULE);
        out.push(b'\n');
        // The whole line in one style: no styles of its columns inside.
        let at = out.len();
        let plain = &self.unstyled;
        plain.cpu_column(self.cpu_width, line.cpu, out);
        plain.proc_column(&self.kernel.cmdlines, prev, out);
        out.extend_from_slice(b" => ");
        plain.proc_column(&self.kernel.cmdlines, pid, out);
        self.pen.wrap(out, t.switch, at);
        out.push(b'\n');
        self.pen.put(out, t.rule, RULE);
        out.extend_from_slice(b"\n\n");
    }

    fn cpu_column(&self, cpu: usize, out: &mut Vec<u8>) {
        match self.cpu_columns.get(cpu) {
            Some(column) => column.write(out),
            None => self.pen.cpu_column(self.cpu_width, cpu, out),
        }
    }

    fn proc_column(&self, pid: i32, out: &mut Vec<u8>) {
        self.pen.proc_column(&self.kernel.cmdlines, pid, out);
    }

    fn duration(&self, cell: Cell, out: &mut Vec<u8>) {
        let o = &self.kernel.options;
        if !o.duration || !o.context_info {
            return;
        }
        match cell {
            Cell::Blank => out.extend_from_slice(b"              |  "),
            Cell::Start => out.extend_from_slice(b"  "),
            Cell::End => out.extend_from_slice(b" |"),
            Cell::Time(ns) => {
                let t = &self.pen.pal;
                // The mark and the number are one piece, as the renderer
                // styles them.
                let (marked, style) = match o.overhead {
                    true => mark(ns),
                    false => (None, 0),
                };
                let style = t.dur[style];
                let at = match marked {
                    Some(m) => {
                        let at = self.pen.open(out, style);
                        out.extend_from_slice(&[m, b' ']);
                        at
                    }
                    None => {
                        out.extend_from_slice(b"  ");
                        self.pen.open(out, style)
                    }
                };
                let pad = write_duration_number(ns, out);
                self.pen.close(out, style, at);
                out.push(b' ');
                self.pen.put(out, t.unit, b"us");
                digits::spaces(out, 1 + pad);
                out.extend_from_slice(b"|  ");
            }
        }
    }

    // ---- irq entry text (funcgraph-irqs) ----

    fn in_irq_text(&self, addr: u64) -> bool {
        self.irq_text.as_ref().is_some_and(|r| r.contains(&addr))
    }

    /// print_graph_irq: with funcgraph-irqs on, a call into the irq entry
    /// text gets a `==========>` line before it and `<==========` after.
    fn irq_marker(&self, line: &Line, mark: IrqMark, addr: u64, out: &mut Vec<u8>) {
        if !self.in_irq_text(addr) {
            return;
        }
        if self.kernel.options.context_info {
            self.context(line, out);
        }
        self.duration(Cell::Start, out);
        let arrow: &[u8] = match mark {
            IrqMark::Enter => b"==========>",
            IrqMark::Return => b"<==========",
        };
        self.pen.put(out, self.pen.pal.irq, arrow);
        self.duration(Cell::End, out);
        out.push(b'\n');
    }

    /// check_irq_entry: with funcgraph-irqs off, hides an irq-entry
    /// function and everything it calls.
    fn irq_hidden_entry(&self, state: &mut CpuState, func: u64, depth: i32) -> bool {
        if self.kernel.options.irqs {
            return false;
        }
        if state.depth_irq >= 0 {
            return true;
        }
        if !self.in_irq_text(func) {
            return false;
        }
        state.depth_irq = depth;
        true
    }

    /// check_irq_return: the matching half of [`Self::irq_hidden_entry`].
    fn irq_hidden_return(&self, state: &mut CpuState, depth: i32) -> bool {
        if self.kernel.options.irqs {
            return false;
        }
        if state.depth_irq == -1 {
            return false;
        }
        if state.depth_irq >= depth {
            state.depth_irq = -1;
        }
        true
    }

    // ---- the default format (print_trace_fmt), used by the function tracer ----

    fn plain(&self, line: &Line, body: &Body, out: &mut Vec<u8>) {
        if self.kernel.options.context_info {
            self.plain_context(line, out);
        }
        match *body {
            Body::Function {
                ip,
                parent_ip,
                args,
            } => {
                self.ip_sym(ip, out);
                if let Some(words) = args {
                    // The function tracer's lines are styled as a whole.
                    self.args_of(&self.unstyled, ip, words, out);
                }
                if self.kernel.options.print_parent && parent_ip != 0 {
                    out.extend_from_slice(b" <-");
                    self.ip_sym(parent_ip, out);
                }
            }
            Body::Print { ip, text } => {
                self.ip_sym(ip, out);
                out.extend_from_slice(b": ");
                out.extend_from_slice(text);
            }
            _ => self.event_text(body, out),
        }
        if out.last() != Some(&b'\n') {
            out.push(b'\n');
        }
    }

    /// trace_print_context: `comm-pid [cpu] flags secs.usecs: `.
    fn plain_context(&self, line: &Line, out: &mut Vec<u8>) {
        let comm = self.kernel.cmdlines.comm(line.common.pid);
        digits::spaces(out, 16usize.saturating_sub(comm.len()));
        out.extend_from_slice(comm.as_bytes());
        out.push(b'-');
        let pid = line.common.pid;
        let pid_len = decimal_len(pid);
        digits::push_signed(out, pid.into());
        digits::spaces(out, 7usize.saturating_sub(pid_len));
        out.extend_from_slice(b" [");
        digits::push_zeros(out, line.cpu as u64, 3);
        out.extend_from_slice(b"] ");
        if self.kernel.options.irq_info {
            lat_flags(&line.common, out);
        }
        // ns2usecs rounds to the nearest microsecond, unlike abstime.
        let us = (line.ts + 500) / 1000;
        out.push(b' ');
        digits::push_right(out, us / 1_000_000, 5);
        out.push(b'.');
        digits::push_zeros(out, us % 1_000_000, 6);
        out.extend_from_slice(b": ");
    }

    /// seq_print_ip_sym: the name only (no module), or `name+off/size
    /// [mod]` with sym-offset; `0` for a null address.
    fn ip_sym(&self, ip: u64, out: &mut Vec<u8>) {
        if ip == 0 {
            out.push(b'0');
            return;
        }
        let syms = &self.kernel.symbols;
        match syms.lookup(ip) {
            Some(_) if self.kernel.options.sym_offset => syms.write_ps_offset(out, ip),
            Some(sym) => out.extend_from_slice(sym.name.as_bytes()),
            None => {
                let _ = write!(out, "0x{ip:08x}");
            }
        }
        if self.kernel.options.sym_addr {
            let _ = write!(out, " <{ip:016x}>");
        }
    }
}

/// Where and when a record was written.
struct Line {
    cpu: usize,
    ts: u64,
    common: Common,
}

/// The exit that makes `entry` a leaf: the very next record on its CPU,
/// returning from the same function in the same task.
fn leaf_exit(entry: &Record, e: &Entry, next: &Record) -> Option<Exit> {
    match next.body {
        Body::Exit(x) if next.common.pid == entry.common.pid && x.func == e.func => Some(x),
        _ => None,
    }
}

/// The length of `%d` of `n`.
fn decimal_len(n: i32) -> usize {
    let sign = usize::from(n < 0);
    let mut v = n.unsigned_abs();
    let mut len = 1;
    while v >= 10 {
        v /= 10;
        len += 1;
    }
    sign + len
}

/// Two spaces a level. The kernel's line (a trace_seq) holds a page: a
/// depth that a damaged record makes huge is cut there too.
fn indent(out: &mut Vec<u8>, depth: i32) {
    const LINE_MAX: usize = 4096;
    digits::spaces(out, (usize::try_from(depth).unwrap_or(0) * 2).min(LINE_MAX));
}

/// trace_find_mark: strictly above 1 s `$`, 100 ms `@`, 10 ms `*`,
/// 1 ms `#`, 100 us `!`, 10 us `+`; with the mark's index into
/// [`Theme::dur`] (0: no mark).
fn mark(ns: u64) -> (Option<u8>, usize) {
    const MARKS: [(u64, u8); 6] = [
        (1_000_000_000, b'$'),
        (100_000_000, b'@'),
        (10_000_000, b'*'),
        (1_000_000, b'#'),
        (100_000, b'!'),
        (10_000, b'+'),
    ];
    match MARKS.iter().position(|(limit, _)| ns > *limit) {
        Some(i) => (Some(MARKS[i].1), MARKS.len() - i),
        None => (None, 0),
    }
}

/// trace_print_graph_duration's number: microseconds with the nanoseconds
/// cut so that it has at most 7 digits (`1.382`, `33998.59`, `3594274`).
/// Gives the padding that follows ` us` (to 8 characters).
#[inline]
fn write_duration_number(ns: u64, out: &mut Vec<u8>) -> usize {
    let (us, rem) = (ns / 1000, ns % 1000);
    let n = digits::len(us);
    let mut buf = [b'0'; 24];
    let mut v = us;
    for d in buf[..n].iter_mut().rev() {
        *d = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let mut len = n;
    if n < 7 {
        // snprintf of "%03lu" into min(5, 8 - n) bytes: 7 - n digits at most.
        buf[n] = b'.';
        let frac = [rem / 100, rem / 10 % 10, rem % 10];
        let f = (7 - n).min(3);
        for (d, v) in buf[n + 1..n + 1 + f].iter_mut().zip(frac) {
            *d = b'0' + v as u8;
        }
        len = n + 1 + f;
    }
    let at = out.len();
    out.extend_from_slice(&buf);
    out.truncate(at + len);
    8usize.saturating_sub(len)
}

/// trace_print_lat_fmt: irqs-off, need-resched, hardirq/softirq, and the
/// preempt and migrate-disable depths.
fn lat_flags(c: &Common, out: &mut Vec<u8>) {
    const IRQS_OFF: u8 = 0x01;
    const IRQS_NOSUPPORT: u8 = 0x02;
    const NEED_RESCHED: u8 = 0x04;
    const HARDIRQ: u8 = 0x08;
    const SOFTIRQ: u8 = 0x10;
    const PREEMPT_RESCHED: u8 = 0x20;
    const NMI: u8 = 0x40;
    const BH_OFF: u8 = 0x80;
    let f = c.flags;
    let has = |bit: u8| f & bit != 0;
    out.push(match (has(IRQS_OFF), has(BH_OFF)) {
        (true, true) => b'D',
        (true, false) => b'd',
        (false, true) => b'b',
        _ if has(IRQS_NOSUPPORT) => b'X',
        _ => b'.',
    });
    out.push(match (has(NEED_RESCHED), has(PREEMPT_RESCHED)) {
        (true, true) => b'N',
        (true, false) => b'n',
        (false, true) => b'p',
        _ => b'.',
    });
    out.push(match (has(NMI), has(HARDIRQ), has(SOFTIRQ)) {
        (true, true, _) => b'Z',
        (true, false, _) => b'z',
        (false, true, true) => b'H',
        (false, true, false) => b'h',
        (false, false, true) => b's',
        _ => b'.',
    });
    let pc = c.preempt_count;
    for nibble in [pc & 0xf, pc >> 4] {
        match nibble {
            0 => out.push(b'.'),
            n => {
                let _ = write!(out, "{n:x}");
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn duration(ns: u64) -> String {
        let mut out = Vec::new();
        let pad = write_duration_number(ns, &mut out);
        out.extend_from_slice(b" us ");
        out.resize(out.len() + pad, b' ');
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn durations_keep_seven_digits() {
        assert_eq!(duration(1_382), "1.382 us    ");
        assert_eq!(duration(1_837_709), "1837.709 us ");
        assert_eq!(duration(33_998_590), "33998.59 us ");
        assert_eq!(duration(119_760_200), "119760.2 us ");
        assert_eq!(duration(3_594_274_000), "3594274 us  ");
        assert_eq!(duration(12_345_678_000), "12345678 us ");
        assert_eq!(duration(5), "0.005 us    ");
        assert_eq!(
            (decimal_len(0), decimal_len(-12), decimal_len(32768)),
            (1, 3, 5)
        );
    }

    #[test]
    fn marks_are_strictly_above_their_limit() {
        assert_eq!(mark(10_000), (None, 0));
        assert_eq!(mark(10_001), (Some(b'+'), 1));
        assert_eq!(mark(100_001), (Some(b'!'), 2));
        assert_eq!(mark(1_000_001), (Some(b'#'), 3));
        assert_eq!(mark(10_000_001), (Some(b'*'), 4));
        assert_eq!(mark(100_000_001), (Some(b'@'), 5));
        assert_eq!(mark(1_000_000_001), (Some(b'$'), 6));
    }

    #[test]
    fn latency_flags() {
        let mut out = Vec::new();
        let c = |flags, preempt_count| Common {
            kind: 0,
            flags,
            preempt_count,
            pid: 1,
        };
        lat_flags(&c(0, 0x01), &mut out);
        lat_flags(&c(0x01 | 0x04 | 0x08, 0x21), &mut out);
        lat_flags(&c(0x80 | 0x24 | 0x10, 0), &mut out);
        assert_eq!(out, b"...1.dnh12bNs..");
    }

    #[test]
    fn options_and_release() {
        let o = Options::from_trace_options("nofuncgraph-cpu\nfuncgraph-tail\nbogus\n");
        assert!(!o.cpu && o.tail && o.duration);
        assert_eq!(
            RetvalStyle::for_release("6.12.117+deb13-amd64"),
            RetvalStyle::Equals
        );
        assert_eq!(RetvalStyle::for_release("6.13.0"), RetvalStyle::Ret);
        assert_eq!(RetvalStyle::for_release("7.1.0-rc2"), RetvalStyle::Ret);
    }

    #[test]
    fn cmdlines_like_trace_find_cmdline() {
        let c = Cmdlines::parse("148 sh\n97 kworker/0:1 x\n");
        assert_eq!(c.comm(0), "<idle>");
        assert_eq!(c.comm(148), "sh");
        assert_eq!(c.comm(97), "kworker/0:1 x");
        assert_eq!(c.comm(5), "<...>");
    }
}
