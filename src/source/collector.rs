//! A thread that only moves pages out of the kernel's per-CPU buffers, as
//! `dd` would, so that however long the rendering takes, the kernel's buffer
//! is emptied at the pace it fills and nothing is lost for want of reading.
//! The pages wait in memory for the event loop, in batches: each batch has
//! every CPU read until empty after its `now` was taken, so every event up
//! to `now` is in it or in an earlier one.

use std::fs::File;
use std::io::{Read, Write};
use std::os::fd::{AsRawFd, OwnedFd, RawFd};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use nix::poll::{poll, PollFd, PollFlags, PollTimeout};

use crate::error::{Error, Result};
pub use crate::source::reader::Batch;
use crate::source::reader::RawReader;

/// How long the thread waits for a CPU's buffer to fill before it looks
/// again anyway (so that a trickle still shows promptly).
const WAIT: Duration = Duration::from_millis(50);

pub struct Collector {
    queue: Arc<Mutex<Vec<Batch>>>,
    stop: Arc<AtomicBool>,
    /// Readable when a batch has come (the event loop polls it).
    wake: File,
    thread: Option<JoinHandle<RawReader>>,
    page_size: usize,
}

impl Collector {
    /// Starts reading `reader`'s CPUs in a thread of its own.
    pub fn start(reader: RawReader) -> Result<Collector> {
        let flags = nix::fcntl::OFlag::O_CLOEXEC | nix::fcntl::OFlag::O_NONBLOCK;
        let (wake, woken) = nix::unistd::pipe2(flags)
            .map_err(|e| Error::setup(format!("cannot create a pipe: {}", e.desc())))?;
        let queue = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let page_size = reader.page_size();
        let thread = {
            let (queue, stop) = (Arc::clone(&queue), Arc::clone(&stop));
            std::thread::Builder::new()
                .name("ftr-collector".into())
                .spawn(move || collect(reader, &queue, &stop, woken))
                .map_err(|e| Error::setup(format!("cannot start a thread: {e}")))?
        };
        Ok(Collector {
            queue,
            stop,
            wake: File::from(wake),
            thread: Some(thread),
            page_size,
        })
    }

    pub fn wake_fd(&self) -> RawFd {
        self.wake.as_raw_fd()
    }

    pub fn page_size(&self) -> usize {
        self.page_size
    }

    /// The batches collected since the last call.
    pub fn take(&mut self) -> Vec<Batch> {
        let mut drained = [0u8; 64];
        while matches!((&self.wake).read(&mut drained), Ok(n) if n > 0) {}
        std::mem::take(&mut *self.queue.lock().unwrap_or_else(|e| e.into_inner()))
    }

    /// Recording has stopped: the thread reads what is left and ends; its
    /// batches are returned, and the reader (its files) given back.
    pub fn finish(&mut self) -> (Vec<Batch>, Option<RawReader>) {
        self.stop.store(true, Ordering::Release);
        let reader = self.thread.take().and_then(|t| t.join().ok());
        (self.take(), reader)
    }
}

impl Drop for Collector {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// The thread: passes over every CPU until told to stop, then one last.
fn collect(
    mut reader: RawReader,
    queue: &Mutex<Vec<Batch>>,
    stop: &AtomicBool,
    woken: OwnedFd,
) -> RawReader {
    let mut woken = File::from(woken);
    loop {
        let last = stop.load(Ordering::Acquire);
        let batch = reader.pass();
        if !batch.pages.is_empty() {
            queue.lock().unwrap_or_else(|e| e.into_inner()).push(batch);
            let _ = woken.write(b"b");
        }
        if last {
            return reader;
        }
        // Until a buffer has a page (or a while has passed).
        let mut fds: Vec<PollFd> = reader
            .borrowed_fds()
            .map(|fd| PollFd::new(fd, PollFlags::POLLIN))
            .collect();
        let _ = poll(&mut fds, PollTimeout::from(WAIT.as_millis() as u16));
    }
}
