//! Where records come from: the ring buffer's pages (live per-CPU pipes, a
//! capture file), the thread that moves them, the merge of the CPUs by time,
//! and the kernel's symbols.

pub mod capture;
pub mod collector;
pub mod kallsyms;
pub mod mapped;
pub mod reader;
pub mod ringbuf;
pub mod stream;
