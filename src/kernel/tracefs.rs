//! Finding, mounting and reading/writing tracefs.
//!
//! Finding and reading tracefs. Writing is `session`'s alone (it journals
//! every change first), so `Tracefs` has no write method.

use std::fs::{self, OpenOptions};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use crate::error::{Error, Result};

const TRACEFS_MAGIC: i64 = 0x7472_6163;
const DEBUGFS_MAGIC: i64 = 0x6462_6720;
const DEFAULT_MOUNT: &str = "/sys/kernel/tracing";

#[derive(Debug, Clone)]
pub struct Tracefs {
    root: PathBuf,
    /// ftr mounted it (and so unmounts it at the end, if nobody else uses it).
    pub mounted_here: bool,
}

impl Tracefs {
    /// Finds tracefs: `$TRACEFS`, the usual mount points, `/proc/mounts`; mounts
    /// it at `/sys/kernel/tracing` when it is nowhere.
    pub fn open() -> Result<Tracefs> {
        if let Some(dir) = std::env::var_os("TRACEFS") {
            let root = PathBuf::from(dir);
            if !is_tracefs(&root) {
                return Err(Error::setup(format!(
                    "TRACEFS={} is not a mounted tracefs (mount it with `mount -t tracefs nodev {0}` or unset TRACEFS)",
                    root.display()
                )));
            }
            return Ok(Tracefs {
                root,
                mounted_here: false,
            });
        }
        for dir in [DEFAULT_MOUNT, "/sys/kernel/debug/tracing"] {
            if is_tracefs(Path::new(dir)) {
                return Ok(Tracefs {
                    root: dir.into(),
                    mounted_here: false,
                });
            }
        }
        if let Some(root) = from_proc_mounts() {
            return Ok(Tracefs {
                root,
                mounted_here: false,
            });
        }
        mount_default()
    }

    /// A tracefs at a known path, for `ftr reset` and tests.
    pub fn at(root: PathBuf) -> Tracefs {
        Tracefs {
            root,
            mounted_here: false,
        }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    pub fn path(&self, rel: &str) -> PathBuf {
        self.root.join(rel)
    }

    pub fn exists(&self, rel: &str) -> bool {
        self.path(rel).exists()
    }

    pub fn read(&self, rel: &str) -> Result<String> {
        let path = self.path(rel);
        read_file(&path).map_err(|e| match e.kind() {
            io::ErrorKind::NotFound => missing(&path),
            _ => Error::io("read", &path, &e),
        })
    }

    /// Unmounts tracefs if ftr mounted it and nothing else holds it.
    pub fn unmount_if_ours(&self) {
        if self.mounted_here {
            let _ = nix::mount::umount(&self.root);
        }
    }
}

/// Reads a tracefs file in reads of 64 KiB: some files refuse a read
/// smaller than their whole content (osnoise/cpus answers EINVAL), which
/// `fs::read_to_string`'s first small read can be.
pub fn read_file(path: &Path) -> io::Result<String> {
    use std::io::Read;
    let mut file = fs::File::open(path)?;
    let mut text = Vec::new();
    let mut chunk = vec![0u8; 64 * 1024];
    loop {
        match file.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => text.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    String::from_utf8(text).map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))
}

/// Writes a knob's file (for `session`, the one writer).
pub fn write_file(path: &Path, value: &str) -> io::Result<()> {
    let mut f = OpenOptions::new().write(true).truncate(true).open(path)?;
    // An empty write does nothing; O_TRUNC alone clears list files.
    if !value.is_empty() {
        f.write_all(value.as_bytes())?;
    }
    Ok(())
}

fn missing(path: &Path) -> Error {
    Error::setup(format!(
        "{} does not exist: this kernel does not have it",
        path.display()
    ))
}

/// The error for a failed write of `value` to `path`, worded with the fix.
pub fn write_error(path: &Path, value: &str, err: &io::Error) -> Error {
    if err.kind() == io::ErrorKind::NotFound {
        return missing(path);
    }
    let shown = value.trim_end();
    let base = Error::io("write", path, err);
    if err.raw_os_error() == Some(libc::EINVAL) || err.raw_os_error() == Some(libc::EBUSY) {
        return Error::setup(format!(
            "the kernel refused `{shown}` for {}: {err}",
            path.display()
        ));
    }
    Error::setup(format!("{} (value `{shown}`)", base.msg))
}

/// Whether `dir` is a mounted tracefs (or the tracing directory of debugfs).
pub fn is_tracefs(dir: &Path) -> bool {
    match nix::sys::statfs::statfs(dir) {
        Ok(st) => {
            let magic = st.filesystem_type().0;
            magic == TRACEFS_MAGIC || (magic == DEBUGFS_MAGIC && dir.join("trace").exists())
        }
        Err(_) => false,
    }
}

fn from_proc_mounts() -> Option<PathBuf> {
    let mounts = fs::read_to_string("/proc/mounts").ok()?;
    mounts.lines().find_map(|line| {
        let mut fields = line.split_whitespace();
        let (_dev, dir, fstype) = (fields.next()?, fields.next()?, fields.next()?);
        let dir = PathBuf::from(dir.replace("\\040", " "));
        (fstype == "tracefs" && is_tracefs(&dir)).then_some(dir)
    })
}

fn mount_default() -> Result<Tracefs> {
    use nix::mount::{mount, MsFlags};
    let root = PathBuf::from(DEFAULT_MOUNT);
    if !root.is_dir() {
        return Err(Error::setup(format!(
            "tracefs is not mounted and {DEFAULT_MOUNT} does not exist: this kernel was built without tracing (CONFIG_FTRACE)"
        )));
    }
    let flags = MsFlags::MS_NOSUID | MsFlags::MS_NODEV | MsFlags::MS_NOEXEC;
    mount(Some("nodev"), &root, Some("tracefs"), flags, None::<&str>).map_err(|errno| {
        let fix = match errno {
            nix::errno::Errno::EPERM | nix::errno::Errno::EACCES => {
                "ftr needs root to mount it: run it with sudo"
            }
            nix::errno::Errno::ENODEV => "this kernel was built without tracefs (CONFIG_FTRACE)",
            _ => "mount it by hand with `mount -t tracefs nodev /sys/kernel/tracing`",
        };
        Error::setup(format!(
            "tracefs is not mounted and mounting it at {DEFAULT_MOUNT} failed: {}; {fix}",
            errno.desc()
        ))
    })?;
    Ok(Tracefs {
        root,
        mounted_here: true,
    })
}
