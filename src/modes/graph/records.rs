//! The records function_graph mode reads from the ring buffer, decoded with
//! the layouts the running kernel's `format` files give. Pure: the format
//! files are read once into [`Layouts`]; each record is then a few loads at
//! known offsets, with no allocation.
//!
//! Layouts differ between kernels, and the format files say how:
//! `funcgraph_exit` has `overrun` as `unsigned long` on 6.1 and later as
//! `unsigned int`, gains `retval` with CONFIG_FUNCTION_GRAPH_RETVAL (6.5+),
//! and moves `calltime`/`rettime` out of the packed `ftrace_graph_ret`
//! (6.14+); `fgraph_retaddr_entry` exists with CONFIG_FUNCTION_GRAPH_RETADDR
//! (6.13+); `funcgraph_entry` may carry `args[]` (funcgraph-args, 6.15+):
//! the kernel records them only while that option is on, so their presence
//! is a matter of each record's length, as in the kernel's printer.

use crate::kernel::format::{read_int, Field, Format};

/// `struct trace_entry`, the head of every record: its layout has been
/// fixed since 2.6.x (`type:u16 flags:u8 preempt_count:u8 pid:i32`), which
/// is why it is read at constant offsets rather than from the format files.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Common {
    pub kind: u16,
    pub flags: u8,
    pub preempt_count: u8,
    pub pid: i32,
}

const COMMON_SIZE: usize = 8;
/// The kernel's FTRACE_REGS_MAX_ARGS: an entry with args has this many.
pub const MAX_ARGS: usize = 6;

impl Common {
    fn read(data: &[u8]) -> Option<Common> {
        let head = data.get(..COMMON_SIZE)?;
        Some(Common {
            kind: u16::from_le_bytes([head[0], head[1]]),
            flags: head[2],
            preempt_count: head[3],
            pid: i32::from_le_bytes([head[4], head[5], head[6], head[7]]),
        })
    }
}

/// A function's entry (`funcgraph_entry` or `fgraph_retaddr_entry`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Entry<'a> {
    pub func: u64,
    pub depth: i32,
    /// Where the function returns to (funcgraph-retaddr).
    pub retaddr: Option<u64>,
    /// The raw argument words (funcgraph-args), `MAX_ARGS` of them.
    pub args: Option<&'a [u8]>,
}

/// A function's return (`funcgraph_exit`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Exit {
    pub func: u64,
    pub depth: i32,
    pub overrun: u64,
    pub calltime: u64,
    pub rettime: u64,
    /// The return value, on kernels built with CONFIG_FUNCTION_GRAPH_RETVAL.
    pub retval: Option<u64>,
}

