//! The binary capture `ftr -G … -o FILE` writes and `ftr report FILE` reads.
//!
//! The format is trace-cmd's `trace.dat`, version 6 (trace-cmd's
//! Documentation/trace-cmd/trace-cmd.dat.v6.5.txt), so `trace-cmd report`
//! and KernelShark open ftr's captures and ftr opens theirs. Version 6 rather
//! than 7: it is uncompressed and has no section table, every trace-cmd since
//! 1.x reads it, and 7 adds nothing a capture needs. Numbers are in the
//! file's byte order:
//!
//! ```text
//! "\x17\x08\x44tracing" "6\0"  endian (0 little)  long size (u8)  page size (u32)
//! "header_page\0"  u64 size + events/header_page
//! "header_event\0" u64 size + events/header_event
//! u32 count, then u64 size + text per events/ftrace/*/format
//! u32 systems, each: "name\0", u32 count, then u64 size + text per format
//! u32 size + /proc/kallsyms, u32 size + printk_formats, u64 size + saved_cmdlines
//! u32 CPUs, "options  \0", options (u16 id, u32 size, data) up to an id 0
//! "flyrecord\0", per CPU: u64 offset + u64 size of its data; u64 size + "[clock]"
//! per CPU: zeros up to a page boundary, then its ring-buffer pages
//! ```
//!
//! trace-cmd skips option ids it does not know (with a warning: "unknown
//! option"), so ftr's own settings ride in one option of its own.

use std::borrow::Cow;
use std::fs::{self, File, OpenOptions};
use std::io::{self, BufWriter, Read, Seek, SeekFrom, Write};
use std::path::Path;

use crate::present::newfile::NewFile;

/// How a capture starts (and so how `ftr report` tells one from text).
pub const MAGIC: &[u8] = b"\x17\x08\x44tracing";
/// trace-cmd reads the selected clock from this option and, because it is
/// present, the `[clock]` after the CPU table.
const OPTION_TRACECLOCK: u16 = 4;
/// `uname -s -n -r -m`, as `trace-cmd report --uname` shows it.
const OPTION_UNAME: u16 = 5;
/// ftr's key/values: far from trace-cmd's ids (0..=24 in trace-cmd 3.4,
/// numbered in sequence), so a future trace-cmd option will not collide.
const OPTION_FTR: u16 = 0x4654;

/// Everything about a capture except the CPUs' pages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Meta {
    /// The ring buffer's page size: every CPU's data is whole pages of it.
    pub page_size: u32,
    /// Bytes in a `long` of the traced userspace (4 or 8).
    pub long_size: u8,
    pub big_endian: bool,
    /// events/header_page and events/header_event: the page and event header
    /// layouts the pages were written with.
    pub header_page: String,
    pub header_event: String,
    /// events/ftrace/*/format: function graph entries and exits, prints.
    pub ftrace_formats: Vec<String>,
    /// The other event systems' format files.
    pub systems: Vec<System>,
    /// /proc/kallsyms, to name function addresses.
    pub kallsyms: String,
    /// printk_formats: trace_printk() strings kept outside the ring buffer.
    pub printk_formats: String,
    /// saved_cmdlines: `pid comm` lines naming the traced tasks.
    pub saved_cmdlines: String,
    /// The trace clock's name (`local`, `mono`…); empty when unknown.
    pub clock: String,
    /// `sysname nodename release machine`, the layout trace-cmd writes.
    pub uname: String,
    /// ftr's own settings (tracer, trace options, graph options) in order:
    /// a key has no `=`, neither has a newline or NUL.
    pub ftr: Vec<(String, String)>,
}

/// One events/<name>/ directory's format files.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct System {
    pub name: String,
    pub formats: Vec<String>,
}

/// A whole capture, its pages borrowed from the file's bytes where they
/// were read from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Capture<'a> {
    pub meta: Meta,
    /// Per CPU (the index is the CPU number), its pages back to back as read
    /// from per_cpu/cpuN/trace_pipe_raw.
    pub cpu_data: Vec<Cow<'a, [u8]>>,
}

impl Capture<'_> {
    /// Writes the capture as trace.dat version 6 (live ftr streams it with
    /// `CaptureWriter` instead).
    #[cfg(test)]
    pub fn write(&self, out: &mut impl Write) -> io::Result<()> {
        for data in &self.cpu_data {
            whole_pages(self.meta.page_size, data)?;
        }
        let sizes: Vec<u64> = self.cpu_data.iter().map(|d| d.len() as u64).collect();
        assemble(&self.meta, &sizes, out, |cpu, out| {
            out.write_all(&self.cpu_data[cpu])
        })
    }
}

