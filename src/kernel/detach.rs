//! Detached children (the guardian, the clean-up child) keep only the
//! descriptors they need, so that none of them holds a pipe of the caller's
//! open (a pager or a shell waiting for end of file would wait for them).

/// Closes every descriptor but those in `keep`, and points 0-2 at
/// /dev/null, so a detached child holds no pipe of the caller's open.
pub fn close_all_but(keep: &[i32]) {
    let mut keep: Vec<libc::c_uint> = keep.iter().map(|&fd| fd as libc::c_uint).collect();
    keep.sort_unstable();
    // SAFETY: plain descriptor syscalls.
    unsafe {
        let null = libc::open(c"/dev/null".as_ptr(), libc::O_RDWR);
        for fd in 0..3 {
            if null >= 0 && !keep.contains(&(fd as libc::c_uint)) {
                libc::dup2(null, fd);
            }
        }
        // The gaps between the kept descriptors, from 3 up.
        let mut first: libc::c_uint = 3;
        for k in keep
            .into_iter()
            .filter(|&k| k >= 3)
            .chain([libc::c_uint::MAX])
        {
            if first < k {
                close_range(first, k - 1);
            }
            first = k.saturating_add(1);
        }
    }
}

/// Closes `first..=last`.
fn close_range(first: libc::c_uint, last: libc::c_uint) {
    // SAFETY: plain descriptor syscalls.
    unsafe {
        if libc::syscall(libc::SYS_close_range, first, last, 0) != 0 {
            // No close_range (before 5.9): the usual descriptor limit.
            for fd in first..=last.min(4096) {
                libc::close(fd as i32);
            }
        }
    }
}
