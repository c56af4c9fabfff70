//! Syscall arguments a person can read: flags, modes, commands and
//! signals by name, spelled as `perf trace` spells them (`RDONLY|CLOEXEC`,
//! `PRIVATE|ANONYMOUS`, `USR1`), with bits no name covers left in hex.
//!
//! Which decoder an argument gets is decided once per syscall, from its name
//! and the argument's name in the kernel's format file (`for_arg`); the
//! per-call work is a walk over a short table.

/// How one argument is shown.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decoder {
    OpenFlags,
    Mode,
    AtFlags,
    /// unlinkat's flags: 0x200 is AT_REMOVEDIR there.
    UnlinkFlags,
    /// faccessat2's flags: 0x200 is AT_EACCESS there.
    AccessAtFlags,
    AccessMode,
    FcntlCmd,
    Flock,
    Whence,
    Prot,
    MmapFlags,
    MremapFlags,
    Madvise,
    CloneFlags,
    Signal,
    SigprocmaskHow,
    WaitOptions,
    SocketFamily,
    SocketType,
    SocketProtocol,
    MsgFlags,
    FutexOp,
    EpollCtlOp,
    EventfdFlags,
    PrctlOption,
    RwfFlags,
    RenameFlags,
    StatxMask,
    IoctlCmd,
    ArchPrctlOption,
    Rlimit,
    GetrandomFlags,
}

/// The decoder of argument `arg` of `syscall`, if it has one.
pub fn for_arg(syscall: &str, arg: &str) -> Option<Decoder> {
    use Decoder::*;
    Some(match (syscall, arg) {
        ("open" | "openat" | "open_by_handle_at", "flags") => OpenFlags,
        (
            "open" | "openat" | "creat" | "mkdir" | "mkdirat" | "chmod" | "fchmod" | "fchmodat"
            | "mknod" | "mknodat",
            "mode",
        ) => Mode,
        ("unlinkat", "flag" | "flags") => UnlinkFlags,
        ("faccessat2", "flags") => AccessAtFlags,
        (
            "newfstatat" | "fstatat64" | "linkat" | "fchownat" | "utimensat" | "statx" | "execveat"
            | "name_to_handle_at" | "open_tree" | "move_mount" | "fchmodat2",
            "flag" | "flags",
        ) => AtFlags,
        ("access" | "faccessat" | "faccessat2", "mode") => AccessMode,
        ("fcntl", "cmd") => FcntlCmd,
        ("flock", "cmd") => Flock,
        ("lseek", "whence") => Whence,
        ("mmap" | "mprotect" | "pkey_mprotect", "prot") => Prot,
        ("mmap", "flags") => MmapFlags,
        ("mremap", "flags") => MremapFlags,
        ("madvise" | "process_madvise", "behavior") => Madvise,
        ("clone", "clone_flags") => CloneFlags,
        (
            "kill" | "tkill" | "tgkill" | "rt_sigaction" | "rt_sigqueueinfo" | "rt_tgsigqueueinfo",
            "sig",
        ) => Signal,
        ("pidfd_send_signal", "sig") => Signal,
        ("rt_sigprocmask", "how") => SigprocmaskHow,
        ("wait4" | "waitid", "options") => WaitOptions,
        ("socket" | "socketpair", "family") => SocketFamily,
        ("socket" | "socketpair", "type") => SocketType,
        ("socket" | "socketpair", "protocol") => SocketProtocol,
        (
            "send" | "sendto" | "recv" | "recvfrom" | "sendmsg" | "recvmsg" | "sendmmsg"
            | "recvmmsg",
            "flags",
        ) => MsgFlags,
        ("futex", "op") => FutexOp,
        ("epoll_ctl", "op") => EpollCtlOp,
        ("eventfd2", "flags") => EventfdFlags,
        ("prctl", "option") => PrctlOption,
        ("preadv2" | "pwritev2", "flags") => RwfFlags,
        ("renameat2", "flags") => RenameFlags,
        ("statx", "mask") => StatxMask,
        ("ioctl", "cmd") => IoctlCmd,
        ("arch_prctl", "option") => ArchPrctlOption,
        ("prlimit64" | "getrlimit" | "setrlimit", "resource") => Rlimit,
        ("getrandom", "flags") => GetrandomFlags,
        _ => return None,
    })
}

