//! The text of events other than the graph's own records: what the kernel
//! puts inside `/* ... */` in a graph, or after the context columns with
//! the function tracer. Pure: records in, bytes out.
//!
//! The kernel prints an event with its `print fmt`, a C expression. ftr
//! does not interpret those: it carries the exact formats of the events
//! graph mode shows most (sched_switch, sched_wakeup*, sched_process_*,
//! sched_migrate_task), checked against the kernels' TP_printk; any other
//! event prints as `name: field=value ...` with every field of its format
//! (decimal, or hex for unsigned 8-byte fields, strings as text), which is
//! the kernel's content but not always its exact wording.

use std::io::Write;

use crate::kernel::format::{read_int, read_str, Field, Format};

/// How one field of a known event prints.
#[derive(Debug, Clone, Copy)]
enum Kind {
    /// `%s` of a `char[]` or `__data_loc char[]`.
    Str,
    /// `%d`.
    Dec,
    /// `%03d` (sched_wakeup's target_cpu).
    Cpu,
    /// sched_switch's `prev_state`: `__print_flags` of the task state.
    TaskState,
    /// `%s` of `x ? "true" : "false"`.
    Bool,
}

/// A known print format: (text before the field, the field, how it prints).
type Spec = &'static [(&'static str, &'static str, Kind)];

/// The known print formats, by event name; of several for one name, the
/// first whose fields the event has (kernels add fields).
const KNOWN: &[(&str, Spec)] = &[
    (
        "sched_switch",
        &[
            ("prev_comm=", "prev_comm", Kind::Str),
            (" prev_pid=", "prev_pid", Kind::Dec),
            (" prev_prio=", "prev_prio", Kind::Dec),
            (" prev_state=", "prev_state", Kind::TaskState),
            (" ==> next_comm=", "next_comm", Kind::Str),
            (" next_pid=", "next_pid", Kind::Dec),
            (" next_prio=", "next_prio", Kind::Dec),
        ],
    ),
    ("sched_wakeup", WAKEUP),
    ("sched_wakeup_new", WAKEUP),
    ("sched_waking", WAKEUP),
    (
        "sched_process_fork",
        &[
            ("comm=", "parent_comm", Kind::Str),
            (" pid=", "parent_pid", Kind::Dec),
            (" child_comm=", "child_comm", Kind::Str),
            (" child_pid=", "child_pid", Kind::Dec),
        ],
    ),
    // 6.16+: whether the thread group died with this task.
    (
        "sched_process_exit",
        &[
            ("comm=", "comm", Kind::Str),
            (" pid=", "pid", Kind::Dec),
            (" prio=", "prio", Kind::Dec),
            (" group_dead=", "group_dead", Kind::Bool),
        ],
    ),
    ("sched_process_exit", TASK),
    ("sched_process_free", TASK),
    ("sched_process_wait", TASK),
    (
        "sched_process_exec",
        &[
            ("filename=", "filename", Kind::Str),
            (" pid=", "pid", Kind::Dec),
            (" old_pid=", "old_pid", Kind::Dec),
        ],
    ),
    (
        "sched_migrate_task",
        &[
            ("comm=", "comm", Kind::Str),
            (" pid=", "pid", Kind::Dec),
            (" prio=", "prio", Kind::Dec),
            (" orig_cpu=", "orig_cpu", Kind::Dec),
            (" dest_cpu=", "dest_cpu", Kind::Dec),
        ],
    ),
];

const WAKEUP: Spec = &[
    ("comm=", "comm", Kind::Str),
    (" pid=", "pid", Kind::Dec),
    (" prio=", "prio", Kind::Dec),
    (" target_cpu=", "target_cpu", Kind::Cpu),
];
const TASK: Spec = &[
    ("comm=", "comm", Kind::Str),
    (" pid=", "pid", Kind::Dec),
    (" prio=", "prio", Kind::Dec),
];

/// sched_switch's `prev_state` letters, in `__print_flags` order, for the
/// bits of TASK_REPORT (0x7f) and TASK_REPORT_IDLE (0x80); TASK_REPORT_MAX
/// (0x100) means preempted while runnable and prints `+`.
const TASK_STATES: [(i64, &str); 8] = [
    (0x01, "S"),
    (0x02, "D"),
    (0x04, "T"),
    (0x08, "t"),
    (0x10, "X"),
    (0x20, "Z"),
    (0x40, "P"),
    (0x80, "I"),
];
const TASK_STATE_MASK: i64 = 0xff;
const TASK_PREEMPTED: i64 = 0x100;

/// One event's printer, resolved once from its format.
#[derive(Debug)]
struct Printer {
    id: u16,
    name: String,
    /// The known format's pieces, or every field for the generic form.
    pieces: Vec<(&'static str, Field, Option<Kind>)>,
}

/// Printers for every event of a buffer, by id.
#[derive(Debug, Default)]
pub struct EventText {
    printers: Vec<Printer>,
}

impl EventText {
    pub fn new<'a>(formats: impl IntoIterator<Item = &'a Format>) -> EventText {
        let mut printers: Vec<Printer> = formats.into_iter().map(printer).collect();
        printers.sort_by_key(|p| p.id);
        EventText { printers }
    }

    /// Appends `name: text` for the record `data` of event `format`, as the
    /// kernel's trace_raw_output does (without the final newline).
    pub fn write(&self, out: &mut Vec<u8>, format: &Format, data: &[u8]) {
        let Ok(at) = self.printers.binary_search_by_key(&format.id, |p| p.id) else {
            return generic(out, format, data);
        };
        let p = &self.printers[at];
        out.extend_from_slice(p.name.as_bytes());
        out.extend_from_slice(b": ");
        for (i, (before, field, kind)) in p.pieces.iter().enumerate() {
            match kind {
                Some(kind) => {
                    out.extend_from_slice(before.as_bytes());
                    value(out, data, field, *kind);
                }
                None => {
                    if i > 0 {
                        out.push(b' ');
                    }
                    generic_field(out, data, field);
                }
            }
        }
    }
}

