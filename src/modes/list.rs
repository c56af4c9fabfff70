//! `ftr list`: what this kernel can trace.

use std::io::Write;

use crate::cli::ListWhat;
use crate::error::Result;
use crate::kernel::tracefs::Tracefs;
use crate::modes::graph;
use crate::modes::trace::table;
use crate::present::names;

pub fn run(what: ListWhat, glob: Option<&str>) -> Result<i32> {
    let tracefs = Tracefs::open()?;
    let result = list(&tracefs, what, glob);
    tracefs.unmount_if_ours();
    result
}

fn list(tracefs: &Tracefs, what: ListWhat, glob: Option<&str>) -> Result<i32> {
    let items: Vec<String> = match what {
        ListWhat::Syscalls => {
            let available = table::available(tracefs)?;
            let classes = table::class_lines(&available);
            available.into_iter().chain(classes).collect()
        }
        ListWhat::Events => tracefs
            .read("available_events")?
            .lines()
            .map(String::from)
            .collect(),
        ListWhat::Tracers => tracefs
            .read("available_tracers")?
            .split_whitespace()
            .map(String::from)
            .collect(),
        ListWhat::Functions => graph::traceable_functions(tracefs)?,
    };
    let mut out = Vec::new();
    for item in items
        .iter()
        .filter(|i| glob.is_none_or(|g| names::glob(g, i)))
    {
        out.extend_from_slice(item.as_bytes());
        out.push(b'\n');
    }
    // A closed pipe (`| head`) just means the reader has enough.
    let _ = std::io::stdout().lock().write_all(&out);
    Ok(0)
}