/// What a record says, by event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Body<'a> {
    Entry(Entry<'a>),
    Exit(Exit),
    /// The function tracer's record; with func-args (6.15+), the raw
    /// argument words too, `MAX_ARGS` of them.
    Function {
        ip: u64,
        parent_ip: u64,
        args: Option<&'a [u8]>,
    },
    /// A `trace_marker` write (or `trace_puts`): the text, up to its NUL.
    Print {
        ip: u64,
        text: &'a [u8],
    },
    /// `trace_printk` with a format: the format's address and the packed
    /// arguments (`vbin_printf`'s layout).
    Bprint {
        ip: u64,
        fmt: u64,
        args: &'a [u8],
    },
    /// Any other event, with its layout and the whole record.
    Other {
        format: &'a Format,
        data: &'a [u8],
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Record<'a> {
    pub common: Common,
    pub body: Body<'a>,
}

#[derive(Debug, Clone)]
struct EntryLayout {
    id: u16,
    func: Field,
    depth: Field,
    retaddr: Option<Field>,
    args: Option<usize>,
}

#[derive(Debug, Clone)]
struct ExitLayout {
    id: u16,
    func: Field,
    depth: Field,
    overrun: Field,
    calltime: Field,
    rettime: Field,
    retval: Option<Field>,
}

/// The ftrace events with two fixed-meaning fields (`ip` and one more).
#[derive(Debug, Clone)]
struct PairLayout {
    id: u16,
    first: Field,
    second: Field,
}

/// Every layout graph mode decodes, looked up by the record's type.
#[derive(Debug, Default, Clone)]
pub struct Layouts {
    entry: Option<EntryLayout>,
    retaddr_entry: Option<EntryLayout>,
    exit: Option<ExitLayout>,
    function: Option<PairLayout>,
    /// Where a function record's `args[]` start, when its format has them.
    function_args: Option<usize>,
    print: Option<PairLayout>,
    bprint: Option<(PairLayout, usize)>,
    /// Other events, sorted by id.
    others: Vec<Format>,
}

impl Layouts {
    /// Takes the parsed format files of every event that may be in the
    /// buffer. Events whose format lacks a field the decoder needs are kept
    /// as [`Body::Other`].
    pub fn new(formats: Vec<Format>) -> Layouts {
        let mut l = Layouts::default();
        for f in formats {
            let known = match f.name.as_str() {
                "funcgraph_entry" => entry_layout(&f).map(|e| l.entry = Some(e)),
                "fgraph_retaddr_entry" => entry_layout(&f).map(|e| l.retaddr_entry = Some(e)),
                "funcgraph_exit" => exit_layout(&f).map(|e| l.exit = Some(e)),
                "function" => pair_layout(&f, "ip", "parent_ip").map(|p| {
                    l.function_args = f.field("args").map(|a| a.offset);
                    l.function = Some(p)
                }),
                "print" => pair_layout(&f, "ip", "buf").map(|p| l.print = Some(p)),
                "bprint" => pair_layout(&f, "ip", "fmt")
                    .zip(f.field("buf").map(|b| b.offset))
                    .map(|b| l.bprint = Some(b)),
                _ => None,
            };
            if known.is_none() {
                l.others.push(f);
            }
        }
        l.others.sort_by_key(|f| f.id);
        l
    }

    /// The formats of the events that are not ftrace's own.
    pub fn others(&self) -> &[Format] {
        &self.others
    }

    /// Decodes one record (common fields first); `None` if it is too short
    /// for its layout or of a type no format file described.
    /// Whether `data` is a function entry, from its type alone: the
    /// printer's look-ahead asks this of every record before decoding it.
    pub fn is_entry(&self, data: &[u8]) -> bool {
        let Some(&[lo, hi]) = data.get(..2) else {
            return false;
        };
        let id = Some(u16::from_le_bytes([lo, hi]));
        id == self.entry.as_ref().map(|e| e.id) || id == self.retaddr_entry.as_ref().map(|e| e.id)
    }

    /// Whether `data` is a function exit, from its type alone.
    pub fn is_exit(&self, data: &[u8]) -> bool {
        let Some(&[lo, hi]) = data.get(..2) else {
            return false;
        };
        Some(u16::from_le_bytes([lo, hi])) == self.exit.as_ref().map(|e| e.id)
    }

    pub fn decode<'a>(&'a self, data: &'a [u8]) -> Option<Record<'a>> {
        let common = Common::read(data)?;
        let id = Some(common.kind);
        let body = if id == self.entry.as_ref().map(|e| e.id) {
            Body::Entry(decode_entry(self.entry.as_ref()?, data)?)
        } else if id == self.exit.as_ref().map(|e| e.id) {
            Body::Exit(decode_exit(self.exit.as_ref()?, data)?)
        } else if id == self.retaddr_entry.as_ref().map(|e| e.id) {
            Body::Entry(decode_entry(self.retaddr_entry.as_ref()?, data)?)
        } else if id == self.function.as_ref().map(|f| f.id) {
            let f = self.function.as_ref()?;
            Body::Function {
                ip: read_u64(data, &f.first)?,
                parent_ip: read_u64(data, &f.second)?,
                // As in the graph's entries: there if the record holds them.
                args: self
                    .function_args
                    .and_then(|at| data.get(at..at + MAX_ARGS * 8)),
            }
        } else if id == self.print.as_ref().map(|p| p.id) {
            let p = self.print.as_ref()?;
            Body::Print {
                ip: read_u64(data, &p.first)?,
                text: until_nul(data.get(p.second.offset..)?),
            }
        } else if id == self.bprint.as_ref().map(|(b, _)| b.id) {
            let (b, buf) = self.bprint.as_ref()?;
            Body::Bprint {
                ip: read_u64(data, &b.first)?,
                fmt: read_u64(data, &b.second)?,
                args: data.get(*buf..)?,
            }
        } else {
            let at = self
                .others
                .binary_search_by_key(&common.kind, |f| f.id)
                .ok()?;
            Body::Other {
                format: &self.others[at],
                data,
            }
        };
        Some(Record { common, body })
    }
}

fn entry_layout(f: &Format) -> Option<EntryLayout> {
    Some(EntryLayout {
        id: f.id,
        func: f.field("func")?.clone(),
        depth: f.field("depth")?.clone(),
        retaddr: f.field("retaddr").cloned(),
        args: f.field("args").map(|a| a.offset),
    })
}

fn exit_layout(f: &Format) -> Option<ExitLayout> {
    Some(ExitLayout {
        id: f.id,
        func: f.field("func")?.clone(),
        depth: f.field("depth")?.clone(),
        overrun: f.field("overrun")?.clone(),
        calltime: f.field("calltime")?.clone(),
        rettime: f.field("rettime")?.clone(),
        retval: f.field("retval").cloned(),
    })
}

fn pair_layout(f: &Format, first: &str, second: &str) -> Option<PairLayout> {
    Some(PairLayout {
        id: f.id,
        first: f.field(first)?.clone(),
        second: f.field(second)?.clone(),
    })
}

fn decode_entry<'a>(l: &EntryLayout, data: &'a [u8]) -> Option<Entry<'a>> {
    let retaddr = match &l.retaddr {
        Some(f) => Some(read_u64(data, f)?),
        None => None,
    };
    // Args are there only if the record is long enough to hold all of them
    // (after the return address in a retaddr entry, as FGRAPH_ENTRY_ARGS
    // finds them).
    let args = l.args.and_then(|at| data.get(at..at + MAX_ARGS * 8));
    Some(Entry {
        func: read_u64(data, &l.func)?,
        depth: read_int(data, &l.depth)? as i32,
        retaddr,
        args,
    })
}

