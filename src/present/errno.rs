//! Errno names and descriptions, for return values the kernel prints as
//! numbers. The one table both modes name errors from, so a failure reads
//! the same in a syscall trace (`-1 ENOTSUPP (Operation is not supported)`)
//! as in a function graph (`ret=-524 ENOTSUPP`).

/// Name and description of errno 0..=133 in the asm-generic numbering (x86,
/// arm, arm64, riscv, s390, powerpc; not alpha, mips, parisc or sparc);
/// `("", "")` where none. The descriptions are the kernel's comments in
/// include/uapi/asm-generic/errno*.h, as nix has them.
const USER: [(&str, &str); 134] = [
    ("", ""),
    ("EPERM", "Operation not permitted"),
    ("ENOENT", "No such file or directory"),
    ("ESRCH", "No such process"),
    ("EINTR", "Interrupted system call"),
    ("EIO", "I/O error"),
    ("ENXIO", "No such device or address"),
    ("E2BIG", "Argument list too long"),
    ("ENOEXEC", "Exec format error"),
    ("EBADF", "Bad file number"),
    ("ECHILD", "No child processes"),
    ("EAGAIN", "Try again"),
    ("ENOMEM", "Out of memory"),
    ("EACCES", "Permission denied"),
    ("EFAULT", "Bad address"),
    ("ENOTBLK", "Block device required"),
    ("EBUSY", "Device or resource busy"),
    ("EEXIST", "File exists"),
    ("EXDEV", "Cross-device link"),
    ("ENODEV", "No such device"),
    ("ENOTDIR", "Not a directory"),
    ("EISDIR", "Is a directory"),
    ("EINVAL", "Invalid argument"),
    ("ENFILE", "File table overflow"),
    ("EMFILE", "Too many open files"),
    ("ENOTTY", "Not a typewriter"),
    ("ETXTBSY", "Text file busy"),
    ("EFBIG", "File too large"),
    ("ENOSPC", "No space left on device"),
    ("ESPIPE", "Illegal seek"),
    ("EROFS", "Read-only file system"),
    ("EMLINK", "Too many links"),
    ("EPIPE", "Broken pipe"),
    ("EDOM", "Math argument out of domain of func"),
    ("ERANGE", "Math result not representable"),
    ("EDEADLK", "Resource deadlock would occur"),
    ("ENAMETOOLONG", "File name too long"),
    ("ENOLCK", "No record locks available"),
    ("ENOSYS", "Function not implemented"),
    ("ENOTEMPTY", "Directory not empty"),
    ("ELOOP", "Too many symbolic links encountered"),
    ("", ""),
    ("ENOMSG", "No message of desired type"),
    ("EIDRM", "Identifier removed"),
    ("ECHRNG", "Channel number out of range"),
    ("EL2NSYNC", "Level 2 not synchronized"),
    ("EL3HLT", "Level 3 halted"),
    ("EL3RST", "Level 3 reset"),
    ("ELNRNG", "Link number out of range"),
    ("EUNATCH", "Protocol driver not attached"),
    ("ENOCSI", "No CSI structure available"),
    ("EL2HLT", "Level 2 halted"),
    ("EBADE", "Invalid exchange"),
    ("EBADR", "Invalid request descriptor"),
    ("EXFULL", "Exchange full"),
    ("ENOANO", "No anode"),
    ("EBADRQC", "Invalid request code"),
    ("EBADSLT", "Invalid slot"),
    ("", ""),
    ("EBFONT", "Bad font file format"),
    ("ENOSTR", "Device not a stream"),
    ("ENODATA", "No data available"),
    ("ETIME", "Timer expired"),
    ("ENOSR", "Out of streams resources"),
    ("ENONET", "Machine is not on the network"),
    ("ENOPKG", "Package not installed"),
    ("EREMOTE", "Object is remote"),
    ("ENOLINK", "Link has been severed"),
    ("EADV", "Advertise error"),
    ("ESRMNT", "Srmount error"),
    ("ECOMM", "Communication error on send"),
    ("EPROTO", "Protocol error"),
    ("EMULTIHOP", "Multihop attempted"),
    ("EDOTDOT", "RFS specific error"),
    ("EBADMSG", "Not a data message"),
    ("EOVERFLOW", "Value too large for defined data type"),
    ("ENOTUNIQ", "Name not unique on network"),
    ("EBADFD", "File descriptor in bad state"),
    ("EREMCHG", "Remote address changed"),
    ("ELIBACC", "Can not access a needed shared library"),
    ("ELIBBAD", "Accessing a corrupted shared library"),
    ("ELIBSCN", ".lib section in a.out corrupted"),
    ("ELIBMAX", "Attempting to link in too many shared libraries"),
    ("ELIBEXEC", "Cannot exec a shared library directly"),
    ("EILSEQ", "Illegal byte sequence"),
    ("ERESTART", "Interrupted system call should be restarted"),
    ("ESTRPIPE", "Streams pipe error"),
    ("EUSERS", "Too many users"),
    ("ENOTSOCK", "Socket operation on non-socket"),
    ("EDESTADDRREQ", "Destination address required"),
    ("EMSGSIZE", "Message too long"),
    ("EPROTOTYPE", "Protocol wrong type for socket"),
    ("ENOPROTOOPT", "Protocol not available"),
    ("EPROTONOSUPPORT", "Protocol not supported"),
    ("ESOCKTNOSUPPORT", "Socket type not supported"),
    (
        "EOPNOTSUPP",
        "Operation not supported on transport endpoint",
    ),
    ("EPFNOSUPPORT", "Protocol family not supported"),
    ("EAFNOSUPPORT", "Address family not supported by protocol"),
    ("EADDRINUSE", "Address already in use"),
    ("EADDRNOTAVAIL", "Cannot assign requested address"),
    ("ENETDOWN", "Network is down"),
    ("ENETUNREACH", "Network is unreachable"),
    ("ENETRESET", "Network dropped connection because of reset"),
    ("ECONNABORTED", "Software caused connection abort"),
    ("ECONNRESET", "Connection reset by peer"),
    ("ENOBUFS", "No buffer space available"),
    ("EISCONN", "Transport endpoint is already connected"),
    ("ENOTCONN", "Transport endpoint is not connected"),
    ("ESHUTDOWN", "Cannot send after transport endpoint shutdown"),
    ("ETOOMANYREFS", "Too many references: cannot splice"),
    ("ETIMEDOUT", "Connection timed out"),
    ("ECONNREFUSED", "Connection refused"),
    ("EHOSTDOWN", "Host is down"),
    ("EHOSTUNREACH", "No route to host"),
    ("EALREADY", "Operation already in progress"),
    ("EINPROGRESS", "Operation now in progress"),
    ("ESTALE", "Stale file handle"),
    ("EUCLEAN", "Structure needs cleaning"),
    ("ENOTNAM", "Not a XENIX named type file"),
    ("ENAVAIL", "No XENIX semaphores available"),
    ("EISNAM", "Is a named type file"),
    ("EREMOTEIO", "Remote I/O error"),
    ("EDQUOT", "Quota exceeded"),
    ("ENOMEDIUM", "No medium found"),
    ("EMEDIUMTYPE", "Wrong medium type"),
    ("ECANCELED", "Operation canceled"),
    ("ENOKEY", "Required key not available"),
    ("EKEYEXPIRED", "Key has expired"),
    ("EKEYREVOKED", "Key has been revoked"),
    ("EKEYREJECTED", "Key was rejected by service"),
    ("EOWNERDEAD", "Owner died"),
    ("ENOTRECOVERABLE", "State not recoverable"),
    ("ERFKILL", "Operation not possible due to RF-kill"),
    ("EHWPOISON", "Memory page has hardware error"),
];

