//! The order the kernel prints a buffer in, with one record of look-ahead
//! per CPU: the glue between the per-CPU record streams and
//! [`KernelText`]. Pure: records in, bytes out.
//!
//! The kernel prints the oldest record of all CPUs next (on equal times,
//! the lowest CPU), and to print a function entry it first peeks at the
//! next record of the same CPU: if that is the matching exit, both become
//! one leaf line. So an entry cannot be printed before its CPU's next
//! record is known, and nothing later than it either, or lines would leave
//! the kernel's order. [`Stream::pump`] prints as far as that allows;
//! [`Stream::idle`] says a CPU has nothing more for now (the reader
//! found its buffer empty), so its entry prints in the split form `f() {`
//! as `trace_pipe` prints it; [`Stream::finish`] does that for all CPUs.
//! Reading the whole buffer first and then finishing gives what the
//! `trace` file shows.

use std::collections::VecDeque;

use crate::modes::graph::kernel_text::{Cmdlines, KernelText};
use crate::modes::graph::records::Layouts;

/// What takes the records in the kernel's order: its text
/// ([`KernelText`]), or the numbers of `ftr profile` and `ftr latency`.
pub trait Sink {
    fn layouts(&self) -> &Layouts;
    /// The record `rec` of `cpu` at `ts`; `next` is the CPU's next record
    /// if known. True if this used `next` up (a leaf's exit).
    fn record(
        &mut self,
        cpu: u32,
        ts: u64,
        rec: &[u8],
        next: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> bool;
    /// `cpu` lost `count` events here (0: unknown).
    fn lost(&mut self, cpu: u32, count: u64, out: &mut Vec<u8>);
    /// The task names from now on.
    fn set_cmdlines(&mut self, cmdlines: Cmdlines);
}

impl Sink for KernelText {
    fn layouts(&self) -> &Layouts {
        KernelText::layouts(self)
    }
    fn record(
        &mut self,
        cpu: u32,
        ts: u64,
        rec: &[u8],
        next: Option<&[u8]>,
        out: &mut Vec<u8>,
    ) -> bool {
        KernelText::record(self, cpu, ts, rec, next, out)
    }
    fn lost(&mut self, cpu: u32, count: u64, out: &mut Vec<u8>) {
        KernelText::lost(self, cpu, count, out)
    }
    fn set_cmdlines(&mut self, cmdlines: Cmdlines) {
        KernelText::set_cmdlines(self, cmdlines)
    }
}

#[derive(Debug, Clone, Copy)]
enum Item<'a> {
    /// A record: its time and its bytes.
    Record { ts: u64, bytes: Bytes<'a> },
    /// Events were lost before the next record (count 0: unknown).
    Lost { count: u64 },
}

/// Where a record's bytes are.
#[derive(Debug, Clone, Copy)]
enum Bytes<'a> {
    /// Copied into the CPU's arena (the pages they came in are gone).
    Arena { start: usize, end: usize },
    /// In pages that outlive the stream (a capture being rendered).
    Borrowed(&'a [u8]),
}

/// One CPU's records that are not printed yet.
#[derive(Debug, Default)]
struct Queue<'a> {
    items: VecDeque<Item<'a>>,
    /// The records' bytes; emptied whenever the queue is, so its memory is
    /// reused instead of growing.
    arena: Vec<u8>,
    /// The CPU has nothing more for now: its first entry need not wait.
    flushed: bool,
}

impl<'a> Queue<'a> {
    fn bytes(&self, b: Bytes<'a>) -> &[u8] {
        match b {
            Bytes::Arena { start, end } => &self.arena[start..end],
            Bytes::Borrowed(bytes) => bytes,
        }
    }

    /// The time the queue's head is printed at: a lost-events mark goes
    /// right before the record after it.
    fn head_ts(&self) -> Option<u64> {
        self.items.iter().find_map(|i| match *i {
            Item::Record { ts, .. } => Some(ts),
            Item::Lost { .. } => None,
        })
    }

    /// The look-ahead: the item after the head, if it has come. Behind a
    /// lost-events mark there is no telling whether the next exit is the
    /// head's, so a gap reads as "no next record".
    fn second(&self) -> Option<Option<&[u8]>> {
        self.items.get(1).map(|i| match *i {
            Item::Record { bytes, .. } => Some(self.bytes(bytes)),
            Item::Lost { .. } => None,
        })
    }

    fn pop(&mut self) {
        self.items.pop_front();
        if self.items.is_empty() {
            self.arena.clear();
        }
    }
}

