//! A capture's text, one CPU's records per thread. Each line depends only
//! on its own CPU's records and state (depth, last pid, the leaf's
//! look-ahead), so each CPU can be printed on its own; the kernel's order
//! is then a merge of the CPUs' lines by time, as [`crate::source::stream::Stream`]
//! gives it (the oldest record next, the lowest CPU on equal times).
//!
//! The merge goes window by window, so that only a few windows of text
//! are held at once. A CPU's records belong to a window up to its first
//! record at or after the window's end; the rest wait for the next window,
//! even one that is older (a CPU's clock can step back). Windows put one
//! after the other are still the merge of the whole: a head before the
//! window's end always comes before a head at or after it.
//!
//! Every record takes its place in the merge, also one that prints
//! nothing (a hidden irq, a record that does not decode), as in the
//! stream. Unlike the stream, which is fed page by page in the order of
//! the pages' first times, the merge here is record by record, as the
//! kernel's: the two differ only where a CPU's clock steps back across an
//! empty page.

use std::cmp::Reverse;
use std::collections::BinaryHeap;
use std::sync::mpsc;

use crate::modes::graph::kernel_text::KernelText;
use crate::modes::report::view::Tally;
use crate::source::ringbuf::{decode_page, Event};

/// The text of one CPU's records in one window: the bytes, and where the
/// lines of each record end, with the record's time.
#[derive(Default)]
struct Part {
    cpu: u32,
    text: Vec<u8>,
    /// (time, end in `text`) per record (one that printed nothing ends
    /// where the one before it did).
    ends: Vec<(u64, usize)>,
}

/// What is left of a CPU's records: its pages, and those of the current
/// page decoded.
struct Cpu<'a> {
    cpu: u32,
    data: &'a [u8],
    page_size: usize,
    /// Where the next page starts.
    next_page: usize,
    /// The items not printed yet are `items[head..]`.
    items: Vec<Item<'a>>,
    head: usize,
    events: Vec<Event>,
}

#[derive(Clone, Copy)]
enum Item<'a> {
    Record {
        ts: u64,
        bytes: &'a [u8],
    },
    /// Events were lost before the next record (0: unknown count).
    Lost(u64),
}

impl<'a> Cpu<'a> {
    fn new(cpu: u32, data: &'a [u8], page_size: usize) -> Cpu<'a> {
        Cpu {
            cpu,
            data,
            page_size,
            next_page: 0,
            items: Vec::new(),
            head: 0,
            events: Vec::new(),
        }
    }

    /// The `n`th item from here, decoding pages as needed.
    fn peek(&mut self, n: usize) -> Option<Item<'a>> {
        while self.items.len() <= self.head + n && self.next_page < self.data.len() {
            // Keep only what is left of the page before.
            self.items.drain(..self.head);
            self.head = 0;
            let at = self.next_page;
            let len = self.page_size.min(self.data.len() - at);
            self.next_page = at + self.page_size;
            self.events.clear();
            // Offsets within the page: a CPU's data may pass 4 GiB.
            let page = &self.data[at..at + len];
            let info = decode_page(page, 0, len, self.cpu, &mut self.events);
            if let Some(count) = info.lost {
                self.items.push(Item::Lost(count));
            }
            self.items.extend(self.events.iter().filter_map(|e| {
                let bytes = page.get(e.start as usize..e.start as usize + e.len as usize)?;
                Some(Item::Record { ts: e.ts, bytes })
            }));
        }
        self.items.get(self.head + n).copied()
    }

    fn pop(&mut self) {
        self.head += 1;
    }

    /// The time of the next record, past any lost-events marks.
    fn next_ts(&mut self) -> Option<u64> {
        (0..).map_while(|n| self.peek(n)).find_map(|i| match i {
            Item::Record { ts, .. } => Some(ts),
            Item::Lost(_) => None,
        })
    }

    /// Prints this CPU's records of the window that ends at `end` into
    /// `part`.
    fn print_until(&mut self, end: u64, text: &mut KernelText, part: &mut Part) {
        part.cpu = self.cpu;
        part.text.clear();
        part.ends.clear();
        loop {
            let (ts, bytes) = match self.peek(0) {
                Some(Item::Record { ts, bytes }) if ts < end => (ts, bytes),
                // A mark prints with the record after it, as the stream
                // prints it: in that record's window.
                Some(Item::Lost(count)) if self.next_ts().is_some_and(|ts| ts < end) => {
                    text.lost(self.cpu, count, &mut part.text);
                    self.pop();
                    continue;
                }
                _ => break,
            };
            self.pop();
            // Behind a lost-events mark there is no telling whether the
            // next exit is this entry's.
            let next = match self.peek(0) {
                Some(Item::Record { bytes, .. }) => Some(bytes),
                _ => None,
            };
            if text.record(self.cpu, ts, bytes, next, &mut part.text) {
                self.pop(); // the leaf's exit, printed with its entry
            }
            part.ends.push((ts, part.text.len()));
        }
    }
}