/// The kernel's own codes, above the ones programs see, described as in
/// include/linux/errno.h. The restart codes (see [`is_restart`]) have no
/// comment there and read as strace describes them.
const KERNEL: [(&str, &str); 20] = [
    ("ERESTARTSYS", "To be restarted if SA_RESTART is set"),
    ("ERESTARTNOINTR", "To be restarted"),
    ("ERESTARTNOHAND", "To be restarted if no handler"),
    ("ENOIOCTLCMD", "No ioctl command"),
    ("ERESTART_RESTARTBLOCK", "Interrupted by signal"),
    ("EPROBE_DEFER", "Driver requests probe retry"),
    ("EOPENSTALE", "Open found a stale dentry"),
    ("ENOPARAM", "Parameter not supported"),
    ("", ""),
    ("EBADHANDLE", "Illegal NFS file handle"),
    ("ENOTSYNC", "Update synchronization mismatch"),
    ("EBADCOOKIE", "Cookie is stale"),
    ("ENOTSUPP", "Operation is not supported"),
    ("ETOOSMALL", "Buffer or request is too small"),
    ("ESERVERFAULT", "An untranslatable error occurred"),
    ("EBADTYPE", "Type not supported by server"),
    (
        "EJUKEBOX",
        "Request initiated, but will not complete before timeout",
    ),
    ("EIOCBQUEUED", "iocb queued, will get completion event"),
    ("ERECALLCONFLICT", "Conflict with recalled state"),
    ("ENOGRACE", "NFS file lock reclaim refused"),
];