/// Appends `v` as `decoder` shows it.
pub fn write(out: &mut Vec<u8>, decoder: Decoder, v: u64) {
    use Decoder::*;
    match decoder {
        OpenFlags => open_flags(out, v),
        Mode => bits(out, v, MODE),
        AtFlags => bits(out, v, AT_FLAGS),
        UnlinkFlags => bits(out, v, &[(0x200, "REMOVEDIR")]),
        AccessAtFlags => bits(out, v, ACCESS_AT_FLAGS),
        AccessMode if v == 0 => out.push(b'F'),
        AccessMode => bits(out, v, &[(4, "R"), (2, "W"), (1, "X")]),
        FcntlCmd => value(out, v, FCNTL_CMDS),
        Flock => bits(out, v, &[(1, "SH"), (2, "EX"), (8, "UN"), (4, "NB")]),
        Whence => value(
            out,
            v,
            &[(0, "SET"), (1, "CUR"), (2, "END"), (3, "DATA"), (4, "HOLE")],
        ),
        Prot if v == 0 => out.extend_from_slice(b"NONE"),
        Prot => bits(out, v, PROT),
        MmapFlags => mmap_flags(out, v),
        MremapFlags => bits(out, v, &[(1, "MAYMOVE"), (2, "FIXED"), (4, "DONTUNMAP")]),
        Madvise => value(out, v, MADVISE),
        CloneFlags => bits(out, v, CLONE_FLAGS),
        Signal => value(out, v, SIGNALS),
        SigprocmaskHow => value(out, v, &[(0, "BLOCK"), (1, "UNBLOCK"), (2, "SETMASK")]),
        WaitOptions => bits(out, v, WAIT_OPTIONS),
        SocketFamily => value(out, v, FAMILIES),
        SocketType => socket_type(out, v),
        SocketProtocol => value(out, v, PROTOCOLS),
        MsgFlags => bits(out, v, MSG_FLAGS),
        FutexOp => futex_op(out, v),
        EpollCtlOp => value(out, v, &[(1, "ADD"), (2, "DEL"), (3, "MOD")]),
        EventfdFlags => bits(
            out,
            v,
            &[
                (0o2000000, "CLOEXEC"),
                (0o4000, "NONBLOCK"),
                (1, "SEMAPHORE"),
            ],
        ),
        PrctlOption => value(out, v, PRCTL),
        RwfFlags => bits(out, v, RWF),
        RenameFlags => bits(
            out,
            v,
            &[(1, "NOREPLACE"), (2, "EXCHANGE"), (4, "WHITEOUT")],
        ),
        StatxMask => bits(out, v, STATX_MASK),
        ArchPrctlOption => value(out, v, ARCH_PRCTL),
        Rlimit => value(out, v, RLIMITS),
        GetrandomFlags => bits(out, v, &[(1, "NONBLOCK"), (2, "RANDOM"), (4, "INSECURE")]),
        IoctlCmd => match IOCTLS.iter().find(|e| e.0 == v) {
            Some((_, name)) => out.extend_from_slice(name.as_bytes()),
            None => hex_or_zero(out, v),
        },
    }
}

/// `A|B|0x40`: the names of the bits set, in the table's order (a name may
/// cover several bits), then what is left in hex; `0` for none.
fn bits(out: &mut Vec<u8>, v: u64, table: &[(u64, &str)]) {
    let start = out.len();
    let mut left = v;
    for &(mask, name) in table {
        if mask != 0 && left & mask == mask {
            sep(out, start);
            out.extend_from_slice(name.as_bytes());
            left &= !mask;
        }
    }
    if left != 0 || out.len() == start {
        sep(out, start);
        hex_or_zero(out, left);
    }
}