/// Writes a capture while tracing. v6 wants each CPU's data in one piece,
/// after a header that holds every CPU's offset and size and saved_cmdlines
/// (complete only when tracing stops). So pages go to one spool per CPU, an
/// unlinked file next to the output (its file system, and no spool outlives
/// a kill -9), and `finish` writes the header and copies the spools in.
pub struct CaptureWriter {
    /// Named `path` by `finish`, once complete: until then an earlier
    /// capture of that name is untouched.
    out: NewFile,
    meta: Meta,
    spools: Vec<File>,
}

impl CaptureWriter {
    /// Creates the file that becomes `path` and a spool for each of `cpus` CPUs.
    /// `meta.saved_cmdlines` is replaced by `finish`'s.
    pub fn create(path: &Path, meta: Meta, cpus: usize) -> io::Result<CaptureWriter> {
        whole_pages(meta.page_size, &[])?; // the page size is usable
        let out = NewFile::create(path)?;
        let mut spools = Vec::with_capacity(cpus);
        for cpu in 0..cpus {
            let mut name = path.as_os_str().to_owned();
            name.push(format!(".cpu{cpu}"));
            let name = Path::new(&name);
            let spool = OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(name)
                .map_err(|e| at_path(name, e))?;
            fs::remove_file(name).map_err(|e| at_path(name, e))?;
            spools.push(spool);
        }
        Ok(CaptureWriter { out, meta, spools })
    }

    /// Appends whole pages read from `cpu`'s trace_pipe_raw.
    pub fn append_pages(&mut self, cpu: usize, pages: &[u8]) -> io::Result<()> {
        whole_pages(self.meta.page_size, pages)?;
        let n = self.spools.len();
        let spool = self
            .spools
            .get_mut(cpu)
            .ok_or_else(|| invalid(format!("CPU {cpu}: the capture was created for {n} CPUs")))?;
        spool.write_all(pages)
    }

    /// Writes the file: the header with `saved_cmdlines` (read when tracing
    /// stopped, so it names the tasks that ran), then the spooled pages.
    pub fn finish(mut self, saved_cmdlines: String) -> io::Result<()> {
        self.meta.saved_cmdlines = saved_cmdlines;
        let sizes = self
            .spools
            .iter()
            .map(|s| s.metadata().map(|m| m.len()))
            .collect::<io::Result<Vec<u64>>>()?;
        let mut out = BufWriter::new(self.out.file());
        let spools = &mut self.spools;
        assemble(&self.meta, &sizes, &mut out, |cpu, out| {
            let spool = &mut spools[cpu];
            spool.seek(SeekFrom::Start(0))?;
            let copied = io::copy(&mut spool.take(sizes[cpu]), out)?;
            if copied != sizes[cpu] {
                return Err(invalid(format!(
                    "CPU {cpu}: its spool is shorter than it was"
                )));
            }
            Ok(())
        })?;
        out.flush()?;
        drop(out);
        self.out.commit()
    }
}

/// Writes the header, then each CPU's data (from `data`) at its page-aligned
/// offset.
fn assemble<W: Write>(
    meta: &Meta,
    sizes: &[u64],
    out: &mut W,
    mut data: impl FnMut(usize, &mut W) -> io::Result<()>,
) -> io::Result<()> {
    let (head, offsets) = header(meta, sizes)?;
    out.write_all(&head)?;
    let mut at = head.len() as u64;
    for (cpu, (&offset, &size)) in offsets.iter().zip(sizes).enumerate() {
        io::copy(&mut io::repeat(0).take(offset - at), out)?;
        data(cpu, out)?;
        at = offset + size;
    }
    Ok(())
}

