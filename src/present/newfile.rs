//! A file the user named (`-o FILE`) that takes that name only when the run
//! is known to go ahead: until [`NewFile::commit`], a file of that name
//! from an earlier run is untouched, whatever refuses the run (a busy
//! tracer, a value only the kernel rejects, Ctrl-C during set-up).
//!
//! It is written unnamed (`O_TMPFILE`) in the directory it will live in, so
//! that nothing is left if ftr dies first; where the file system has no
//! unnamed files, under a hidden temporary name beside it, removed if it is
//! dropped uncommitted. `commit` renames it over the target. A target that
//! is not a regular file (`/dev/stdout`, a FIFO) is opened as it is.

use std::ffi::OsString;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::fd::AsRawFd;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

pub struct NewFile {
    file: File,
    path: PathBuf,
    state: State,
}

enum State {
    /// `O_TMPFILE`: no name yet.
    Unnamed,
    /// Written under this hidden name, renamed at commit.
    Temporary(PathBuf),
    /// Has its name (committed, or a device or FIFO opened directly).
    Named,
}

impl NewFile {
    /// Creates the file that will be `path`, in `path`'s directory; errors
    /// name `path`.
    pub fn create(path: &Path) -> io::Result<NewFile> {
        let at = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", path.display()));
        if fs::metadata(path).is_ok_and(|m| {
            let t = m.file_type();
            t.is_char_device() || t.is_fifo() || t.is_socket() || t.is_block_device()
        }) {
            let file = OpenOptions::new().write(true).open(path).map_err(at)?;
            return Ok(NewFile {
                file,
                path: path.into(),
                state: State::Named,
            });
        }
        let dir = match path.parent() {
            Some(d) if !d.as_os_str().is_empty() => d,
            _ => Path::new("."),
        };
        let unnamed = OpenOptions::new()
            .read(true)
            .write(true)
            .mode(0o666)
            .custom_flags(libc::O_TMPFILE | libc::O_CLOEXEC)
            .open(dir);
        match unnamed {
            Ok(file) => Ok(NewFile {
                file,
                path: path.into(),
                state: State::Unnamed,
            }),
            // No such directory, no permission: the error to report.
            Err(e)
                if matches!(
                    e.raw_os_error(),
                    Some(libc::ENOENT | libc::EACCES | libc::EROFS | libc::ENOTDIR)
                ) =>
            {
                Err(at(e))
            }
            // No unnamed files on this file system (EOPNOTSUPP, EISDIR on
            // old kernels): a hidden name beside the target.
            Err(_) => {
                let temp = temporary_name(path);
                let file = OpenOptions::new()
                    .read(true)
                    .write(true)
                    .create_new(true)
                    .custom_flags(libc::O_CLOEXEC)
                    .open(&temp)
                    .map_err(at)?;
                Ok(NewFile {
                    file,
                    path: path.into(),
                    state: State::Temporary(temp),
                })
            }
        }
    }

    pub fn file(&self) -> &File {
        &self.file
    }

    /// Gives the file its name, replacing what had it; what is written
    /// after goes on into the same file.
    pub fn commit(&mut self) -> io::Result<()> {
        let at = |e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", self.path.display()));
        match &self.state {
            State::Named => return Ok(()),
            State::Temporary(temp) => fs::rename(temp, &self.path).map_err(at)?,
            State::Unnamed => {
                // A name of its own first (linkat cannot replace a file),
                // then renamed over the target in one step.
                let temp = temporary_name(&self.path);
                let from = format!("/proc/self/fd/{}", self.file.as_raw_fd());
                nix::unistd::linkat(
                    nix::fcntl::AT_FDCWD,
                    from.as_str(),
                    nix::fcntl::AT_FDCWD,
                    &temp,
                    nix::fcntl::AtFlags::AT_SYMLINK_FOLLOW,
                )
                .map_err(|e| at(e.into()))?;
                if let Err(e) = fs::rename(&temp, &self.path) {
                    let _ = fs::remove_file(&temp);
                    return Err(at(e));
                }
            }
        }
        self.state = State::Named;
        Ok(())
    }
}

impl Drop for NewFile {
    fn drop(&mut self) {
        if let State::Temporary(temp) = &self.state {
            let _ = fs::remove_file(temp);
        }
    }
}

/// `.NAME.ftr-PID` beside `path`.
fn temporary_name(path: &Path) -> PathBuf {
    let mut name = OsString::from(".");
    name.push(path.file_name().unwrap_or(path.as_os_str()));
    name.push(format!(".ftr-{}", std::process::id()));
    path.with_file_name(name)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Seek, Write};

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("ftr-newfile-{}-{name}", std::process::id()));
        let _ = fs::remove_dir_all(&d);
        fs::create_dir_all(&d).expect("a test directory");
        d
    }

    fn names(d: &Path) -> Vec<String> {
        let mut v: Vec<String> = fs::read_dir(d)
            .expect("read the test directory")
            .flatten()
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .collect();
        v.sort();
        v
    }

    #[test]
    fn the_old_file_stays_until_commit_and_nothing_is_left_without_it() {
        let d = dir("commit");
        let path = d.join("out.dat");
        fs::write(&path, "earlier capture").expect("write");
        {
            let new = NewFile::create(&path).expect("create");
            new.file().write_all(b"partial").expect("write");
            assert_eq!(fs::read_to_string(&path).expect("read"), "earlier capture");
            // Dropped uncommitted: the run did not go ahead.
        }
        assert_eq!(fs::read_to_string(&path).expect("read"), "earlier capture");
        assert_eq!(names(&d), vec!["out.dat"]);

        let mut new = NewFile::create(&path).expect("create");
        new.file().write_all(b"new ").expect("write");
        new.commit().expect("commit");
        new.file()
            .write_all(b"and more")
            .expect("write after commit");
        drop(new);
        assert_eq!(fs::read_to_string(&path).expect("read"), "new and more");
        assert_eq!(names(&d), vec!["out.dat"]);
        fs::remove_dir_all(&d).expect("clean up");
    }

    #[test]
    fn a_missing_directory_is_named_and_a_device_is_written_as_it_is() {
        let d = dir("missing");
        let err = NewFile::create(&d.join("nope/out.dat"))
            .err()
            .expect("fails");
        assert!(err.to_string().contains("nope/out.dat"), "{err}");
        let mut null = NewFile::create(Path::new("/dev/null")).expect("/dev/null");
        null.file().write_all(b"x").expect("write");
        null.commit().expect("nothing to rename");
        assert!(fs::metadata("/dev/null").is_ok_and(|m| m.file_type().is_char_device()));
        // Read back through the same descriptor, as the capture writer does.
        let new = NewFile::create(&d.join("rw")).expect("create");
        new.file().write_all(b"abc").expect("write");
        let mut f = new.file();
        f.seek(io::SeekFrom::Start(0)).expect("seek");
        let mut s = String::new();
        f.read_to_string(&mut s).expect("read");
        assert_eq!(s, "abc");
        fs::remove_dir_all(&d).expect("clean up");
    }
}