/// The name of `v`, or `v` in decimal.
fn value(out: &mut Vec<u8>, v: u64, table: &[(u64, &str)]) {
    match table.iter().find(|e| e.0 == v) {
        Some((_, name)) => out.extend_from_slice(name.as_bytes()),
        None => crate::present::digits::push_signed(out, v as i64),
    }
}

fn sep(out: &mut Vec<u8>, start: usize) {
    if out.len() > start {
        out.push(b'|');
    }
}

fn hex_or_zero(out: &mut Vec<u8>, v: u64) {
    if v == 0 {
        out.push(b'0');
    } else {
        out.extend_from_slice(format!("{v:#x}").as_bytes());
    }
}

const O_ACCMODE: u64 = 3;

/// The access mode first when it is RDONLY (as perf prints it), then the
/// other flags, WRONLY and RDWR last.
fn open_flags(out: &mut Vec<u8>, v: u64) {
    let start = out.len();
    if v & O_ACCMODE == 0 {
        out.extend_from_slice(b"RDONLY");
    }
    let mut left = v;
    for &(mask, name) in OPEN_FLAGS {
        if left & mask == mask {
            sep(out, start);
            out.extend_from_slice(name.as_bytes());
            left &= !mask;
        }
    }
    if left != 0 {
        sep(out, start);
        hex_or_zero(out, left);
    }
}

/// The mapping type (SHARED, PRIVATE, SHARED_VALIDATE) and then the flags.
fn mmap_flags(out: &mut Vec<u8>, v: u64) {
    let start = out.len();
    match v & 3 {
        1 => out.extend_from_slice(b"SHARED"),
        2 => out.extend_from_slice(b"PRIVATE"),
        3 => out.extend_from_slice(b"SHARED_VALIDATE"),
        _ => {}
    }
    let rest = v & !3;
    if rest != 0 || out.len() == start {
        sep(out, start);
        let mut tail = Vec::new();
        bits(&mut tail, rest, MMAP_FLAGS);
        out.extend_from_slice(&tail);
    }
}

/// The type (STREAM, DGRAM…), then CLOEXEC and NONBLOCK.
fn socket_type(out: &mut Vec<u8>, v: u64) {
    const FLAGS: u64 = 0o2000000 | 0o4000;
    value(out, v & !FLAGS, SOCKET_TYPES);
    for (mask, name) in [(0o2000000u64, "CLOEXEC"), (0o4000, "NONBLOCK")] {
        if v & mask != 0 {
            out.push(b'|');
            out.extend_from_slice(name.as_bytes());
        }
    }
}

/// The command, then PRIVATE_FLAG and CLOCK_REALTIME.
fn futex_op(out: &mut Vec<u8>, v: u64) {
    value(out, v & 0x7f, FUTEX_OPS);
    for (mask, name) in [(128u64, "PRIVATE_FLAG"), (256, "CLOCK_REALTIME")] {
        if v & mask != 0 {
            out.push(b'|');
            out.extend_from_slice(name.as_bytes());
        }
    }
}

const OPEN_FLAGS: &[(u64, &str)] = &[
    (0o2000, "APPEND"),
    (0o20000, "ASYNC"),
    (0o2000000, "CLOEXEC"),
    (0o100, "CREAT"),
    (0o40000, "DIRECT"),
    (0o20200000, "TMPFILE"), // holds DIRECTORY's bit
    (0o200000, "DIRECTORY"),
    (0o200, "EXCL"),
    (0o100000, "LARGEFILE"),
    (0o1000000, "NOATIME"),
    (0o400, "NOCTTY"),
    (0o400000, "NOFOLLOW"),
    (0o4000, "NONBLOCK"),
    (0o10000000, "PATH"),
    (0o4010000, "SYNC"),
    (0o10000, "DSYNC"),
    (0o1000, "TRUNC"),
    (1, "WRONLY"),
    (2, "RDWR"),
];