/// Everything before the first CPU's data, and where each CPU's data goes.
fn header(meta: &Meta, sizes: &[u64]) -> io::Result<(Vec<u8>, Vec<u64>)> {
    let mut o = Out {
        buf: Vec::new(),
        big: meta.big_endian,
    };
    o.buf.extend(MAGIC);
    o.buf.extend(b"6\0");
    o.buf.push(meta.big_endian as u8);
    o.buf.push(meta.long_size);
    o.num(meta.page_size as u64, 4);
    o.buf.extend(b"header_page\0");
    o.text(8, &meta.header_page, "header_page")?;
    o.buf.extend(b"header_event\0");
    o.text(8, &meta.header_event, "header_event")?;
    o.count(meta.ftrace_formats.len(), "ftrace formats")?;
    for f in &meta.ftrace_formats {
        o.text(8, f, "ftrace format")?;
    }
    o.count(meta.systems.len(), "systems")?;
    for s in &meta.systems {
        if s.name.contains('\0') {
            return Err(invalid(format!("system {:?}: NUL in its name", s.name)));
        }
        o.buf.extend(s.name.as_bytes());
        o.buf.push(0);
        o.count(s.formats.len(), &s.name)?;
        for f in &s.formats {
            o.text(8, f, &s.name)?;
        }
    }
    o.text(4, &meta.kallsyms, "kallsyms")?;
    o.text(4, &meta.printk_formats, "printk formats")?;
    o.text(8, &meta.saved_cmdlines, "saved_cmdlines")?;
    o.count(sizes.len(), "CPUs")?;
    o.buf.extend(b"options  \0");
    let clock = format!("[{}]", meta.clock);
    if !meta.clock.is_empty() {
        o.option(OPTION_TRACECLOCK, &format!("{clock}\0"))?;
    }
    if !meta.uname.is_empty() {
        o.option(OPTION_UNAME, &format!("{}\0", meta.uname))?;
    }
    if !meta.ftr.is_empty() {
        o.option(OPTION_FTR, &ftr_text(&meta.ftr)?)?;
    }
    o.num(0, 2);
    o.buf.extend(b"flyrecord\0");

    let clock_len = if meta.clock.is_empty() {
        0
    } else {
        8 + clock.len()
    };
    let mut at = (o.buf.len() + 16 * sizes.len() + clock_len) as u64;
    let page = meta.page_size as u64;
    let mut offsets = Vec::with_capacity(sizes.len());
    for &size in sizes {
        let offset = at.div_ceil(page) * page;
        o.num(offset, 8);
        o.num(size, 8);
        offsets.push(offset);
        at = offset + size;
    }
    if !meta.clock.is_empty() {
        o.text(8, &clock, "clock")?;
    }
    Ok((o.buf, offsets))
}

/// `key=value` lines.
fn ftr_text(pairs: &[(String, String)]) -> io::Result<String> {
    let mut text = String::new();
    for (key, value) in pairs {
        let bad = |s: &str| s.contains(['\n', '\0']);
        if key.is_empty() || key.contains('=') || bad(key) || bad(value) {
            return Err(invalid(format!(
                "ftr setting {key:?}={value:?}: a key needs no '=', neither a newline or NUL"
            )));
        }
        text.push_str(&format!("{key}={value}\n"));
    }
    Ok(text)
}

struct Out {
    buf: Vec<u8>,
    big: bool,
}

impl Out {
    fn num(&mut self, v: u64, width: usize) {
        let be = v.to_be_bytes();
        let b = &be[8 - width..];
        if self.big {
            self.buf.extend(b);
        } else {
            self.buf.extend(b.iter().rev());
        }
    }

    /// A size of `width` bytes, then the text.
    fn text(&mut self, width: usize, text: &str, part: &str) -> io::Result<()> {
        let len = text.len() as u64;
        if width < 8 && len >> (width * 8) != 0 {
            return Err(invalid(format!("{part}: {len} bytes is too big")));
        }
        self.num(len, width);
        self.buf.extend(text.as_bytes());
        Ok(())
    }

    fn count(&mut self, n: usize, part: &str) -> io::Result<()> {
        let n = u32::try_from(n).map_err(|_| invalid(format!("{part}: {n} is too many")))?;
        self.num(n as u64, 4);
        Ok(())
    }

    fn option(&mut self, id: u16, data: &str) -> io::Result<()> {
        self.num(id as u64, 2);
        self.text(4, data, "option")
    }
}

fn whole_pages(page_size: u32, data: &[u8]) -> io::Result<()> {
    if !page_size.is_power_of_two() {
        return Err(invalid(format!(
            "page size {page_size}: not a power of two"
        )));
    }
    if data.len() % page_size as usize != 0 {
        return Err(invalid(format!(
            "{} bytes of CPU data: not whole {page_size}-byte pages",
            data.len()
        )));
    }
    Ok(())
}

fn invalid(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidInput, msg)
}

