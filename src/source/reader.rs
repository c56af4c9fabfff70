//! Reading an instance's per-CPU binary buffers (`trace_pipe_raw`) and
//! merging the CPUs' events into time order.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use crate::error::{Error, Result};
use crate::kernel::tracefs::Tracefs;
use crate::source::ringbuf::{decode_page, Event};

/// Pages read from one CPU in one round at most, to bound memory.
const MAX_PAGES_PER_ROUND: usize = 256;

/// One thing in the merged stream.
#[derive(Debug, Clone, Copy)]
pub enum Item {
    Event(Event),
    /// The kernel lost events on `cpu` before `ts` (count 0: unknown).
    Lost {
        ts: u64,
        cpu: u32,
        count: u64,
    },
}

impl Item {
    fn ts(&self) -> u64 {
        match self {
            Item::Event(e) => e.ts,
            Item::Lost { ts, .. } => *ts,
        }
    }
}

struct Cpu {
    cpu: u32,
    file: File,
}

/// The ring buffer's page size: `buffer_subbuf_size_kb` where the kernel
/// has it (6.8+), else the header's size plus its `data` field from
/// `events/header_page` (the system page size: 4 KiB on x86, 16/64 KiB on
/// some arm64 kernels).
fn page_size(tracefs: &Tracefs, rel: &str) -> usize {
    let kb = tracefs
        .read(&below(rel, "buffer_subbuf_size_kb"))
        .ok()
        .and_then(|s| s.trim().parse::<usize>().ok());
    if let Some(kb) = kb {
        return kb * 1024;
    }
    let header = tracefs.read("events/header_page").unwrap_or_default();
    header
        .lines()
        .find(|l| l.contains(" data;"))
        .and_then(|l| {
            let field = |name: &str| {
                l.split(';')
                    .find_map(|p| p.trim().strip_prefix(name)?.parse::<usize>().ok())
            };
            Some(field("offset:")? + field("size:")?)
        })
        .unwrap_or(4096)
}

/// `name` in the buffer at `rel`: an instance, or the top level when `rel` is
/// empty (a leading `/` would make the path absolute, outside tracefs).
pub fn below(rel: &str, name: &str) -> String {
    match rel {
        "" => name.to_string(),
        rel => format!("{rel}/{name}"),
    }
}

/// Parses `now ts:  2049.142019` from a per-CPU `stats` file, in ns.
fn parse_now(stats: &str) -> Option<u64> {
    let value = stats
        .lines()
        .find_map(|l| l.strip_prefix("now ts:"))?
        .trim();
    let (secs, micros) = value.split_once('.')?;
    Some(secs.parse::<u64>().ok()? * 1_000_000_000 + micros.parse::<u64>().ok()? * 1_000)
}

/// One pass over every CPU (see [`RawReader::pass`]).
pub struct Batch {
    /// The buffer clock before the pass: events up to it are all read.
    pub now: u64,
    /// (cpu, its pages back to back, whole pages), in the order read.
    pub pages: Vec<(u32, Vec<u8>)>,
}

pub struct RawReader {
    cpus: Vec<Cpu>,
    /// The buffer's `per_cpu` directory.
    per_cpu: std::path::PathBuf,
    /// The events of the page being decoded (kept for its memory).
    page_events: Vec<Event>,
    /// A per-CPU `stats` file, open for the whole run: its `now ts` is the
    /// buffer's clock, now. (Opening it each round would cost an RCU grace
    /// period per round on every CPU, the measured one included.)
    stats: Option<File>,
    page_size: usize,
    /// Pages read this round; events point into it.
    buf: Vec<u8>,
    items: Vec<Item>,
    /// Events held back because a later round may still bring older ones.
    held: Vec<Item>,
    held_buf: Vec<u8>,
}

impl RawReader {
    /// Opens `per_cpu/cpuN/trace_pipe_raw` of the instance at `rel` (the
    /// top level if empty).
    pub fn open(tracefs: &Tracefs, rel: &str) -> Result<RawReader> {
        let per_cpu = tracefs.path(&below(rel, "per_cpu"));
        let dir = std::fs::read_dir(&per_cpu).map_err(|e| Error::io("list", &per_cpu, &e))?;
        let mut cpus = Vec::new();
        for entry in dir.flatten() {
            let name = entry.file_name();
            let Some(cpu) = name
                .to_str()
                .and_then(|n| n.strip_prefix("cpu"))
                .and_then(|n| n.parse().ok())
            else {
                continue;
            };
            let path = entry.path().join("trace_pipe_raw");
            let file = OpenOptions::new()
                .read(true)
                .custom_flags(libc::O_NONBLOCK | libc::O_CLOEXEC)
                .open(&path)
                .map_err(|e| Error::io("open", &path, &e))?;
            cpus.push(Cpu { cpu, file });
        }
        cpus.sort_by_key(|c| c.cpu);
        let page_size = page_size(tracefs, rel);
        let first = cpus.first().map_or(0, |c| c.cpu);
        let stats = File::open(per_cpu.join(format!("cpu{first}/stats"))).ok();
        Ok(RawReader {
            stats,
            per_cpu,
            page_events: Vec::new(),
            cpus,
            page_size,
            buf: Vec::new(),
            items: Vec::new(),
            held: Vec::new(),
            held_buf: Vec::new(),
        })
    }

    /// The ring buffer's clock now (µs precision), in the events' time base.
    /// ftr leaves the instance's trace_clock alone: changing it resets the
    /// buffer and costs an RCU grace period (~25 ms).
    pub fn now(&self) -> u64 {
        use std::os::unix::fs::FileExt;
        // Read afresh from the start: the kernel formats it at each read.
        let mut buf = [0u8; 1024];
        let n = match &self.stats {
            Some(f) => f.read_at(&mut buf, 0).unwrap_or(0),
            None => 0,
        };
        std::str::from_utf8(&buf[..n])
            .ok()
            .and_then(parse_now)
            .unwrap_or(u64::MAX)
    }