/// Combined permission groups first, as perf trace does.
const MODE: &[(u64, &str)] = &[
    (0o7777, "IALLUGO"),
    (0o777, "IRWXUGO"),
    (0o444, "IRUGO"),
    (0o222, "IWUGO"),
    (0o111, "IXUGO"),
    (0o4000, "ISUID"),
    (0o2000, "ISGID"),
    (0o1000, "ISVTX"),
    (0o700, "IRWXU"),
    (0o400, "IRUSR"),
    (0o200, "IWUSR"),
    (0o100, "IXUSR"),
    (0o70, "IRWXG"),
    (0o40, "IRGRP"),
    (0o20, "IWGRP"),
    (0o10, "IXGRP"),
    (0o7, "IRWXO"),
    (0o4, "IROTH"),
    (0o2, "IWOTH"),
    (0o1, "IXOTH"),
];

const AT_FLAGS: &[(u64, &str)] = &[
    (0x100, "SYMLINK_NOFOLLOW"),
    (0x400, "SYMLINK_FOLLOW"),
    (0x800, "NO_AUTOMOUNT"),
    (0x1000, "EMPTY_PATH"),
    (0x2000, "STATX_FORCE_SYNC"),
    (0x4000, "STATX_DONT_SYNC"),
    (0x8000, "RECURSIVE"),
];

const ACCESS_AT_FLAGS: &[(u64, &str)] = &[
    (0x200, "EACCESS"),
    (0x100, "SYMLINK_NOFOLLOW"),
    (0x1000, "EMPTY_PATH"),
];

const FCNTL_CMDS: &[(u64, &str)] = &[
    (0, "DUPFD"),
    (1, "GETFD"),
    (2, "SETFD"),
    (3, "GETFL"),
    (4, "SETFL"),
    (5, "GETLK"),
    (6, "SETLK"),
    (7, "SETLKW"),
    (8, "SETOWN"),
    (9, "GETOWN"),
    (10, "SETSIG"),
    (11, "GETSIG"),
    (15, "SETOWN_EX"),
    (16, "GETOWN_EX"),
    (36, "OFD_GETLK"),
    (37, "OFD_SETLK"),
    (38, "OFD_SETLKW"),
    (1024, "SETLEASE"),
    (1025, "GETLEASE"),
    (1026, "NOTIFY"),
    (1030, "DUPFD_CLOEXEC"),
    (1031, "SETPIPE_SZ"),
    (1032, "GETPIPE_SZ"),
    (1033, "ADD_SEALS"),
    (1034, "GET_SEALS"),
];

const PROT: &[(u64, &str)] = &[
    (1, "READ"),
    (2, "WRITE"),
    (4, "EXEC"),
    (8, "SEM"),
    (0x01000000, "GROWSDOWN"),
    (0x02000000, "GROWSUP"),
];

const MMAP_FLAGS: &[(u64, &str)] = &[
    (0x10, "FIXED"),
    (0x20, "ANONYMOUS"),
    (0x40, "32BIT"),
    (0x100, "GROWSDOWN"),
    (0x800, "DENYWRITE"),
    (0x1000, "EXECUTABLE"),
    (0x2000, "LOCKED"),
    (0x4000, "NORESERVE"),
    (0x8000, "POPULATE"),
    (0x10000, "NONBLOCK"),
    (0x20000, "STACK"),
    (0x40000, "HUGETLB"),
    (0x80000, "SYNC"),
    (0x100000, "FIXED_NOREPLACE"),
    (0x4000000, "UNINITIALIZED"),
];

const MADVISE: &[(u64, &str)] = &[
    (0, "MADV_NORMAL"),
    (1, "MADV_RANDOM"),
    (2, "MADV_SEQUENTIAL"),
    (3, "MADV_WILLNEED"),
    (4, "MADV_DONTNEED"),
    (8, "MADV_FREE"),
    (9, "MADV_REMOVE"),
    (10, "MADV_DONTFORK"),
    (11, "MADV_DOFORK"),
    (12, "MADV_MERGEABLE"),
    (13, "MADV_UNMERGEABLE"),
    (14, "MADV_HUGEPAGE"),
    (15, "MADV_NOHUGEPAGE"),
    (16, "MADV_DONTDUMP"),
    (17, "MADV_DODUMP"),
    (18, "MADV_WIPEONFORK"),
    (19, "MADV_KEEPONFORK"),
    (20, "MADV_COLD"),
    (21, "MADV_PAGEOUT"),
    (22, "MADV_POPULATE_READ"),
    (23, "MADV_POPULATE_WRITE"),
    (24, "MADV_DONTNEED_LOCKED"),
    (25, "MADV_COLLAPSE"),
    (100, "MADV_HWPOISON"),
    (101, "MADV_SOFT_OFFLINE"),
];