fn at_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Parses a trace.dat version 6 file (ftr's or trace-cmd's). Errors name
/// the part of the file that is wrong.
pub fn read(bytes: &[u8]) -> Result<Capture<'_>, String> {
    let mut i = In {
        bytes,
        pos: 0,
        big: false,
    };
    if i.take(MAGIC.len() as u64, "magic").ok() != Some(MAGIC) {
        return Err("not a trace.dat file (no trace-cmd magic at the start)".into());
    }
    let version = i.cstr("version")?;
    match version {
        "6" => {}
        "7" => {
            return Err(
                "trace.dat version 7 (sections, maybe compressed) is not read; \
                 `trace-cmd convert --file-version 6 --compression none -i FILE -o NEW` \
                 writes a version 6 copy"
                    .into(),
            )
        }
        v => return Err(format!("version: {v:?}, not trace.dat version 6")),
    }
    let big_endian = match i.num(1, "endianness")? {
        0 => false,
        1 => true,
        n => return Err(format!("endianness: {n}, neither 0 (little) nor 1 (big)")),
    };
    i.big = big_endian;
    let long_size = i.num(1, "long size")? as u8;
    let page_size = i.num(4, "page size")? as u32;
    if !page_size.is_power_of_two() {
        return Err(format!("page size: {page_size}, not a power of two"));
    }
    i.tag(b"header_page\0", "header_page")?;
    let header_page = i.text(8, "header_page")?;
    i.tag(b"header_event\0", "header_event")?;
    let header_event = i.text(8, "header_event")?;
    let mut ftrace_formats = Vec::new();
    for n in 0..i.num(4, "ftrace format count")? {
        ftrace_formats.push(i.text(8, &format!("ftrace format {n}"))?);
    }
    let mut systems = Vec::new();
    for n in 0..i.num(4, "system count")? {
        let name = i.cstr(&format!("system {n}'s name"))?.to_string();
        let mut formats = Vec::new();
        for f in 0..i.num(4, &format!("events/{name} format count"))? {
            formats.push(i.text(8, &format!("events/{name} format {f}"))?);
        }
        systems.push(System { name, formats });
    }
    let kallsyms = i.text(4, "kallsyms")?;
    let printk_formats = i.text(4, "printk formats")?;
    let saved_cmdlines = i.text(8, "saved_cmdlines")?;
    let cpus = i.num(4, "CPU count")?;

    let mut meta = Meta {
        page_size,
        long_size,
        big_endian,
        header_page,
        header_event,
        ftrace_formats,
        systems,
        kallsyms,
        printk_formats,
        saved_cmdlines,
        ..Meta::default()
    };
    let mut kind = i.take(10, "data kind")?;
    let mut has_clock = false;
    if kind.starts_with(b"options") {
        loop {
            let id = i.num(2, "options")? as u16;
            if id == 0 {
                break;
            }
            let part = format!("option {id}");
            let size = i.num(4, &part)?;
            let data = utf8(i.take(size, &part)?, &part)?.trim_end_matches('\0');
            match id {
                OPTION_TRACECLOCK => {
                    has_clock = true;
                    meta.clock = selected_clock(data).unwrap_or_default();
                }
                OPTION_UNAME => meta.uname = data.to_string(),
                OPTION_FTR => meta.ftr = parse_ftr(data)?,
                _ => {} // trace-cmd's others (date, CPU stats, instances…)
            }
        }
        kind = i.take(10, "data kind")?;
    }
    if kind.starts_with(b"latency") {
        return Err("latency-format data (text, no ring-buffer pages) is not read".into());
    }
    if !kind.starts_with(b"flyrecord") {
        return Err("data kind: neither flyrecord nor latency".into());
    }
    let mut table = Vec::new();
    for cpu in 0..cpus {
        let part = format!("flyrecord table, CPU {cpu}");
        table.push((i.num(8, &part)?, i.num(8, &part)?));
    }
    if has_clock {
        // trace-cmd writes the clock again here, and trusts this copy more.
        if let Some(clock) = i.text(8, "clock").ok().and_then(|t| selected_clock(&t)) {
            meta.clock = clock;
        }
    }
    let mut cpu_data = Vec::new();
    for (cpu, (offset, size)) in table.into_iter().enumerate() {
        let range = |end| Some(usize::try_from(offset).ok()?..usize::try_from(end).ok()?);
        let data = offset
            .checked_add(size)
            .and_then(range)
            .and_then(|r| bytes.get(r));
        let Some(data) = data else {
            return Err(format!(
                "CPU {cpu} data: {size} bytes at {offset} go past the end of the file \
                 ({} bytes; truncated?)",
                bytes.len()
            ));
        };
        cpu_data.push(Cow::Borrowed(data));
    }
    Ok(Capture { meta, cpu_data })
}

