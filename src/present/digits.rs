//! Decimal numbers and padding written straight into an output buffer:
//! the per-line columns of the renderers, where `write!` and its formatter
//! machinery cost more than the rest of the line. Short pieces are written
//! as fixed-size moves and then cut to length, which the compiler inlines,
//! instead of a library copy per piece.

/// Appends `v` in decimal.
#[inline]
pub fn push(out: &mut Vec<u8>, v: u64) {
    let n = len(v);
    let mut buf = [0u8; 20];
    let mut v = v;
    for at in (0..n).rev() {
        buf[at] = b'0' + (v % 10) as u8;
        v /= 10;
    }
    let start = out.len();
    out.extend_from_slice(&buf);
    out.truncate(start + n);
}

/// Appends `n` spaces.
#[inline]
pub fn spaces(out: &mut Vec<u8>, n: usize) {
    const SPACES: [u8; 32] = [b' '; 32];
    if n <= SPACES.len() {
        let start = out.len();
        out.extend_from_slice(&SPACES);
        out.truncate(start + n);
    } else {
        out.resize(out.len() + n, b' ');
    }
}

/// Appends `v` in decimal, right-aligned in `width` columns (`{v:>width$}`).
pub fn push_right(out: &mut Vec<u8>, v: u64, width: usize) {
    spaces(out, width.saturating_sub(len(v)));
    push(out, v);
}

/// Appends `v` in decimal with leading zeros up to `width` digits (`{v:0width$}`).
pub fn push_zeros(out: &mut Vec<u8>, v: u64, width: usize) {
    out.resize(out.len() + width.saturating_sub(len(v)), b'0');
    push(out, v);
}

/// Appends a signed `v` in decimal.
pub fn push_signed(out: &mut Vec<u8>, v: i64) {
    if v < 0 {
        out.push(b'-');
    }
    push(out, v.unsigned_abs());
}

/// The number of decimal digits of `v`.
#[inline]
pub fn len(v: u64) -> usize {
    let mut n = 1;
    let mut v = v;
    while v >= 10 {
        v /= 10;
        n += 1;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaces_of_any_count() {
        for n in [0, 1, 31, 32, 33, 100] {
            let mut out = b"x".to_vec();
            spaces(&mut out, n);
            assert_eq!(out.len(), n + 1);
            assert!(out[1..].iter().all(|&b| b == b' '));
        }
    }

    #[test]
    fn same_as_the_formatter() {
        for v in [0u64, 1, 9, 10, 99, 100, 12345, 1 << 40, u64::MAX] {
            let mut out = Vec::new();
            push(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
            for w in [0, 3, 7, 25] {
                let mut r = Vec::new();
                push_right(&mut r, v, w);
                assert_eq!(r, format!("{v:>w$}").as_bytes());
                let mut z = Vec::new();
                push_zeros(&mut z, v, w);
                assert_eq!(z, format!("{v:0w$}").as_bytes());
            }
        }
        for v in [0i64, -1, 42, i64::MIN, i64::MAX] {
            let mut out = Vec::new();
            push_signed(&mut out, v);
            assert_eq!(out, v.to_string().as_bytes());
        }
    }
}