/// The exit signal (low byte) is left as a number, as perf leaves it.
const CLONE_FLAGS: &[(u64, &str)] = &[
    (0x100, "VM"),
    (0x200, "FS"),
    (0x400, "FILES"),
    (0x800, "SIGHAND"),
    (0x1000, "PIDFD"),
    (0x2000, "PTRACE"),
    (0x4000, "VFORK"),
    (0x8000, "PARENT"),
    (0x10000, "THREAD"),
    (0x20000, "NEWNS"),
    (0x40000, "SYSVSEM"),
    (0x80000, "SETTLS"),
    (0x100000, "PARENT_SETTID"),
    (0x200000, "CHILD_CLEARTID"),
    (0x400000, "DETACHED"),
    (0x800000, "UNTRACED"),
    (0x1000000, "CHILD_SETTID"),
    (0x2000000, "NEWCGROUP"),
    (0x4000000, "NEWUTS"),
    (0x8000000, "NEWIPC"),
    (0x10000000, "NEWUSER"),
    (0x20000000, "NEWPID"),
    (0x40000000, "NEWNET"),
    (0x80000000, "IO"),
];

const SIGNALS: &[(u64, &str)] = &[
    (1, "HUP"),
    (2, "INT"),
    (3, "QUIT"),
    (4, "ILL"),
    (5, "TRAP"),
    (6, "ABRT"),
    (7, "BUS"),
    (8, "FPE"),
    (9, "KILL"),
    (10, "USR1"),
    (11, "SEGV"),
    (12, "USR2"),
    (13, "PIPE"),
    (14, "ALRM"),
    (15, "TERM"),
    (16, "STKFLT"),
    (17, "CHLD"),
    (18, "CONT"),
    (19, "STOP"),
    (20, "TSTP"),
    (21, "TTIN"),
    (22, "TTOU"),
    (23, "URG"),
    (24, "XCPU"),
    (25, "XFSZ"),
    (26, "VTALRM"),
    (27, "PROF"),
    (28, "WINCH"),
    (29, "IO"),
    (30, "PWR"),
    (31, "SYS"),
];

const WAIT_OPTIONS: &[(u64, &str)] = &[
    (1, "NOHANG"),
    (2, "UNTRACED"),
    (4, "EXITED"),
    (8, "CONTINUED"),
    (0x01000000, "NOWAIT"),
    (0x20000000, "NOTHREAD"),
    (0x40000000, "ALL"),
    (0x80000000, "CLONE"),
];

const FAMILIES: &[(u64, &str)] = &[
    (0, "UNSPEC"),
    (1, "LOCAL"),
    (2, "INET"),
    (10, "INET6"),
    (16, "NETLINK"),
    (17, "PACKET"),
    (38, "ALG"),
    (40, "VSOCK"),
    (44, "XDP"),
];

const SOCKET_TYPES: &[(u64, &str)] = &[
    (1, "STREAM"),
    (2, "DGRAM"),
    (3, "RAW"),
    (4, "RDM"),
    (5, "SEQPACKET"),
    (6, "DCCP"),
    (10, "PACKET"),
];

const PROTOCOLS: &[(u64, &str)] = &[
    (0, "IP"),
    (1, "ICMP"),
    (6, "TCP"),
    (17, "UDP"),
    (58, "ICMPV6"),
    (132, "SCTP"),
    (136, "UDPLITE"),
    (255, "RAW"),
    (262, "MPTCP"),
];