/// The `[name]` word in trace_clock's text (`local [mono] …`).
fn selected_clock(text: &str) -> Option<String> {
    text.split_whitespace()
        .find_map(|w| Some(w.strip_prefix('[')?.split_once(']')?.0.to_string()))
}

fn parse_ftr(text: &str) -> Result<Vec<(String, String)>, String> {
    text.lines()
        .map(|line| match line.split_once('=') {
            Some((k, v)) => Ok((k.to_string(), v.to_string())),
            None => Err(format!("ftr option: {line:?} is not key=value")),
        })
        .collect()
}

struct In<'a> {
    bytes: &'a [u8],
    pos: usize,
    big: bool,
}

impl<'a> In<'a> {
    fn take(&mut self, n: u64, part: &str) -> Result<&'a [u8], String> {
        let left = self.bytes.len() - self.pos;
        match usize::try_from(n) {
            Ok(n) if n <= left => {
                self.pos += n;
                Ok(&self.bytes[self.pos - n..self.pos])
            }
            _ => Err(format!(
                "{part}: the file ends at byte {} inside it ({n} bytes needed, {left} left; truncated?)",
                self.bytes.len()
            )),
        }
    }

    fn num(&mut self, width: usize, part: &str) -> Result<u64, String> {
        let b = self.take(width as u64, part)?;
        let digits = |acc: u64, &x: &u8| acc << 8 | x as u64;
        Ok(if self.big {
            b.iter().fold(0, digits)
        } else {
            b.iter().rev().fold(0, digits)
        })
    }

    /// A size of `width` bytes, then that much UTF-8 text.
    fn text(&mut self, width: usize, part: &str) -> Result<String, String> {
        let size = self.num(width, part)?;
        Ok(utf8(self.take(size, part)?, part)?.to_string())
    }

    fn cstr(&mut self, part: &str) -> Result<&'a str, String> {
        let rest = &self.bytes[self.pos..];
        let Some(end) = rest.iter().position(|&b| b == 0) else {
            return Err(format!("{part}: no NUL before the end of the file"));
        };
        self.pos += end + 1;
        utf8(&rest[..end], part)
    }

    fn tag(&mut self, tag: &[u8], part: &str) -> Result<(), String> {
        if self.take(tag.len() as u64, part)? != tag {
            return Err(format!("{part}: its tag is not where it belongs"));
        }
        Ok(())
    }
}

