//! ftr: one-command Linux kernel tracing that always puts tracefs back.
//!
//! main parses the command line, runs the mode, and maps the result to an
//! exit code; everything else lives in one module per concern.

mod btf;
mod capture;
mod cli;
mod collector;
mod detach;
mod digits;
mod errno;
mod error;
mod format;
mod graph;
mod guardian;
mod hist;
mod journal;
mod kallsyms;
mod list;
mod mapped;
mod names;
mod newfile;
mod noise;
mod output;
mod reader;
mod repair;
mod ringbuf;
mod run;
mod session;
mod signals;
mod style;
mod syscalls;
mod tracefs;
mod workload;

use std::io::Write;

use cli::Command;
use error::Result;

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
        Command::Trace(args) => syscalls::run(args),
        Command::Noise(args) => noise::run(args),
        Command::Graph(args) => graph::run(*args),
        Command::Report(args) => graph::report(args),
        Command::List { what, glob } => list::run(what, glob.as_deref()),
        Command::Reset => {
            // Restores under way first (a killed ftr's guardian may still be
            // at it): once reset returns, tracefs is as it was.
            let mut said = repair::settle(repair::Wait::All);
            let tracefs = tracefs::Tracefs::open()?;
            said.extend(repair::repair_stale(&tracefs));
            tracefs.unmount_if_ours();
            for line in said {
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