/// `'a`: how long the records given to `push_borrowed` live.
pub struct Stream<'a, S: Sink = KernelText> {
    text: S,
    cpus: Vec<Queue<'a>>,
}

impl<'a, S: Sink> Stream<'a, S> {
    pub fn new(text: S) -> Stream<'a, S> {
        Stream {
            text,
            cpus: Vec::new(),
        }
    }

    /// The task names to print from now on (saved_cmdlines changes as the
    /// kernel sees new tasks).
    pub fn set_cmdlines(&mut self, cmdlines: Cmdlines) {
        self.text.set_cmdlines(cmdlines);
    }

    fn queue(&mut self, cpu: u32) -> &mut Queue<'a> {
        let cpu = cpu as usize;
        if cpu >= self.cpus.len() {
            self.cpus.resize_with(cpu + 1, Queue::default);
        }
        &mut self.cpus[cpu]
    }

    /// Adds the next record of `cpu` (records of one CPU come in order).
    pub fn push(&mut self, cpu: u32, ts: u64, record: &[u8]) {
        let q = self.queue(cpu);
        let start = q.arena.len();
        q.arena.extend_from_slice(record);
        let bytes = Bytes::Arena {
            start,
            end: q.arena.len(),
        };
        q.items.push_back(Item::Record { ts, bytes });
        q.flushed = false;
    }

    /// Like `push`, for a record that outlives the stream: not copied.
    pub fn push_borrowed(&mut self, cpu: u32, ts: u64, record: &'a [u8]) {
        let q = self.queue(cpu);
        let bytes = Bytes::Borrowed(record);
        q.items.push_back(Item::Record { ts, bytes });
        q.flushed = false;
    }

    /// Notes that `cpu` lost `count` events (0: unknown) before its next record.
    pub fn push_lost(&mut self, cpu: u32, count: u64) {
        self.queue(cpu).items.push_back(Item::Lost { count });
    }

    /// Prints every record whose line is decided: all up to the first entry
    /// whose CPU's next record has not come yet.
    pub fn pump(&mut self, out: &mut Vec<u8>) {
        self.pump_before(u64::MAX, out);
    }

    /// Like `pump`, but only records older than `limit`: a CPU whose
    /// records from `limit` on have not been pushed yet may still have
    /// older ones than the others' later records.
    pub fn pump_before(&mut self, limit: u64, out: &mut Vec<u8>) {
        while let Some(cpu) = self.oldest() {
            if self.cpus[cpu].head_ts().is_some_and(|ts| ts >= limit) || !self.print_head(cpu, out)
            {
                break;
            }
        }
    }

    /// The sink, to take its results.
    pub fn sink(&mut self) -> &mut S {
        &mut self.text
    }

    pub fn into_sink(self) -> S {
        self.text
    }

    /// How many CPUs have had records.
    pub fn cpus(&self) -> usize {
        self.cpus.len()
    }

    /// `cpu` has nothing more for now: its waiting entry may print as
    /// `f() {` (at the next pump).
    pub fn idle(&mut self, cpu: u32) {
        self.queue(cpu).flushed = true;
    }

    /// The end of the buffer: print everything.
    pub fn finish(&mut self, out: &mut Vec<u8>) {
        for q in &mut self.cpus {
            q.flushed = true;
        }
        self.pump(out);
    }

    /// The CPU whose head prints next.
    fn oldest(&self) -> Option<usize> {
        let heads = self.cpus.iter().enumerate();
        let with_ts = heads.filter_map(|(cpu, q)| Some((q.head_ts()?, cpu)));
        // min_by_key keeps the first of equal keys: the lowest CPU.
        with_ts.min_by_key(|&(ts, _)| ts).map(|(_, cpu)| cpu)
    }

    /// Prints the head of `cpu`'s queue; false if it must wait for its
    /// look-ahead.
    fn print_head(&mut self, cpu: usize, out: &mut Vec<u8>) -> bool {
        let q = &mut self.cpus[cpu];
        while let Some(Item::Lost { count }) = q.items.front().copied() {
            self.text.lost(cpu as u32, count, out);
            q.pop();
        }
        let Some(Item::Record { ts, bytes }) = q.items.front().copied() else {
            return true;
        };
        let next = q.second();
        let rec = q.bytes(bytes);
        if next.is_none() && !q.flushed && self.text.layouts().is_entry(rec) {
            return false;
        }
        let next = next.flatten();
        let used_next = self.text.record(cpu as u32, ts, rec, next, out);
        q.pop();
        if used_next {
            q.pop(); // the leaf's exit, printed with its entry
        }
        true
    }
}
