//! Colors, for every renderer. A theme is a set of SGR prefixes; "no color"
//! is the theme whose prefixes are all empty, so color can only ever add
//! escape sequences. Basic colors, bold and dim only: readable on dark and
//! light terminals.

use crate::cli::ColorChoice;

/// SGR reset.
pub const RESET: &str = "\x1b[0m";

const BOLD: &str = "\x1b[1m";
const DIM: &str = "\x1b[2m";
const RED: &str = "\x1b[31m";
const GREEN: &str = "\x1b[32m";
const YELLOW: &str = "\x1b[33m";
const MAGENTA: &str = "\x1b[35m";
const CYAN: &str = "\x1b[36m";
const BOLD_RED: &str = "\x1b[1;31m";
const BOLD_YELLOW: &str = "\x1b[1;33m";
const BOLD_BLUE: &str = "\x1b[1;34m";
const BOLD_MAGENTA: &str = "\x1b[1;35m";

/// A set of styles, each an SGR prefix. The empty string means "unstyled";
/// [`Theme::plain`] is all-empty.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Theme {
    /// funcgraph-abstime column.
    pub time: &'static str,
    /// cpu number.
    pub cpu: &'static str,
    /// `comm-pid` in the proc column.
    pub task: &'static str,
    /// latency flags.
    pub lat: &'static str,
    /// Duration number (and its mark) by delay mark: none, `+`, `!`, `#`, `*`, `@`, `$`.
    pub dur: [&'static str; 7],
    /// The `us` unit.
    pub unit: &'static str,
    /// Function name of entries and leaves.
    pub func: &'static str,
    /// `%ps` module tag `[mod]`.
    pub module: &'static str,
    /// `(args)`.
    pub args: &'static str,
    /// `{`, `}`, `;`.
    pub brace: &'static str,
    /// Tail comment of a function line: `/* f */`, `/* <-caller+0x1/0x2 */`.
    pub tail: &'static str,
    /// A non-error return value inside a tail comment.
    pub retval: &'static str,
    /// A return value that is an errno (-4095..-1).
    pub errno: &'static str,
    /// Event / trace_marker / trace_printk comments.
    pub event: &'static str,
    /// `# ...` header lines.
    pub header: &'static str,
    /// ` -------` lines around a context switch.
    pub rule: &'static str,
    /// ` 2)   wc-457   =>   ls-436`
    pub switch: &'static str,
    /// `CPU:3 [LOST 1885 EVENTS]`
    pub lost: &'static str,
    /// ` (Overruns: N)` with N > 0 (N = 0 uses `rule`).
    pub overrun: &'static str,
    /// `==========>` / `<==========`
    pub irq: &'static str,
    /// Syscall lines: durations of 10 us and more, and of 1 ms and more.
    pub medium: &'static str,
    pub slow: &'static str,
    /// Syscall summary headings.
    pub heading: &'static str,
    /// Half-seen calls (`[continued]`, unfinished).
    pub dim: &'static str,
    /// Any style above is set (checked on every line: one bool, not 24 strings).
    colored: bool,
}

impl Theme {
    /// Colors for dark and light terminals: bold, dim and the basic colors only.
    pub const fn color() -> Theme {
        Theme {
            time: "",
            cpu: "",
            task: "",
            lat: DIM,
            dur: ["", GREEN, YELLOW, BOLD_YELLOW, RED, BOLD_RED, BOLD_MAGENTA],
            unit: DIM,
            func: BOLD,
            module: DIM,
            args: "",
            brace: DIM,
            tail: DIM,
            retval: "",
            errno: BOLD_RED,
            event: CYAN,
            header: DIM,
            rule: DIM,
            switch: BOLD_BLUE,
            lost: BOLD_RED,
            overrun: RED,
            irq: MAGENTA,
            medium: YELLOW,
            slow: RED,
            heading: BOLD,
            dim: DIM,
            colored: true,
        }
    }

    /// No color: output equals input.
    pub const fn plain() -> Theme {
        Theme {
            time: "",
            cpu: "",
            task: "",
            lat: "",
            dur: [""; 7],
            unit: "",
            func: "",
            module: "",
            args: "",
            brace: "",
            tail: "",
            retval: "",
            errno: "",
            event: "",
            header: "",
            rule: "",
            switch: "",
            lost: "",
            overrun: "",
            irq: "",
            medium: "",
            slow: "",
            heading: "",
            dim: "",
            colored: false,
        }
    }

    /// True if every style is empty (then rendering is a plain copy).
    /// The theme with no styles: output is exactly the text.
    pub fn is_plain(&self) -> bool {
        !self.colored
    }

    pub fn new(color: bool) -> Theme {
        if color {
            Theme::color()
        } else {
            Theme::plain()
        }
    }

    /// Appends `text` in `style`, resetting after it when there is a style.
    pub fn paint(&self, out: &mut Vec<u8>, style: &str, text: &[u8]) {
        if style.is_empty() {
            out.extend_from_slice(text);
        } else {
            out.extend_from_slice(style.as_bytes());
            out.extend_from_slice(text);
            out.extend_from_slice(RESET.as_bytes());
        }
    }
}

impl Default for Theme {
    fn default() -> Theme {
        Theme::plain()
    }
}

/// Decides color for output going to stdout (`to_file` false) or a file:
/// `--color`, then `NO_COLOR`, then `CLICOLOR_FORCE`, then whether stdout is
/// a terminal. Decided before a pager takes stdout.
pub fn wants_color(choice: ColorChoice, to_file: bool) -> bool {
    match choice {
        ColorChoice::Always => true,
        ColorChoice::Never => false,
        ColorChoice::Auto => {
            let set =
                |name: &str| std::env::var_os(name).is_some_and(|v| !v.is_empty() && v != "0");
            if to_file || set("NO_COLOR") {
                false
            } else if set("CLICOLOR_FORCE") {
                true
            } else {
                std::io::IsTerminal::is_terminal(&std::io::stdout())
                    && std::env::var("TERM").map_or(true, |t| t != "dumb")
            }
        }
    }
}
