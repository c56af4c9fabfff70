//! A file's bytes in place: mapped read-only, so that `ftr report` of a
//! capture neither copies its pages nor faults in fresh memory for them.

use std::ffi::c_void;
use std::fs::File;
use std::num::NonZeroUsize;
use std::ops::Deref;
use std::ptr::NonNull;

use nix::sys::mman::{mmap, munmap, MapFlags, ProtFlags};

pub struct Mapped {
    ptr: NonNull<c_void>,
    len: usize,
}

impl Mapped {
    /// Maps all of `file`; `None` when it cannot be (empty, not a regular
    /// file, or the kernel refuses): the caller reads it instead.
    ///
    /// # Safety
    /// The file must not change while mapped: truncated, a read past its
    /// new end kills the process (SIGBUS); rewritten, the bytes change
    /// under their readers. `ftr report` maps the file it was asked to
    /// read and accepts that, as any reader of a mapped file does.
    pub unsafe fn new(file: &File) -> Option<Mapped> {
        let meta = file.metadata().ok()?;
        if !meta.is_file() {
            return None;
        }
        let len = NonZeroUsize::new(usize::try_from(meta.len()).ok()?)?;
        // SAFETY: a private read-only mapping of a file ftr only reads
        // (see the function's contract for changes made by others).
        let ptr = unsafe {
            mmap(
                None,
                len,
                ProtFlags::PROT_READ,
                MapFlags::MAP_PRIVATE,
                file,
                0,
            )
        }
        .ok()?;
        Some(Mapped {
            ptr,
            len: len.get(),
        })
    }
}

impl Deref for Mapped {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        // SAFETY: `ptr` maps `len` readable bytes until drop.
        unsafe { std::slice::from_raw_parts(self.ptr.as_ptr().cast::<u8>(), self.len) }
    }
}

impl Drop for Mapped {
    fn drop(&mut self) {
        // SAFETY: mapped by `new`, unmapped once.
        let _ = unsafe { munmap(self.ptr, self.len) };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file_of(bytes: &[u8], name: &str) -> File {
        let path = std::env::temp_dir().join(format!("ftr-mapped-{}-{name}", std::process::id()));
        std::fs::write(&path, bytes).unwrap();
        let file = File::open(&path).unwrap();
        let _ = std::fs::remove_file(&path);
        file
    }

    #[test]
    fn maps_files_with_bytes_and_leaves_the_rest_to_read() {
        let pages = file_of(b"ring buffer pages", "pages");
        // SAFETY: the test's own files, unchanged while mapped.
        let map = |f: &File| unsafe { Mapped::new(f) };
        assert_eq!(&map(&pages).unwrap()[..], b"ring buffer pages");
        assert!(map(&file_of(b"", "empty")).is_none());
        // Files of size 0 that have bytes (proc, tracefs) are read instead.
        assert!(map(&File::open("/proc/self/stat").unwrap()).is_none());
        assert!(map(&File::open("/proc/self").unwrap()).is_none());
    }
}