fn utf8<'a>(b: &'a [u8], part: &str) -> Result<&'a str, String> {
    std::str::from_utf8(b).map_err(|e| format!("{part}: not UTF-8 text ({e})"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;
    use std::process::Command;

    // Format texts as Linux 6.1 prints them (x86-64).
    const HEADER_PAGE: &str = "\tfield: u64 timestamp;\toffset:0;\tsize:8;\tsigned:0;\n\
\tfield: local_t commit;\toffset:8;\tsize:8;\tsigned:1;\n\
\tfield: int overwrite;\toffset:8;\tsize:1;\tsigned:1;\n\
\tfield: char data;\toffset:16;\tsize:4080;\tsigned:1;\n";
    const HEADER_EVENT: &str = "# compressed entry header\n\
\ttype_len    :    5 bits\n\
\ttime_delta  :   27 bits\n\
\tarray       :   32 bits\n\
\n\
\tpadding     : type == 29\n\
\ttime_extend : type == 30\n\
\ttime_stamp : type == 31\n\
\tdata max type_len  == 28\n";
    const COMMON: &str = "format:\n\
\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:unsigned char common_flags;\toffset:2;\tsize:1;\tsigned:0;\n\
\tfield:unsigned char common_preempt_count;\toffset:3;\tsize:1;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";
    const FUNCGRAPH_ENTRY: (u16, &str) = (
        11,
        "\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n\
\tfield:int depth;\toffset:16;\tsize:4;\tsigned:1;\n\n\
print fmt: \"--> %ps (%d)\", (void *)REC->func, REC->depth\n",
    );
    const FUNCGRAPH_EXIT: (u16, &str) = (
        10,
        "\tfield:unsigned long func;\toffset:8;\tsize:8;\tsigned:0;\n\
\tfield:int depth;\toffset:16;\tsize:4;\tsigned:1;\n\
\tfield:unsigned int overrun;\toffset:20;\tsize:4;\tsigned:0;\n\
\tfield:unsigned long long calltime;\toffset:24;\tsize:8;\tsigned:0;\n\
\tfield:unsigned long long rettime;\toffset:32;\tsize:8;\tsigned:0;\n\n\
print fmt: \"<-- %ps (%d) (start: %llx  end: %llx) over: %d\", (void *)REC->func, \
REC->depth, REC->calltime, REC->rettime, REC->depth\n",
    );
    const PRINT: (u16, &str) = (
        5,
        "\tfield:unsigned long ip;\toffset:8;\tsize:8;\tsigned:0;\n\
\tfield:char buf[];\toffset:16;\tsize:0;\tsigned:1;\n\n\
print fmt: \"%ps: %s\", (void *)REC->ip, REC->buf\n",
    );
    const SYS_ENTER: (u16, &str) = (
        21,
        "\tfield:long id;\toffset:8;\tsize:8;\tsigned:1;\n\
\tfield:unsigned long args[6];\toffset:16;\tsize:48;\tsigned:0;\n\n\
print fmt: \"NR %ld (%lx, %lx, %lx, %lx, %lx, %lx)\", REC->id, REC->args[0], \
REC->args[1], REC->args[2], REC->args[3], REC->args[4], REC->args[5]\n",
    );
    const SYS_PWRITEV2: u64 = 0xffff_ffff_8134_5670;
    const DO_PWRITEV: u64 = 0xffff_ffff_8134_5100;
    const PID: i32 = 4242;

    fn format(name: &str, (id, fields): (u16, &str)) -> String {
        format!("name: {name}\nID: {id}\n{COMMON}{fields}")
    }

    /// A record: the common fields (`id`, pid) then `fields`.
    fn record(id: u16, fields: &[u8]) -> Vec<u8> {
        let mut r = id.to_le_bytes().to_vec();
        r.extend([0, 0]); // flags, preempt count
        r.extend(PID.to_le_bytes());
        r.extend(fields);
        r
    }

    /// A 4 KiB ring-buffer page: events `(time delta, record)` (records a
    /// multiple of 4 bytes, at most 112) after the page timestamp `ts`.
    fn page(ts: u64, events: &[(u32, Vec<u8>)]) -> Vec<u8> {
        let mut data = Vec::new();
        for (delta, rec) in events {
            assert!(rec.len() % 4 == 0 && rec.len() <= 112);
            let type_len = rec.len() as u32 / 4;
            data.extend((type_len | delta << 5).to_le_bytes());
            data.extend(rec);
        }
        let mut page = ts.to_le_bytes().to_vec();
        page.extend((data.len() as u64).to_le_bytes());
        page.extend(data);
        page.resize(4096, 0);
        page
    }

    fn entry(func: u64, depth: i32) -> Vec<u8> {
        let mut f = func.to_le_bytes().to_vec();
        f.extend(depth.to_le_bytes());
        record(FUNCGRAPH_ENTRY.0, &f)
    }

    fn exit(func: u64, depth: i32, calltime: u64, rettime: u64) -> Vec<u8> {
        let mut f = func.to_le_bytes().to_vec();
        f.extend(depth.to_le_bytes());
        f.extend(0u32.to_le_bytes());
        f.extend(calltime.to_le_bytes());
        f.extend(rettime.to_le_bytes());
        record(FUNCGRAPH_EXIT.0, &f)
    }

    /// A capture like `ftr -G __x64_sys_pwritev2` writes: a two-level call
    /// graph on CPU 0, a print and a sys_enter on CPU 1, nothing on CPU 2.
    fn fixture() -> Capture<'static> {
        let t0 = 1_000_000_000_000u64; // 1000 s
        let cpu0 = page(
            t0,
            &[
                (0, entry(SYS_PWRITEV2, 0)),
                (1000, entry(DO_PWRITEV, 1)),
                (2500, exit(DO_PWRITEV, 1, t0 + 1000, t0 + 3500)),
                (500, exit(SYS_PWRITEV2, 0, t0, t0 + 4000)),
            ],
        );
        let mut print = 0xffff_ffff_8100_0000u64.to_le_bytes().to_vec();
        print.extend(b"hello from ftr\n\0");
        let mut sys_enter = 296i64.to_le_bytes().to_vec();
        sys_enter.extend([0u8; 48]);
        let cpu1 = page(
            t0 + 10,
            &[
                (0, record(PRINT.0, &print)),
                (7, record(SYS_ENTER.0, &sys_enter)),
            ],
        );
        Capture {
            meta: Meta {
                page_size: 4096,
                long_size: 8,
                big_endian: false,
                header_page: HEADER_PAGE.into(),
                header_event: HEADER_EVENT.into(),
                ftrace_formats: vec![
                    format("funcgraph_exit", FUNCGRAPH_EXIT),
                    format("funcgraph_entry", FUNCGRAPH_ENTRY),
                    format("print", PRINT),
                ],
                systems: vec![System {
                    name: "raw_syscalls".into(),
                    formats: vec![format("sys_enter", SYS_ENTER)],
                }],
                kallsyms: format!(
                    "ffffffff81000000 T _stext\n{DO_PWRITEV:x} t do_pwritev\n\
                     {SYS_PWRITEV2:x} T __x64_sys_pwritev2\n"
                ),
                printk_formats: String::new(),
                saved_cmdlines: format!("{PID} pwv2\n"),
                clock: "local".into(),
                uname: "Linux testhost 6.1.0-56-amd64 x86_64".into(),
                ftr: vec![
                    ("tracer".into(), "function_graph".into()),
                    ("graph".into(), "depth=4,nocpu".into()),
                ],
            },
            cpu_data: vec![cpu0.into(), cpu1.into(), Vec::new().into()],
        }
    }

    fn bytes(c: &Capture) -> Vec<u8> {
        let mut out = Vec::new();
        c.write(&mut out).unwrap();
        out
    }

    /// A fresh directory under the system's temporary one.
    fn temp_dir(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("ftr-capture-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn round_trip() {
        let c = fixture();
        let file = bytes(&c);
        assert_eq!(read(&file), Ok(c.clone()));

        let big = Capture {
            meta: Meta {
                big_endian: true,
                clock: String::new(),
                uname: String::new(),
                ftr: Vec::new(),
                ..c.meta.clone()
            },
            cpu_data: vec![vec![7; 8192].into()],
        };
        assert_eq!(read(&bytes(&big)), Ok(big));
    }

    #[test]
    fn cpu_data_is_page_aligned() {
        let c = fixture();
        let file = bytes(&c);
        // Only the empty CPU 2 ends the file, so CPU 1's pages are its last.
        assert_eq!(file.len() % 4096, 0);
        assert_eq!(&file[file.len() - 4096..], &c.cpu_data[1][..]);
        assert_eq!(
            &file[file.len() - 8192..file.len() - 4096],
            &c.cpu_data[0][..]
        );
    }

    #[test]
    fn the_streaming_writer_writes_the_same_bytes() {
        let c = fixture();
        let dir = temp_dir("stream");
        let path = dir.join("out.dat");
        let mut meta = c.meta.clone();
        meta.saved_cmdlines.clear();
        let mut w = CaptureWriter::create(&path, meta, 3).unwrap();
        w.append_pages(1, &c.cpu_data[1]).unwrap();
        w.append_pages(0, &c.cpu_data[0][..4096]).unwrap();
        assert!(w.append_pages(0, &[0; 100]).is_err(), "not a whole page");
        assert!(w.append_pages(3, &c.cpu_data[0]).is_err(), "no CPU 3");
        w.finish(c.meta.saved_cmdlines.clone()).unwrap();
        assert_eq!(fs::read(&path).unwrap(), bytes(&c));
        let left: Vec<_> = fs::read_dir(&dir).unwrap().collect();
        assert_eq!(left.len(), 1, "spools are unlinked");
        fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn bad_settings_are_refused() {
        let mut c = fixture();
        c.meta.ftr.push(("a=b".into(), "c".into()));
        assert!(c.write(&mut Vec::new()).is_err());
        let mut c = fixture();
        c.cpu_data[0].to_mut().pop();
        assert!(c.write(&mut Vec::new()).is_err());
    }

    #[test]
    fn truncated_or_corrupt_files_give_errors_naming_the_part() {
        let file = bytes(&fixture());
        for len in 0..file.len() {
            assert!(read(&file[..len]).is_err(), "cut at {len}");
        }
        let at = |needle: &[u8]| {
            file.windows(needle.len())
                .position(|w| w == needle)
                .unwrap()
        };
        let cut = |len: usize| read(&file[..len]).unwrap_err();
        assert!(cut(20).contains("header_page"), "{}", cut(20));
        assert!(cut(at(b"ffffffff81000000") + 5).starts_with("kallsyms:"));
        assert!(cut(file.len() - 1).starts_with("CPU 1 data:"));
        assert!(read(b"hello").unwrap_err().contains("not a trace.dat"));
        let mut v7 = file.clone();
        v7[10] = b'7';
        assert!(read(&v7).unwrap_err().contains("trace-cmd convert"));

        let mut seed = 0x2545_f491_4f6c_dd1du64;
        for _ in 0..5000 {
            let mut bad = file.clone();
            for _ in 0..4 {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                let at = (seed >> 16) as usize % 2048;
                bad[at] = seed as u8;
            }
            let _ = read(&bad); // an error or a capture, never a panic
        }
    }

    /// trace-cmd mounts tracefs when it finds none, even to read a file:
    /// whatever it mounted is unmounted again when this is dropped.
    struct Unmounted(Vec<String>);

    impl Unmounted {
        fn now() -> Unmounted {
            Unmounted(tracefs_mounts())
        }
    }

    impl Drop for Unmounted {
        fn drop(&mut self) {
            for point in tracefs_mounts() {
                if !self.0.contains(&point) {
                    let _ = Command::new("umount").arg(&point).status();
                }
            }
        }
    }

    fn tracefs_mounts() -> Vec<String> {
        fs::read_to_string("/proc/mounts")
            .unwrap_or_default()
            .lines()
            .filter(|l| l.split(' ').nth(2) == Some("tracefs"))
            .filter_map(|l| l.split(' ').nth(1).map(String::from))
            .collect()
    }

    fn trace_cmd(args: &[&str]) -> String {
        // Installed when missing (as root), as the integration tests' tools are.
        let need = Command::new("bash")
            .arg(concat!(env!("CARGO_MANIFEST_DIR"), "/tests/needs.sh"))
            .arg("trace-cmd")
            .output()
            .expect("run bash tests/needs.sh");
        assert!(
            need.status.success(),
            "{}",
            String::from_utf8_lossy(&need.stderr)
        );
        let out = Command::new("trace-cmd")
            .args(args)
            .output()
            .unwrap_or_else(|e| {
                panic!("trace-cmd: cannot run it ({e}); apt-get install trace-cmd")
            });
        let text = String::from_utf8_lossy(&out.stdout).into_owned()
            + &String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "trace-cmd {args:?} failed:\n{text}");
        text
    }

    #[test]
    #[ignore = "runs trace-cmd, which it installs with apt-get as root when missing: cargo test --release --features test-hooks -- --include-ignored"]
    fn trace_cmd_reads_our_file_and_we_read_its() {
        let _mounts = Unmounted::now();
        let c = fixture();
        let dir = temp_dir("trace-cmd");
        let ours = dir.join("ftr.dat");
        fs::write(&ours, bytes(&c)).unwrap();
        let ours = ours.to_str().unwrap();

        let summary = trace_cmd(&["dump", "--summary", "-i", ours]);
        assert!(summary.contains("3 [CPUs with tracing data]"), "{summary}");
        let report = trace_cmd(&["report", "-i", ours]);
        for want in [
            "pwv2-4242",
            "[000]",
            "funcgraph_entry:",
            "__x64_sys_pwritev2() {",
            "2.500 us   |    do_pwritev();",
            "4.000 us   |  }",
            "[001]",
            "hello from ftr",
            "sys_enter:",
            "NR 296",
        ] {
            assert!(report.contains(want), "no {want:?} in:\n{report}");
        }
        let uname = trace_cmd(&["report", "--uname", "-i", ours]);
        assert!(uname.contains(&c.meta.uname), "{uname}");

        // The same capture, as trace-cmd's own writer lays it out (it keeps
        // options it does not know, ftr's among them).
        let theirs = dir.join("trace-cmd.dat");
        let theirs = theirs.to_str().unwrap();
        trace_cmd(&[
            "convert",
            "--file-version",
            "6",
            "--compression",
            "none",
            "-i",
            ours,
            "-o",
            theirs,
        ]);
        assert_eq!(read(&fs::read(theirs).unwrap()), Ok(c));
        fs::remove_dir_all(&dir).unwrap();
    }
}