const MSG_FLAGS: &[(u64, &str)] = &[
    (1, "OOB"),
    (2, "PEEK"),
    (4, "DONTROUTE"),
    (8, "CTRUNC"),
    (0x10, "PROXY"),
    (0x20, "TRUNC"),
    (0x40, "DONTWAIT"),
    (0x80, "EOR"),
    (0x100, "WAITALL"),
    (0x200, "FIN"),
    (0x400, "SYN"),
    (0x800, "CONFIRM"),
    (0x1000, "RST"),
    (0x2000, "ERRQUEUE"),
    (0x4000, "NOSIGNAL"),
    (0x8000, "MORE"),
    (0x10000, "WAITFORONE"),
    (0x20000, "BATCH"),
    (0x4000000, "ZEROCOPY"),
    (0x20000000, "FASTOPEN"),
    (0x40000000, "CMSG_CLOEXEC"),
];

const FUTEX_OPS: &[(u64, &str)] = &[
    (0, "WAIT"),
    (1, "WAKE"),
    (2, "FD"),
    (3, "REQUEUE"),
    (4, "CMP_REQUEUE"),
    (5, "WAKE_OP"),
    (6, "LOCK_PI"),
    (7, "UNLOCK_PI"),
    (8, "TRYLOCK_PI"),
    (9, "WAIT_BITSET"),
    (10, "WAKE_BITSET"),
    (11, "WAIT_REQUEUE_PI"),
    (12, "CMP_REQUEUE_PI"),
    (13, "LOCK_PI2"),
];

const PRCTL: &[(u64, &str)] = &[
    (1, "SET_PDEATHSIG"),
    (2, "GET_PDEATHSIG"),
    (3, "GET_DUMPABLE"),
    (4, "SET_DUMPABLE"),
    (8, "SET_KEEPCAPS"),
    (15, "SET_NAME"),
    (16, "GET_NAME"),
    (22, "SET_SECCOMP"),
    (23, "CAPBSET_READ"),
    (24, "CAPBSET_DROP"),
    (29, "SET_TIMERSLACK"),
    (36, "SET_CHILD_SUBREAPER"),
    (37, "GET_CHILD_SUBREAPER"),
    (38, "SET_NO_NEW_PRIVS"),
    (39, "GET_NO_NEW_PRIVS"),
    (47, "CAP_AMBIENT"),
    (0x59616d61, "SET_PTRACER"),
    (0x53564d41, "SET_VMA"),
];

const ARCH_PRCTL: &[(u64, &str)] = &[
    (0x1001, "SET_GS"),
    (0x1002, "SET_FS"),
    (0x1003, "GET_FS"),
    (0x1004, "GET_GS"),
    (0x1011, "GET_CPUID"),
    (0x1012, "SET_CPUID"),
    (0x2001, "MAP_VDSO_X32"),
    (0x2002, "MAP_VDSO_32"),
    (0x2003, "MAP_VDSO_64"),
    (0x4001, "GET_UNTAG_MASK"),
    (0x4002, "ENABLE_TAGGED_ADDR"),
    (0x4003, "GET_MAX_TAG_BITS"),
    (0x4004, "FORCE_TAGGED_SVA"),
    (0x5001, "SHSTK_ENABLE"),
    (0x5002, "SHSTK_DISABLE"),
    (0x5003, "SHSTK_LOCK"),
    (0x5004, "SHSTK_UNLOCK"),
    (0x5005, "SHSTK_STATUS"),
];

const RLIMITS: &[(u64, &str)] = &[
    (0, "CPU"),
    (1, "FSIZE"),
    (2, "DATA"),
    (3, "STACK"),
    (4, "CORE"),
    (5, "RSS"),
    (6, "NPROC"),
    (7, "NOFILE"),
    (8, "MEMLOCK"),
    (9, "AS"),
    (10, "LOCKS"),
    (11, "SIGPENDING"),
    (12, "MSGQUEUE"),
    (13, "NICE"),
    (14, "RTPRIO"),
    (15, "RTTIME"),
];