fn decode_exit(l: &ExitLayout, data: &[u8]) -> Option<Exit> {
    let retval = match &l.retval {
        Some(f) => Some(read_u64(data, f)?),
        None => None,
    };
    Some(Exit {
        func: read_u64(data, &l.func)?,
        depth: read_int(data, &l.depth)? as i32,
        overrun: read_u64(data, &l.overrun)?,
        calltime: read_u64(data, &l.calltime)?,
        rettime: read_u64(data, &l.rettime)?,
        retval,
    })
}

/// An unsigned field of any size, zero-extended.
fn read_u64(data: &[u8], f: &Field) -> Option<u64> {
    let v = read_int(data, f)?;
    Some(match f.size {
        1 => v as u8 as u64,
        2 => v as u16 as u64,
        4 => v as u32 as u64,
        _ => v as u64,
    })
}

pub fn until_nul(b: &[u8]) -> &[u8] {
    &b[..b.iter().position(|&c| c == 0).unwrap_or(b.len())]
}

#[cfg(test)]
pub mod tests {
    use super::*;

    /// The 6.1 format files of the graph records, as the kernel prints them.
    pub const ENTRY_6_1: &str = "name: funcgraph_entry\nID: 11\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n\
\tfield:int depth;\toffset:16;\tsize:4;\tsigned:1;\n";
    pub const EXIT_6_1: &str = "name: funcgraph_exit\nID: 10\nformat:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n\
\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n\
\tfield:unsigned long overrun;\toffset:16;\tsize:8;\tsigned:0;\n\
\tfield:unsigned long long calltime;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:unsigned long long rettime;\toffset:32;\tsize:8;\tsigned:0;\n\
\tfield:int depth;\toffset:40;\tsize:4;\tsigned:1;\n";

    pub fn common(kind: u16, pid: i32) -> Vec<u8> {
        let mut r = kind.to_le_bytes().to_vec();
        r.extend([0, 0]);
        r.extend(pid.to_le_bytes());
        r
    }

    #[test]
    fn decodes_entry_and_exit_by_their_format() {
        let formats = [ENTRY_6_1, EXIT_6_1].map(|t| Format::parse(t).unwrap());
        let l = Layouts::new(formats.to_vec());
        let mut e = common(11, 42);
        e.extend(0xffff_ffff_8100_1000u64.to_le_bytes());
        e.extend(3i32.to_le_bytes());
        let r = l.decode(&e).unwrap();
        assert_eq!(r.common.pid, 42);
        assert_eq!(
            r.body,
            Body::Entry(Entry {
                func: 0xffff_ffff_8100_1000,
                depth: 3,
                retaddr: None,
                args: None
            })
        );
        let mut x = common(10, 42);
        for v in [0xffff_ffff_8100_1000u64, 0, 100, 250] {
            x.extend(v.to_le_bytes());
        }
        x.extend(3i32.to_le_bytes());
        let Some(Record {
            body: Body::Exit(exit),
            ..
        }) = l.decode(&x)
        else {
            panic!("not an exit");
        };
        assert_eq!((exit.depth, exit.rettime - exit.calltime), (3, 150));
        assert_eq!(l.decode(&x[..20]), None, "short records do not decode");
        assert_eq!(l.decode(&common(99, 1)), None, "unknown types do not");
    }
}
