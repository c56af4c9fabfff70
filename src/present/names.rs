//! Matching names given by the user: globs and "did you mean".

/// Shell-style glob: `*`, `?` and `[abc]` / `[a-z]` / `[!a]` / `[^a]`, on
/// bytes. A `]` right after the `[` is part of the set; a `[` with no `]`
/// after it matches itself. Runs in O(pattern × name) at worst: patterns are
/// matched against every kernel function (~80k), so `*_*_*_*_z` must not
/// backtrack exponentially.
pub fn glob(pattern: &str, name: &str) -> bool {
    glob_steps(pattern, name).0
}

/// One piece of a pattern. Every piece but `Star` matches exactly one byte:
/// that is what lets a mismatch go back to the last `*` only.
#[derive(Clone, Copy)]
enum Token<'p> {
    Star,
    Any,
    Byte(u8),
    /// The bytes between the brackets, ranges `a-z` still spelled out.
    Set {
        negate: bool,
        items: &'p [u8],
    },
}

impl Token<'_> {
    /// Whether this one-byte token matches `c` (`Star` never gets here).
    fn matches(self, c: u8) -> bool {
        match self {
            Token::Star | Token::Any => true,
            Token::Byte(b) => b == c,
            Token::Set { negate, items } => set_has(items, c) != negate,
        }
    }
}

/// The pattern cut into tokens.
fn tokens(pattern: &[u8]) -> Vec<Token<'_>> {
    let mut out = Vec::with_capacity(pattern.len());
    let mut rest = pattern;
    while let Some((token, len)) = token_at(rest) {
        out.push(token);
        rest = &rest[len..];
    }
    out
}

/// The token at the start of `p`, and how many bytes it takes.
fn token_at(p: &[u8]) -> Option<(Token<'_>, usize)> {
    let token = match *p.first()? {
        b'*' => Token::Star,
        b'?' => Token::Any,
        b'[' => match set_close(p) {
            Some(close) => return Some((set(&p[1..close]), close + 1)),
            None => Token::Byte(b'['),
        },
        c => Token::Byte(c),
    };
    Some((token, 1))
}

/// Where the `]` closing the set `p` starts with is: the first one after the
/// set's first byte, so that `[]a]` is the set of `]` and `a`. (After `[!` a
/// `]` does close the set: `[!]` is the empty set negated, any byte.)
fn set_close(p: &[u8]) -> Option<usize> {
    p.iter().skip(2).position(|&c| c == b']').map(|i| i + 2)
}

/// The set from what is between its brackets.
fn set(inner: &[u8]) -> Token<'_> {
    match inner.split_first() {
        Some((b'!' | b'^', items)) => Token::Set {
            negate: true,
            items,
        },
        _ => Token::Set {
            negate: false,
            items: inner,
        },
    }
}

/// Whether `c` is in the set's items: single bytes and ranges `a-z` (a `-`
/// first or last is itself).
fn set_has(items: &[u8], c: u8) -> bool {
    let mut rest = items;
    loop {
        let (hit, tail) = match rest {
            [lo, b'-', hi, tail @ ..] => ((*lo..=*hi).contains(&c), tail),
            [b, tail @ ..] => (*b == c, tail),
            [] => return false,
        };
        if hit {
            return true;
        }
        rest = tail;
    }
}

/// [`glob`], and how many steps it took, so tests can see the bound.
///
/// Greedy: each `*` first matches nothing; on a mismatch, the last `*` seen
/// takes one more byte and matching resumes after it. Going back to an
/// earlier `*` never helps, since the last one can take any bytes an earlier
/// one would have. Each try restarts at a later name byte than the one
/// before, so there are at most `name + 1` tries of at most `tokens + 1`
/// steps each.
fn glob_steps(pattern: &str, name: &str) -> (bool, usize) {
    let tokens = tokens(pattern.as_bytes());
    let name = name.as_bytes();
    let (mut t, mut n) = (0, 0);
    // The token after the last `*`, and the name byte where that `*`'s match ends.
    let mut star: Option<(usize, usize)> = None;
    let mut steps = 0;
    loop {
        steps += 1;
        match tokens.get(t) {
            Some(Token::Star) => {
                t += 1;
                star = Some((t, n));
                continue;
            }
            Some(token) if n < name.len() && token.matches(name[n]) => {
                t += 1;
                n += 1;
                continue;
            }
            None if n == name.len() => return (true, steps),
            _ => {}
        }
        match star {
            Some((after, end)) if end < name.len() => {
                star = Some((after, end + 1));
                t = after;
                n = end + 1;
            }
            _ => return (false, steps),
        }
    }
}

pub fn is_glob(pattern: &str) -> bool {
    pattern.contains(['*', '?', '['])
}