fn printer(format: &Format) -> Printer {
    let known = KNOWN
        .iter()
        .filter(|(name, _)| *name == format.name)
        .find_map(|(_, spec)| {
            spec.iter()
                .map(|(before, name, kind)| {
                    Some((*before, format.field(name)?.clone(), Some(*kind)))
                })
                .collect::<Option<Vec<_>>>()
        });
    let pieces = known.unwrap_or_else(|| {
        let all = format.fields.iter().map(|f| ("", f.clone(), None));
        all.collect()
    });
    Printer {
        id: format.id,
        name: format.name.clone(),
        pieces,
    }
}

fn value(out: &mut Vec<u8>, data: &[u8], field: &Field, kind: Kind) {
    let int = || read_int(data, field).unwrap_or(0);
    // Writing to a Vec cannot fail.
    let _ = match kind {
        Kind::Str => {
            out.extend_from_slice(read_str(data, field).unwrap_or_default());
            Ok(())
        }
        Kind::Dec => write!(out, "{}", int() as i32),
        Kind::Cpu => write!(out, "{:03}", int() as i32),
        Kind::TaskState => {
            task_state(out, int());
            Ok(())
        }
        Kind::Bool => {
            out.extend_from_slice(if int() != 0 { b"true" } else { b"false" });
            Ok(())
        }
    };
}

fn task_state(out: &mut Vec<u8>, state: i64) {
    let mut left = state & TASK_STATE_MASK;
    if left == 0 {
        out.push(b'R');
    }
    let mut first = true;
    for (bit, letter) in TASK_STATES {
        if left & bit == bit && left != 0 {
            if !first {
                out.push(b'|');
            }
            first = false;
            out.extend_from_slice(letter.as_bytes());
            left &= !bit;
        }
    }
    if left != 0 {
        if !first {
            out.push(b'|');
        }
        let _ = write!(out, "{left:#x}");
    }
    if state & TASK_PREEMPTED != 0 {
        out.push(b'+');
    }
}

/// `name: f=v f=v ...` for an event without a known format.
fn generic(out: &mut Vec<u8>, format: &Format, data: &[u8]) {
    out.extend_from_slice(format.name.as_bytes());
    out.extend_from_slice(b": ");
    for (i, field) in format.fields.iter().enumerate() {
        if i > 0 {
            out.push(b' ');
        }
        generic_field(out, data, field);
    }
}

fn generic_field(out: &mut Vec<u8>, data: &[u8], field: &Field) {
    out.extend_from_slice(field.name.as_bytes());
    out.push(b'=');
    let is_str = field.ctype.starts_with("char") || field.ctype.starts_with("__data_loc char");
    if is_str && field.ctype.ends_with("[]") {
        out.extend_from_slice(read_str(data, field).unwrap_or_default());
        return;
    }
    let _ = match read_int(data, field) {
        Some(v) if field.size == 8 && !field.signed => write!(out, "{:#x}", v as u64),
        Some(v) => write!(out, "{v}"),
        None => write!(out, "?"),
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    const SWITCH: &str = "name: sched_switch\nID: 316\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:char prev_comm[16];\toffset:8;\tsize:16;\tsigned:0;\n\
\tfield:pid_t prev_pid;\toffset:24;\tsize:4;\tsigned:1;\n\
\tfield:int prev_prio;\toffset:28;\tsize:4;\tsigned:1;\n\
\tfield:long prev_state;\toffset:32;\tsize:8;\tsigned:1;\n\
\tfield:char next_comm[16];\toffset:40;\tsize:16;\tsigned:0;\n\
\tfield:pid_t next_pid;\toffset:56;\tsize:4;\tsigned:1;\n\
\tfield:int next_prio;\toffset:60;\tsize:4;\tsigned:1;\n";

    fn switch(state: i64) -> String {
        let f = Format::parse(SWITCH).unwrap();
        let mut rec = vec![0u8; 64];
        rec[8..12].copy_from_slice(b"sh\0\0");
        rec[24..28].copy_from_slice(&148i32.to_le_bytes());
        rec[28..32].copy_from_slice(&120i32.to_le_bytes());
        rec[32..40].copy_from_slice(&state.to_le_bytes());
        rec[40..50].copy_from_slice(b"swapper/1\0");
        rec[60..64].copy_from_slice(&120i32.to_le_bytes());
        let mut out = Vec::new();
        EventText::new([&f]).write(&mut out, &f, &rec);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn sched_switch_prints_as_the_kernel_does() {
        assert_eq!(
            switch(1),
            "sched_switch: prev_comm=sh prev_pid=148 prev_prio=120 prev_state=S \
             ==> next_comm=swapper/1 next_pid=0 next_prio=120"
        );
        assert!(switch(0).contains("prev_state=R ==>"));
        assert!(switch(0x100).contains("prev_state=R+ ==>"));
        assert!(switch(0x3).contains("prev_state=S|D ==>"));
        assert!(switch(0x80).contains("prev_state=I ==>"));
    }

    #[test]
    fn unknown_events_print_every_field() {
        let text = SWITCH.replace("sched_switch", "other_event");
        let f = Format::parse(&text).unwrap();
        let mut out = Vec::new();
        EventText::new([&f]).write(&mut out, &f, &[0u8; 64]);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "other_event: prev_comm= prev_pid=0 prev_prio=0 prev_state=0 next_comm= next_pid=0 next_prio=0"
        );
    }
}
