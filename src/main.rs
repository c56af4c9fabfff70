//! ftr: one-command Linux kernel tracing that always puts tracefs back.
//!
//! main parses the command line, runs the mode, and maps the result to an
//! exit code; everything else lives in the library (`lib.rs` names its
//! layers).

use std::io::Write;

use ftr::cli::{self, Command};
use ftr::error::{self, Result};
use ftr::kernel::repair;
use ftr::modes::{graph, list, noise, trace};

fn main() {
    let args: Vec<std::ffi::OsString> = std::env::args_os().skip(1).collect();
    let code = match run(args) {
        Ok(code) => code,
        Err(e) => {
            error::warn(&e);
            e.exit_code()
        }
    };
    std::process::exit(code);
}

fn run(args: Vec<std::ffi::OsString>) -> Result<i32> {
    match cli::parse(args)? {
        Command::Help => {
            print_stdout(cli::USAGE);
            Ok(0)
        }
        Command::Version => {
            print_stdout(&format!("ftr {}\n", env!("CARGO_PKG_VERSION")));
            Ok(0)
        }
        Command::Trace(args) => trace::run(args),
        Command::Noise(args) => noise::run(args),
        Command::Graph(args) => graph::run(*args),
        Command::Report(args) => graph::report(args),
        Command::List { what, glob } => list::run(what, glob.as_deref()),
        Command::Reset => {
            for line in repair::reset()? {
                print_stdout(&format!("{line}\n"));
            }
            Ok(0)
        }
    }
}

/// Writes to stdout; a closed pipe (`ftr --help | head -1`) is not an error.
fn print_stdout(text: &str) {
    let _ = std::io::stdout().lock().write_all(text.as_bytes());
}
