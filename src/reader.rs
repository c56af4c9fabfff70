//! Reading an instance's per-CPU binary buffers (`trace_pipe_raw`) and
//! merging the CPUs' events into time order.

use std::fs::{File, OpenOptions};
use std::io::Read;
use std::os::fd::{AsRawFd, RawFd};
use std::os::unix::fs::OpenOptionsExt;

use crate::error::{Error, Result};
use crate::ringbuf::{decode_page, Event};
use crate::tracefs::Tracefs;

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

pub struct RawReader {
    cpus: Vec<Cpu>,
    page_size: usize,
    /// Pages read this round; events point into it.
    buf: Vec<u8>,
    items: Vec<Item>,
    /// Events held back because a later round may still bring older ones.
    held: Vec<Item>,
    held_buf: Vec<u8>,
}

impl RawReader {
    /// Opens `per_cpu/cpuN/trace_pipe_raw` of the instance at `rel`.
    pub fn open(tracefs: &Tracefs, rel: &str) -> Result<RawReader> {
        let per_cpu = tracefs.path(&format!("{rel}/per_cpu"));
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
        let kb = tracefs
            .read(&format!("{rel}/buffer_subbuf_size_kb"))
            .ok()
            .and_then(|s| s.trim().parse::<usize>().ok())
            .unwrap_or(4);
        Ok(RawReader {
            cpus,
            page_size: kb.max(4) * 1024,
            buf: Vec::new(),
            items: Vec::new(),
            held: Vec::new(),
            held_buf: Vec::new(),
        })
    }

    pub fn fds(&self) -> impl Iterator<Item = RawFd> + '_ {
        self.cpus.iter().map(|c| c.file.as_raw_fd())
    }

    /// Reads what the kernel has now and hands every event up to
    /// `watermark` (all of them when `None`) to `f` in time order, with the
    /// record's bytes. Later events wait for the next round, where events
    /// that other CPUs wrote meanwhile can still sort before them.
    pub fn drain(&mut self, watermark: Option<u64>, mut f: impl FnMut(&Item, &[u8])) {
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
                        let mut events = Vec::new();
                        let info = decode_page(&self.buf, base, n, c.cpu, &mut events);
                        self.buf.truncate(base + n);
                        if let Some(count) = info.lost {
                            self.items.push(Item::Lost {
                                ts: info.first_ts,
                                cpu: c.cpu,
                                count,
                            });
                        }
                        self.items.extend(events.into_iter().map(Item::Event));
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
        // Keep the buffer's memory for the next round, but not a huge one.
        if self.buf.capacity() > 8 << 20 {
            self.buf = Vec::new();
        }
    }
}

/// CLOCK_MONOTONIC now, in ns: the clock ftr's instance records with.
pub fn mono_now() -> u64 {
    let ts = nix::time::clock_gettime(nix::time::ClockId::CLOCK_MONOTONIC)
        .map(|t| t.tv_sec() as u64 * 1_000_000_000 + t.tv_nsec() as u64);
    ts.unwrap_or(0)
}