/// The name and description of a positive errno: `2` → `("ENOENT", "No
/// such file or directory")`, `512` → `("ERESTARTSYS", …)`; `None` for a
/// number without a name.
pub fn describe(errno: i32) -> Option<(&'static str, &'static str)> {
    let n = usize::try_from(errno).ok()?;
    let entry = match n {
        0..=133 => USER[n],
        512..=531 => KERNEL[n - 512],
        _ => return None,
    };
    (!entry.0.is_empty()).then_some(entry)
}

/// The name of a positive errno: `12` → `ENOMEM`, `512` → `ERESTARTSYS`.
pub fn name(errno: i32) -> Option<&'static str> {
    describe(errno).map(|(name, _)| name)
}

/// Whether a syscall failed with one of the kernel's restart codes: it was
/// interrupted by a signal, and the kernel restarts it or turns the code
/// into EINTR on the way out, so the program never sees this value.
pub fn is_restart(errno: i32) -> bool {
    matches!(errno, 512..=514 | 516)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names() {
        assert_eq!(name(1), Some("EPERM"));
        assert_eq!(name(12), Some("ENOMEM"));
        assert_eq!(name(22), Some("EINVAL"));
        assert_eq!(name(35), Some("EDEADLK"));
        assert_eq!(name(133), Some("EHWPOISON"));
        assert_eq!(name(512), Some("ERESTARTSYS"));
        assert_eq!(name(517), Some("EPROBE_DEFER"));
        assert_eq!(name(524), Some("ENOTSUPP"));
        for none in [0, 41, 58, 134, 520, 532, -1, 4095] {
            assert_eq!(name(none), None, "{none}");
        }
    }

    #[test]
    fn descriptions() {
        assert_eq!(describe(2), Some(("ENOENT", "No such file or directory")));
        assert_eq!(
            describe(524),
            Some(("ENOTSUPP", "Operation is not supported"))
        );
        assert_eq!(describe(520), None);
        for n in (0..134).chain(512..532) {
            if let Some((name, desc)) = describe(n) {
                assert!(!desc.is_empty(), "{name} has no description");
            }
        }
    }

    #[test]
    fn restart_codes() {
        let restart: Vec<_> = (0..4096).filter(|&n| is_restart(n)).collect();
        assert_eq!(restart, [512, 513, 514, 516]);
        for n in restart {
            assert!(name(n).unwrap().starts_with("ERESTART"), "{n}");
        }
    }

    /// The table agrees with the C library's names wherever it has one, and
    /// with nix's descriptions, which trace mode printed before it had this.
    #[cfg(not(any(
        target_arch = "mips",
        target_arch = "mips64",
        target_arch = "sparc",
        target_arch = "sparc64"
    )))]
    #[test]
    fn agrees_with_libc() {
        for n in 1..134 {
            let errno = nix::errno::Errno::from_raw(n);
            let theirs = format!("{errno:?}");
            if theirs != "UnknownErrno" {
                assert_eq!(
                    describe(n),
                    Some((theirs.as_str(), errno.desc())),
                    "errno {n}"
                );
            }
        }
    }
}
