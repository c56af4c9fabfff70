//! What the integration tests share.

/// `b` without its SGR escapes (`ESC [ digits;… m`).
pub fn strip_sgr(b: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == 0x1b && b.get(i + 1) == Some(&b'[') {
            let mut j = i + 2;
            while j < b.len() && (b[j].is_ascii_digit() || b[j] == b';') {
                j += 1;
            }
            if b.get(j) == Some(&b'm') {
                i = j + 1;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

/// Makes sure the programs a test runs beside ftr are on this machine:
/// `tests/needs.sh` installs the missing ones with apt-get (as root), or
/// the test fails naming the command that installs them.
pub fn need(tools: &[&str]) {
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/needs.sh");
    let out = std::process::Command::new("bash")
        .arg(script)
        .args(tools)
        .output()
        .expect("run bash tests/needs.sh");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}
