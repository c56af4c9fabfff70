//! Colors. A theme is a set of SGR prefixes; "no color" is the theme whose
//! prefixes are all empty, so color can only ever add escape sequences.

use owo_colors::Style;

use crate::cli::ColorChoice;

pub const RESET: &str = "\x1b[0m";

#[derive(Debug, Clone, Default)]
pub struct Theme {
    pub name: String,
    pub dim: String,
    pub slow: String,
    pub medium: String,
    pub error: String,
    pub lost: String,
    pub header: String,
}

impl Theme {
    pub fn plain() -> Theme {
        Theme::default()
    }

    /// Basic colors, bold and dim only: readable on dark and light terminals.
    pub fn color() -> Theme {
        let sgr = |s: Style| s.prefix_formatter().to_string();
        Theme {
            name: sgr(Style::new().bold()),
            dim: sgr(Style::new().dimmed()),
            slow: sgr(Style::new().red()),
            medium: sgr(Style::new().yellow()),
            error: sgr(Style::new().red()),
            lost: sgr(Style::new().red().bold()),
            header: sgr(Style::new().bold()),
        }
    }

    pub fn is_plain(&self) -> bool {
        self.name.is_empty()
    }

    pub fn new(enabled: bool) -> Theme {
        if enabled {
            Theme::color()
        } else {
            Theme::plain()
        }
    }

    /// Appends `text` in `style`, resetting after it when color is on.
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