/// The closest known name, if it is close enough to be a likely typo.
pub fn suggest<'a>(wrong: &str, known: impl IntoIterator<Item = &'a str>) -> Option<&'a str> {
    let limit = (wrong.len() / 3).clamp(1, 3);
    known
        .into_iter()
        .map(|k| (distance(wrong, k), k))
        .filter(|&(d, _)| d <= limit)
        .min_by_key(|&(d, k)| (d, k.len()))
        .map(|(_, k)| k)
}

/// Levenshtein distance.
fn distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur[j + 1] = (prev[j] + usize::from(ca != cb))
                .min(prev[j + 1] + 1)
                .min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn globs() {
        assert!(glob("pwrite*", "pwritev2"));
        assert!(glob("pwrite*", "pwrite64"));
        assert!(!glob("pwrite*", "write"));
        assert!(glob("?ead", "read"));
        assert!(glob("[rw]*", "write"));
        assert!(!glob("[!rw]*", "write"));
        assert!(glob("vfs_[a-r]*", "vfs_read"));
        assert!(glob("*", ""));
    }

    #[test]
    fn glob_edges() {
        assert!(glob("", ""));
        assert!(!glob("", "a"));
        assert!(glob("**", ""));
        assert!(glob("**", "vfs_read"));
        assert!(glob("vfs_*", "vfs_"));
        assert!(glob("vfs_**", "vfs_read"));
        assert!(glob("*_read", "vfs_read"));
        assert!(!glob("*_read", "vfs_readv"));
        assert!(glob("*read*", "do_readv"));
        assert!(glob("a*b*c", "abc"));
        assert!(glob("a*b*c", "axxbyybc"));
        assert!(!glob("a*b*c", "axxbyybcd"));
        assert!(!glob("?", ""));
        assert!(glob("??", "ab"));
        assert!(!glob("??", "abc"));
        assert!(!glob("vfs_read", "vfs_rea"));
    }

    #[test]
    fn glob_sets() {
        assert!(glob("[a-c]x", "bx"));
        assert!(!glob("[a-c]x", "dx"));
        assert!(glob("[a-cx-z]", "y"));
        assert!(glob("[!a-c]", "d"));
        assert!(!glob("[^a-c]", "b"));
        assert!(!glob("[a-c]", ""));
        assert!(!glob("[!a]", ""));
        assert!(glob("[a-]", "-") && glob("[-a]", "-") && !glob("[a-]", "b"));
        assert!(!glob("[c-a]", "b"));
        // A `]` right after `[` is in the set; after `[!` it closes it.
        assert!(glob("[]a]", "]") && glob("[]a]", "a") && !glob("[]a]", "b"));
        assert!(glob("[!]", "x"));
        assert!(glob("[!]a]", "ba]"));
        // An unclosed `[` is itself.
        assert!(glob("[", "["));
        assert!(glob("a[b", "a[b"));
        assert!(!glob("a[b", "ab"));
        assert!(glob("[]", "[]"));
        assert!(glob("*[", "x["));
        assert!(glob("[[]", "["));
    }

    /// The recursive matcher `glob` replaced, as it was: obviously right,
    /// exponential, and sharing no code with `glob`.
    fn recursive(p: &[u8], n: &[u8]) -> bool {
        match p.first() {
            None => n.is_empty(),
            Some(b'*') => (0..=n.len()).any(|i| recursive(&p[1..], &n[i..])),
            Some(b'?') => !n.is_empty() && recursive(&p[1..], &n[1..]),
            Some(b'[') => {
                let Some(close) = p.iter().skip(2).position(|&c| c == b']').map(|i| i + 2) else {
                    return n.first() == Some(&b'[') && recursive(&p[1..], &n[1..]);
                };
                let Some(&c) = n.first() else { return false };
                let set = &p[1..close];
                let (negate, set) = match set.first() {
                    Some(b'!') | Some(b'^') => (true, &set[1..]),
                    _ => (false, set),
                };
                let mut hit = false;
                let mut i = 0;
                while i < set.len() {
                    if i + 2 < set.len() && set[i + 1] == b'-' {
                        hit |= set[i] <= c && c <= set[i + 2];
                        i += 3;
                    } else {
                        hit |= set[i] == c;
                        i += 1;
                    }
                }
                hit != negate && recursive(&p[close + 1..], &n[1..])
            }
            Some(&c) => n.first() == Some(&c) && recursive(&p[1..], &n[1..]),
        }
    }

    /// Every string of up to `max` bytes from `alphabet`.
    fn strings(alphabet: &[u8], max: usize) -> Vec<String> {
        let mut all = vec![String::new()];
        let mut last = all.clone();
        for _ in 0..max {
            last = last
                .iter()
                .flat_map(|s| alphabet.iter().map(move |&c| format!("{s}{}", c as char)))
                .collect();
            all.extend(last.iter().cloned());
        }
        all
    }

    /// A small deterministic generator (an LCG), so tests need no crate.
    struct Lcg(u64);

    impl Lcg {
        fn below(&mut self, n: usize) -> usize {
            self.0 = self
                .0
                .wrapping_mul(6364136223846793005)
                .wrapping_add(1442695040888963407);
            ((self.0 >> 33) % n as u64) as usize
        }
    }

    #[test]
    fn glob_agrees_with_recursive_matcher() {
        let names = strings(b"ab-[]!", 3);
        for pattern in strings(b"ab-[]!^*?", 4) {
            for name in &names {
                let want = recursive(pattern.as_bytes(), name.as_bytes());
                assert_eq!(glob(&pattern, name), want, "{pattern:?} {name:?}");
            }
        }
        let pieces = [
            "*", "**", "?", "a", "b", "-", "[", "]", "[ab]", "[!a]", "[a-c]", "[^b-c]", "[]a]",
            "[!]",
        ];
        let mut rng = Lcg(1);
        for _ in 0..50_000 {
            let pattern: String = (0..1 + rng.below(5))
                .map(|_| pieces[rng.below(pieces.len())])
                .collect();
            let name: String = (0..rng.below(9))
                .map(|_| b"abc[]-"[rng.below(6)] as char)
                .collect();
            let want = recursive(pattern.as_bytes(), name.as_bytes());
            assert_eq!(glob(&pattern, &name), want, "{pattern:?} {name:?}");
        }
    }

    /// 80,000 names shaped like kernel functions, with many `_`; none ends in `z`.
    fn kernel_like_names() -> Vec<String> {
        let prefixes = [
            "__x64_sys_",
            "__ia32_sys_",
            "do_",
            "vfs_",
            "ext4_",
            "tcp_",
            "__",
            "trace_event_raw_event_",
        ];
        let words = [
            "read", "write", "open", "inode", "page", "cache", "lock", "unlock", "alloc", "free",
            "buffer", "queue", "work", "irq", "sched", "entity", "update", "flush", "map", "range",
        ];
        let mut rng = Lcg(7);
        (0..80_000)
            .map(|i| {
                let mut name = prefixes[rng.below(prefixes.len())].to_string();
                for _ in 0..1 + rng.below(6) {
                    name.push_str(words[rng.below(words.len())]);
                    name.push('_');
                }
                name.push_str(&i.to_string());
                name
            })
            .collect()
    }

    /// Asserts `glob`'s result and that it stayed within O(pattern × name).
    fn glob_bounded(pattern: &str, name: &str) -> bool {
        let (hit, steps) = glob_steps(pattern, name);
        let bound = (pattern.len() + 1) * (name.len() + 1);
        assert!(
            steps <= bound,
            "{pattern:?} {name:?}: {steps} steps > {bound}"
        );
        hit
    }

    #[test]
    fn glob_is_not_exponential_on_kernel_names() {
        let mut names = kernel_like_names();
        assert!(!names.iter().any(|n| n.ends_with('z')));
        let planted = [
            (1_000, "__x64_sys_io_uring_register_buf_ring_fuzz", true),
            (40_000, "a_b_c_d_e_f_g_z", true),
            (79_000, "_______z", true),
            (20_000, "a_b_c_d_e_f_z", false),
            (60_000, "trace_event_raw_event_fizz", false),
        ];
        for (at, name, _) in planted {
            names.insert(at, name.to_string());
        }
        let pattern = "*_*_*_*_*_*_*_*z";
        let hits: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| glob_bounded(pattern, n))
            .collect();
        let want: Vec<&str> = planted.iter().filter(|p| p.2).map(|p| p.1).collect();
        assert_eq!(hits, want);
    }

    #[test]
    fn glob_is_not_exponential_on_runs() {
        let pattern = "*a*a*a*a*a*a*a*a*b";
        let run = "a".repeat(200);
        assert!(!glob_bounded(pattern, &run));
        assert!(glob_bounded(pattern, &format!("{run}b")));
        assert!(!glob_bounded(pattern, &format!("{run}ba")));
        assert!(glob_bounded(&"*".repeat(50), &run));
        assert!(!glob_bounded(&format!("{}b", "*".repeat(50)), &run));
    }

    #[test]
    fn suggestions() {
        let known = ["pwritev2", "pwrite64", "write", "do_iter_write"];
        assert_eq!(suggest("pwritv2", known), Some("pwritev2"));
        assert_eq!(suggest("do_iter_wrte", known), Some("do_iter_write"));
        assert_eq!(suggest("xyzzy", known), None);
    }
}