const RWF: &[(u64, &str)] = &[
    (1, "HIPRI"),
    (2, "DSYNC"),
    (4, "SYNC"),
    (8, "NOWAIT"),
    (0x10, "APPEND"),
    (0x20, "NOAPPEND"),
    (0x40, "ATOMIC"),
    (0x80, "DONTCACHE"),
];

const STATX_MASK: &[(u64, &str)] = &[
    (0x7ff, "BASIC_STATS"),
    (0x1, "TYPE"),
    (0x2, "MODE"),
    (0x4, "NLINK"),
    (0x8, "UID"),
    (0x10, "GID"),
    (0x20, "ATIME"),
    (0x40, "MTIME"),
    (0x80, "CTIME"),
    (0x100, "INO"),
    (0x200, "SIZE"),
    (0x400, "BLOCKS"),
    (0x800, "BTIME"),
    (0x1000, "MNT_ID"),
    (0x2000, "DIOALIGN"),
    (0x4000, "MNT_ID_UNIQUE"),
    (0x8000, "SUBVOL"),
    (0x10000, "WRITE_ATOMIC"),
];

/// Common terminal and file ioctls (asm-generic numbers, x86_64).
const IOCTLS: &[(u64, &str)] = &[
    (1, "FIBMAP"),
    (2, "FIGETBSZ"),
    (0x5401, "TCGETS"),
    (0x5402, "TCSETS"),
    (0x5403, "TCSETSW"),
    (0x5404, "TCSETSF"),
    (0x540b, "TCFLSH"),
    (0x540e, "TIOCSCTTY"),
    (0x540f, "TIOCGPGRP"),
    (0x5410, "TIOCSPGRP"),
    (0x5413, "TIOCGWINSZ"),
    (0x5414, "TIOCSWINSZ"),
    (0x541b, "FIONREAD"),
    (0x5421, "FIONBIO"),
    (0x5450, "FIONCLEX"),
    (0x5451, "FIOCLEX"),
    (0x5452, "FIOASYNC"),
    (0x80045430, "TIOCGPTN"),
    (0x40045431, "TIOCSPTLCK"),
    (0x80086601, "FS_IOC_GETFLAGS"),
    (0x40086602, "FS_IOC_SETFLAGS"),
    (0x40049409, "FICLONE"),
    (0x4020940d, "FICLONERANGE"),
    (0xc020660b, "FS_IOC_FIEMAP"),
];

#[cfg(test)]
mod tests {
    use super::*;

    fn show(d: Decoder, v: u64) -> String {
        let mut out = Vec::new();
        write(&mut out, d, v);
        String::from_utf8(out).unwrap()
    }