    /// The ring buffer's page size.
    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The CPUs read, in order.
    pub fn cpus(&self) -> impl Iterator<Item = u32> + '_ {
        self.cpus.iter().map(|c| c.cpu)
    }

    /// Events the kernel dropped or overwrote in this buffer so far, from
    /// the per-CPU `stats` (exact, where page headers may lack the count).
    pub fn kernel_lost(&self) -> u64 {
        let mut lost = 0;
        for c in &self.cpus {
            let stats = self.per_cpu.join(format!("cpu{}/stats", c.cpu));
            let text = std::fs::read_to_string(stats).unwrap_or_default();
            for line in text.lines() {
                if let Some(v) = line
                    .strip_prefix("overrun:")
                    .or_else(|| line.strip_prefix("dropped events:"))
                {
                    lost += v.trim().parse::<u64>().unwrap_or(0);
                }
            }
        }
        lost
    }

    pub fn borrowed_fds(&self) -> impl Iterator<Item = std::os::fd::BorrowedFd<'_>> + '_ {
        self.cpus.iter().map(|c| std::os::fd::AsFd::as_fd(&c.file))
    }

    /// Reads every CPU until its buffer is empty, without decoding: whole
    /// pages (a short read is padded; its header says how much is data).
    /// Every event up to the batch's `now` is in it or was in an earlier one.
    pub fn pass(&mut self) -> Batch {
        let now = self.now();
        let page = self.page_size;
        let mut pages = Vec::new();
        for c in &mut self.cpus {
            let mut got: Vec<u8> = Vec::new();
            for _ in 0..MAX_PAGES_PER_ROUND {
                let base = got.len();
                got.resize(base + page, 0);
                match c.file.read(&mut got[base..]) {
                    Ok(n) if n > 0 => {}
                    _ => {
                        got.truncate(base);
                        break;
                    }
                }
            }
            if !got.is_empty() {
                pages.push((c.cpu, got));
            }
        }
        Batch { now, pages }
    }

    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.cpus.iter().map(|c| c.file.as_raw_fd())
    }

    /// Reads everything left (tracing has stopped) and hands it all to `f`.
    pub fn drain_all(&mut self, mut f: impl FnMut(&Item, &[u8])) {
        loop {
            let mut any = false;
            self.drain(None, |item, data| {
                any = true;
                f(item, data)
            });
            if !any {
                break;
            }
        }
    }

    /// Reads what the kernel has now and hands every event up to
    /// `watermark` (all of them when `None`) to `f` in time order, with the
    /// record's bytes. Later events wait for the next round, where events
    /// that other CPUs wrote meanwhile can still sort before them.
    pub fn drain(&mut self, watermark: Option<u64>, mut f: impl FnMut(&Item, &[u8])) {
        // Keep the buffer's memory from round to round, but not a huge one.
        if self.buf.capacity() > 8 << 20 {
            self.buf = Vec::new();
        }
        self.buf.clear();
        self.items.clear();
        // Held events first: their bytes move to the front of this round's buffer.
        self.buf.extend_from_slice(&self.held_buf);
        self.items.append(&mut self.held);
        self.held_buf.clear();
        let page = self.page_size;
        for c in &mut self.cpus {
            for _ in 0..MAX_PAGES_PER_ROUND {
                let base = self.buf.len();
                self.buf.resize(base + page, 0);
                match c.file.read(&mut self.buf[base..]) {
                    Ok(n) if n > 0 => {
                        let events = &mut self.page_events;
                        events.clear();
                        let info = decode_page(&self.buf, base, n, c.cpu, events);
                        self.buf.truncate(base + n);
                        if let Some(count) = info.lost {
                            self.items.push(Item::Lost {
                                ts: info.first_ts,
                                cpu: c.cpu,
                                count,
                            });
                        }
                        self.items.extend(events.iter().copied().map(Item::Event));
                    }
                    _ => {
                        self.buf.truncate(base);
                        break;
                    }
                }
            }
        }
        // Stable: events of one CPU with equal timestamps keep their order.
        self.items.sort_by_key(Item::ts);
        let cut = match watermark {
            Some(w) => self.items.partition_point(|i| i.ts() <= w),
            None => self.items.len(),
        };
        for item in &self.items[..cut] {
            let data = match item {
                Item::Event(e) => &self.buf[e.start as usize..(e.start + e.len) as usize],
                Item::Lost { .. } => &[][..],
            };
            f(item, data);
        }
        for item in &self.items[cut..] {
            let kept = match *item {
                Item::Event(mut e) => {
                    let bytes = &self.buf[e.start as usize..(e.start + e.len) as usize];
                    e.start = self.held_buf.len() as u32;
                    self.held_buf.extend_from_slice(bytes);
                    Item::Event(e)
                }
                lost => lost,
            };
            self.held.push(kept);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::{below, parse_now};

    #[test]
    fn the_top_level_buffer_stays_inside_tracefs() {
        let root = std::path::Path::new("/sys/kernel/tracing");
        assert_eq!(root.join(below("", "per_cpu")), root.join("per_cpu"));
        assert_eq!(
            below("instances/ftr-1", "per_cpu"),
            "instances/ftr-1/per_cpu"
        );
    }

    #[test]
    fn reads_the_buffer_clock_from_stats() {
        let stats = "entries: 0\noverrun: 0\noldest event ts:     0.000000\nnow ts:  2049.142019\ndropped events: 0\n";
        assert_eq!(parse_now(stats), Some(2_049_142_019_000));
        assert_eq!(parse_now("entries: 0\n"), None);
    }
}
