//! ftr: one-command Linux kernel tracing that always puts tracefs back.
//!
//! The layers, lowest first (a module imports only from its own layer or
//! below):
//! - `error`: typed errors and exit codes;
//! - `kernel`: tracefs, the session (its only writer), journal, repair,
//!   guardian; event formats and BTF;
//! - `source`: ring-buffer pages, the reader, the merge by time, captures,
//!   symbols;
//! - `present`: output (stdout, file, pager), theme, histograms, digits,
//!   errno names;
//! - `run`: the one run sequence every tracing mode plugs into;
//! - `modes`: trace, graph (with latency and profile), noise, report, list;
//! - `cli`: the command line, parsed into the modes' arguments.

pub mod cli;
pub mod error;
pub mod kernel;
pub mod modes;
pub mod present;
pub mod run;
pub mod source;