    /// The values perf trace 6.1 printed on this machine for a program that
    /// touches each family (tests/fixtures/decode/families.c).
    #[test]
    fn spelled_as_perf_trace_spells_them() {
        use Decoder::*;
        let cases: &[(Decoder, u64, &str)] = &[
            (OpenFlags, 0o2000000, "RDONLY|CLOEXEC"),
            (OpenFlags, 0o2001101, "CLOEXEC|CREAT|TRUNC|WRONLY"),
            (OpenFlags, 0o100002, "LARGEFILE|RDWR"),
            (OpenFlags, 0o20200002, "TMPFILE|RDWR"),
            (Mode, 0o644, "IRUGO|IWUSR"),
            (Mode, 0o755, "IRUGO|IXUGO|IWUSR"),
            (Mode, 0, "0"),
            (AccessMode, 4, "R"),
            (AccessMode, 6, "R|W"),
            (AccessMode, 0, "F"),
            (ArchPrctlOption, 0x1002, "SET_FS"),
            (Rlimit, 3, "STACK"),
            (Rlimit, 7, "NOFILE"),
            (GetrandomFlags, 1, "NONBLOCK"),
            (Whence, 2, "END"),
            (FcntlCmd, 2, "SETFD"),
            (FcntlCmd, 3, "GETFL"),
            (Flock, 6, "EX|NB"),
            (Prot, 3, "READ|WRITE"),
            (Prot, 5, "READ|EXEC"),
            (Prot, 0, "NONE"),
            (MmapFlags, 0x22, "PRIVATE|ANONYMOUS"),
            (MmapFlags, 0x812, "PRIVATE|FIXED|DENYWRITE"),
            (Madvise, 4, "MADV_DONTNEED"),
            (SocketFamily, 2, "INET"),
            (SocketType, 0o2000001, "STREAM|CLOEXEC"),
            (SocketProtocol, 6, "TCP"),
            (SigprocmaskHow, 0, "BLOCK"),
            (Signal, 10, "USR1"),
            (EpollCtlOp, 1, "ADD"),
            (EventfdFlags, 0o2004000, "CLOEXEC|NONBLOCK"),
            (PrctlOption, 15, "SET_NAME"),
            (RenameFlags, 1, "NOREPLACE"),
            (CloneFlags, 0x1200011, "CHILD_CLEARTID|CHILD_SETTID|0x11"),
            (WaitOptions, 0x40000001, "NOHANG|ALL"),
            (RwfFlags, 2, "DSYNC"),
            (UnlinkFlags, 0x200, "REMOVEDIR"),
            (AccessAtFlags, 0x200, "EACCESS"),
            (AtFlags, 0x1100, "SYMLINK_NOFOLLOW|EMPTY_PATH"),
            (FutexOp, 0x81, "WAKE|PRIVATE_FLAG"),
            (StatxMask, 0xfff, "BASIC_STATS|BTIME"),
            (MsgFlags, 0x4040, "DONTWAIT|NOSIGNAL"),
            (MremapFlags, 1, "MAYMOVE"),
            (IoctlCmd, 0x5401, "TCGETS"),
            (IoctlCmd, 0x5413, "TIOCGWINSZ"),
        ];
        for &(d, v, want) in cases {
            assert_eq!(show(d, v), want, "{d:?} {v:#o}");
        }
    }

    #[test]
    fn unnamed_values_stay_numbers() {
        assert_eq!(show(Decoder::Signal, 64), "64");
        assert_eq!(show(Decoder::Whence, 9), "9");
        assert_eq!(show(Decoder::RenameFlags, 0x18), "0x18");
        assert_eq!(show(Decoder::Flock, 0), "0");
        assert_eq!(show(Decoder::MmapFlags, 0), "0");
        assert_eq!(show(Decoder::IoctlCmd, 0xdead), "0xdead");
    }

    #[test]
    fn every_table_names_each_value_once() {
        for table in [
            FCNTL_CMDS,
            MADVISE,
            SIGNALS,
            FAMILIES,
            SOCKET_TYPES,
            PROTOCOLS,
            FUTEX_OPS,
            PRCTL,
            ARCH_PRCTL,
            RLIMITS,
        ] {
            let mut values: Vec<u64> = table.iter().map(|e| e.0).collect();
            values.sort();
            let n = values.len();
            values.dedup();
            assert_eq!(values.len(), n, "{table:?}");
        }
        // Bit tables: a flag's name covers bits no earlier name took whole.
        for table in [PROT, MMAP_FLAGS, CLONE_FLAGS, WAIT_OPTIONS, MSG_FLAGS, RWF] {
            let mut seen = 0u64;
            for &(mask, name) in table {
                assert_eq!(seen & mask, 0, "{name} overlaps");
                seen |= mask;
            }
        }
    }

    #[test]
    fn arguments_get_their_decoder_by_syscall_and_name() {
        assert_eq!(for_arg("openat", "flags"), Some(Decoder::OpenFlags));
        assert_eq!(for_arg("openat", "mode"), Some(Decoder::Mode));
        assert_eq!(for_arg("unlinkat", "flag"), Some(Decoder::UnlinkFlags));
        assert_eq!(for_arg("mmap", "prot"), Some(Decoder::Prot));
        assert_eq!(for_arg("pwritev2", "flags"), Some(Decoder::RwfFlags));
        assert_eq!(for_arg("write", "count"), None);
        assert_eq!(for_arg("epoll_create1", "flags"), None);
    }
}