/// Renders the pages of every CPU (`cpu_data[cpu]`, whole pages) in the
/// kernel's order, as [`crate::modes::graph::sources::render_pages`] does, with a thread
/// printing CPUs for each of `texts` (each thread has its own printer; at
/// least one).
/// The text is appended to `out`, which `flush` may take after each
/// window (false: stop). `window_pages` pages of all CPUs make a window.
/// Gives what the printers counted.
pub fn render_pages(
    mut texts: Vec<KernelText>,
    page_size: usize,
    cpu_data: &[impl AsRef<[u8]> + Sync],
    window_pages: usize,
    out: &mut Vec<u8>,
    mut flush: impl FnMut(&mut Vec<u8>) -> bool,
) -> Tally {
    debug_assert!(!texts.is_empty(), "no printer");
    let ends = window_ends(page_size, cpu_data, window_pages.max(1));
    texts.truncate(cpu_data.len().max(1));
    let threads = texts.len();
    let mut tally = Tally::default();
    std::thread::scope(|scope| {
        let ends = &ends;
        // Each thread prints every `threads`th CPU, window by window, and
        // sends the parts of a window together, two windows ahead at most.
        // The parts come back to be filled again: their memory is reused,
        // not mapped in anew for every window.
        let workers: Vec<_> = (texts.into_iter().enumerate())
            .map(|(first, mut text)| {
                let (tx, rx) = mpsc::sync_channel::<Vec<Part>>(2);
                let (back_tx, back_rx) = mpsc::channel::<Vec<Part>>();
                let worker = scope.spawn(move || {
                    let mut cpus: Vec<Cpu> = (first..cpu_data.len())
                        .step_by(threads)
                        .map(|c| Cpu::new(c as u32, cpu_data[c].as_ref(), page_size))
                        .collect();
                    for &end in ends {
                        let mut parts = back_rx.try_recv().unwrap_or_default();
                        parts.resize_with(cpus.len(), Part::default);
                        for (cpu, part) in cpus.iter_mut().zip(&mut parts) {
                            cpu.print_until(end, &mut text, part);
                        }
                        if tx.send(parts).is_err() {
                            break; // the output is closed
                        }
                    }
                    text.take_tally()
                });
                (rx, back_tx, worker)
            })
            .collect();
        let mut parts = Vec::new();
        'windows: for _ in ends {
            parts.clear();
            for (rx, _, _) in &workers {
                match rx.recv() {
                    Ok(p) => parts.push(p),
                    Err(_) => break 'windows, // a worker panicked: joined below
                }
            }
            merge(parts.iter().flatten(), out);
            let done = !flush(out);
            for ((_, back, _), p) in workers.iter().zip(parts.drain(..)) {
                let _ = back.send(p);
            }
            if done {
                break;
            }
        }
        for (rx, _, worker) in workers {
            drop(rx); // a worker still sending stops
            match worker.join() {
                Ok(t) => tally.add(t),
                Err(panic) => std::panic::resume_unwind(panic),
            }
        }
    });
    tally
}

/// The parts' records in the kernel's order: the oldest next, the lowest
/// CPU on equal times. A CPU's records that all come before every other
/// CPU's next one are copied as one run.
fn merge<'a>(parts: impl Iterator<Item = &'a Part>, out: &mut Vec<u8>) {
    let parts: Vec<&Part> = parts.collect();
    // (time, cpu) of a part's next record, the part, and that record.
    type Head = ((u64, u32), usize, usize);
    let mut heads: BinaryHeap<Reverse<Head>> = parts
        .iter()
        .enumerate()
        .filter_map(|(i, p)| Some(Reverse(((p.ends.first()?.0, p.cpu), i, 0))))
        .collect();
    while let Some(Reverse((_, i, first))) = heads.pop() {
        let part = parts[i];
        let key = |n: usize| part.ends.get(n).map(|&(ts, _)| (ts, part.cpu));
        let mut after = first + 1;
        match heads.peek() {
            Some(Reverse((other, _, _))) => {
                while key(after).is_some_and(|k| k < *other) {
                    after += 1;
                }
            }
            None => after = part.ends.len(),
        }
        let start = first.checked_sub(1).map_or(0, |prev| part.ends[prev].1);
        out.extend_from_slice(&part.text[start..part.ends[after - 1].1]);
        if let Some(k) = key(after) {
            heads.push(Reverse((k, i, after)));
        }
    }
}

/// Where the windows end: after about every `window_pages` pages of all
/// CPUs, by the pages' first times; the last one ends after everything.
fn window_ends(page_size: usize, cpu_data: &[impl AsRef<[u8]>], window_pages: usize) -> Vec<u64> {
    let mut starts: Vec<u64> = cpu_data
        .iter()
        .flat_map(|d| d.as_ref().chunks(page_size))
        .filter_map(|p| Some(u64::from_le_bytes(p.get(..8)?.try_into().ok()?)))
        .collect();
    starts.sort_unstable();
    let mut ends: Vec<u64> = starts.into_iter().step_by(window_pages).skip(1).collect();
    ends.dedup();
    ends.push(u64::MAX);
    ends
}
