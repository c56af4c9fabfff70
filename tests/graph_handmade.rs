//! Features no test kernel has, on hand-made records. Debian's 6.1 and
//! 6.12 are built without CONFIG_FUNCTION_GRAPH_RETVAL and _RETADDR, so
//! these records follow the kernel's structs (trace_entries.h: 6.12 puts
//! `retval` after `func` in the packed `ftrace_graph_ret`; 6.13+ adds the
//! packed `fgraph_retaddr_entry`), and the expected lines are the real
//! kernel lines of tests/fixtures/retval/reference-retval.txt (6.5-6.12
//! `= v` form and the 7.1 `ret=` form) or the kernel source's formats.
//! Also here: the live-reading behaviour the byte-identical fixtures (read
//! from `trace`, which sees the whole buffer) cannot show.

use ftr::kernel::format::Format;
use ftr::modes::graph::kernel_text::{Cmdlines, Kernel, KernelText, Options, RetvalStyle, Tracer};
use ftr::modes::graph::records::Layouts;
use ftr::modes::report::view::recolor;
use ftr::present::theme::Theme;
use ftr::source::kallsyms::Symbols;
use ftr::source::stream::Stream;

const COMMON: &str = "\tfield:unsigned short common_type;\toffset:0;\tsize:2;\tsigned:0;\n\
\tfield:int common_pid;\toffset:4;\tsize:4;\tsigned:1;\n\n";

fn format(name: &str, id: u16, fields: &[(&str, usize, usize)]) -> Format {
    let mut text = format!("name: {name}\nID: {id}\nformat:\n{COMMON}");
    for (decl, offset, size) in fields {
        text += &format!("\tfield:{decl};\toffset:{offset};\tsize:{size};\tsigned:0;\n");
    }
    Format::parse(&text).expect("format")
}

const ENTRY: u16 = 11;
const EXIT: u16 = 10;
const RETADDR_ENTRY: u16 = 12;

const PRINT: u16 = 5;

/// The graph's records, and trace_marker's.
fn layouts() -> Layouts {
    Layouts::new(vec![
        format(
            "print",
            PRINT,
            &[("unsigned long ip", 8, 8), ("char buf[]", 16, 0)],
        ),
        format(
            "funcgraph_entry",
            ENTRY,
            &[("unsigned long func", 8, 8), ("int depth", 16, 4)],
        ),
        format(
            "fgraph_retaddr_entry",
            RETADDR_ENTRY,
            &[
                ("unsigned long func", 8, 8),
                ("int depth", 16, 4),
                ("unsigned long retaddr", 20, 8),
            ],
        ),
        format(
            "funcgraph_exit",
            EXIT,
            &[
                ("unsigned long func", 8, 8),
                ("unsigned long retval", 16, 8),
                ("int depth", 24, 4),
                ("unsigned int overrun", 28, 4),
                ("unsigned long long calltime", 32, 8),
                ("unsigned long long rettime", 40, 8),
            ],
        ),
    ])
}

const SYMS: &str = "\
ffffffff81000000 T do_syscall_64
ffffffff81000660 T rb_simple_write
ffffffff810007d0 T mutex_unlock
ffffffff81000800 T __x64_sys_dup2
ffffffff81000900 T cpu_cgroup_can_attach
ffffffff81000a00 T load_misc_binary
ffffffff81000b00 T __kmalloc
ffffffff81000c00 T do_sys_openat2
ffffffff81000d00 T cgroup_migrate_add_task
ffffffff81000e00 T the_end
";

fn addr(name: &str) -> u64 {
    Symbols::parse(SYMS).address_of(name).expect(name)
}

fn text(options: &str, style: RetvalStyle) -> KernelText {
    KernelText::new(Kernel {
        layouts: layouts(),
        symbols: Symbols::parse(SYMS),
        cmdlines: Cmdlines::parse("245 cat\n"),
        nr_cpu_ids: 2,
        options: Options::from_trace_options(options),
        tracer: Tracer::FunctionGraph,
        retval_style: style,
        args: None,
    })
}

fn head(kind: u16) -> Vec<u8> {
    let mut r = kind.to_le_bytes().to_vec();
    r.extend([0, 0]);
    r.extend(245i32.to_le_bytes());
    r
}

fn entry(func: &str, depth: i32) -> Vec<u8> {
    let mut r = head(ENTRY);
    r.extend(addr(func).to_le_bytes());
    r.extend(depth.to_le_bytes());
    r
}

fn retaddr_entry(func: &str, depth: i32, retaddr: u64) -> Vec<u8> {
    let mut r = head(RETADDR_ENTRY);
    r.extend(addr(func).to_le_bytes());
    r.extend(depth.to_le_bytes());
    r.extend(retaddr.to_le_bytes());
    r
}

fn exit(func: &str, depth: i32, retval: u64, ns: u64) -> Vec<u8> {
    let mut r = head(EXIT);
    r.extend(addr(func).to_le_bytes());
    r.extend(retval.to_le_bytes());
    r.extend(depth.to_le_bytes());
    r.extend(0u32.to_le_bytes());
    r.extend(1_000u64.to_le_bytes());
    r.extend((1_000 + ns).to_le_bytes());
    r
}

/// Prints records of CPU `cpu` through a [`Stream`], then finishes. Also
/// checks that the same records in color (with and without errno names)
/// are the colored text of their plain text, tallies included.
fn render(options: &str, style: RetvalStyle, cpu: u32, records: &[(u64, Vec<u8>)]) -> String {
    let print = |text: KernelText| {
        let mut stream = Stream::new(text);
        for (ts, r) in records {
            stream.push(cpu, *ts, r);
        }
        let mut out = Vec::new();
        stream.finish(&mut out);
        (out, stream.sink().take_tally())
    };
    let (plain, _) = print(text(options, style));
    for errno_names in [false, true] {
        let theme = Theme::color();
        let colored = print(text(options, style).styled(theme, errno_names));
        assert_eq!(
            colored,
            recolor(&plain, theme, errno_names),
            "colored records differ from their colored text"
        );
    }
    String::from_utf8(plain).expect("utf-8")
}

const RETVAL: &str = "funcgraph-retval\n";

#[test]
fn retvals_6_5_to_6_12_print_with_equals() {
    let got = render(
        RETVAL,
        RetvalStyle::Equals,
        0,
        &[
            (1, entry("cpu_cgroup_can_attach", 0)),
            (2, entry("cgroup_migrate_add_task", 1)),
            (
                3,
                exit("cgroup_migrate_add_task", 1, 0xffff93fcfd346c00, 700),
            ),
            (4, exit("cpu_cgroup_can_attach", 0, -22i64 as u64, 5_123)),
        ],
    );
    assert_eq!(
        got,
        " 0)               |  cpu_cgroup_can_attach() {\n \
         0)   0.700 us    |    cgroup_migrate_add_task(); /* = 0xffff93fcfd346c00 */\n \
         0)   5.123 us    |  } /* cpu_cgroup_can_attach = -22 */\n"
    );
}

/// The return line of `func` (with a child, so not a leaf) returning `v`.
fn return_line(options: &str, func: &str, v: i64, ns: u64) -> String {
    let records = [
        (1, entry(func, 0)),
        (2, entry("the_end", 1)),
        (3, exit("the_end", 1, 0, 100)),
        (4, exit(func, 0, v as u64, ns)),
    ];
    let got = render(options, RetvalStyle::Ret, 1, &records);
    got.lines().last().unwrap_or_default().to_string()
}

#[test]
fn retvals_since_6_13_print_with_ret() {
    assert_eq!(
        return_line(RETVAL, "load_misc_binary", -8, 5_123),
        " 1)   5.123 us    |  } /* load_misc_binary ret=-8 */"
    );
    assert_eq!(
        return_line(RETVAL, "do_sys_openat2", -512, 120_300),
        " 1) ! 120.300 us  |  } /* do_sys_openat2 ret=-512 */"
    );
    // A 32-bit errno, sign-extended, still reads as one.
    assert_eq!(
        return_line(RETVAL, "load_misc_binary", 0xffff_fff8, 3_001),
        " 1)   3.001 us    |  } /* load_misc_binary ret=-8 */"
    );
    let leaf = render(
        "funcgraph-retval\nfuncgraph-retval-hex\n",
        RetvalStyle::Ret,
        1,
        &[
            (1, entry("__kmalloc", 0)),
            (2, exit("__kmalloc", 0, -12i64 as u64, 300)),
        ],
    );
    assert_eq!(
        leaf,
        " 1)   0.300 us    |  __kmalloc(); /* ret=0xfffffffffffffff4 */\n"
    );
}

#[test]
fn return_addresses_and_retvals_as_on_7_1() {
    let options = "funcgraph-retval\nfuncgraph-retaddr\nfuncgraph-proc\nfuncgraph-abstime\n";
    let ts = 11_469_356_000;
    let got = render(
        options,
        RetvalStyle::Ret,
        0,
        &[
            (
                ts,
                retaddr_entry("__x64_sys_dup2", 0, addr("do_syscall_64") + 0xaa),
            ),
            (
                ts,
                retaddr_entry("mutex_unlock", 1, addr("rb_simple_write") + 0xe1),
            ),
            (ts, exit("mutex_unlock", 1, 0xffff8f30837d0000, 1_062)),
            (ts + 5_000, exit("__x64_sys_dup2", 0, 1, 4_890)),
        ],
    );
    // The kernel's lines print `(regs=0x...)` and `(lock=0x...)` here:
    // argument names and types come from BTF, which ftr does not read.
    assert_eq!(
        got,
        "   11.469356 |   0)    cat-245     |               |  __x64_sys_dup2() { /* <-do_syscall_64+0xaa/0x660 */\n\
         \x20  11.469356 |   0)    cat-245     |   1.062 us    |    mutex_unlock(); /* <-rb_simple_write+0xe1/0x170 ret=0xffff8f30837d0000 */\n\
         \x20  11.469361 |   0)    cat-245     |   4.890 us    |  } /* __x64_sys_dup2 ret=0x1 */\n"
    );
}

#[test]
fn an_entry_without_its_next_record_yet_prints_split_as_trace_pipe_does() {
    let mut stream = Stream::new(text("", RetvalStyle::Equals));
    let mut out = Vec::new();
    stream.push(0, 1, &entry("mutex_unlock", 0));
    stream.pump(&mut out);
    assert!(out.is_empty(), "an entry waits for its look-ahead");
    stream.idle(0);
    stream.pump(&mut out);
    stream.push(0, 2, &exit("mutex_unlock", 0, 0, 1_500));
    stream.pump(&mut out);
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        " 0)               |  mutex_unlock() {\n 0)   1.500 us    |  }\n"
    );
}

#[test]
fn lost_events_and_orphan_returns() {
    let mut stream = Stream::new(text("", RetvalStyle::Equals));
    let mut out = Vec::new();
    stream.push_lost(1, 1885);
    stream.push(1, 5, &exit("do_sys_openat2", 1, 0, 2_000));
    stream.push_lost(1, 0);
    stream.push(1, 6, &exit("__x64_sys_dup2", 0, 0, 3_000));
    stream.finish(&mut out);
    assert_eq!(
        String::from_utf8(out).expect("utf-8"),
        "CPU:1 [LOST 1885 EVENTS]\n 1)   2.000 us    |    } /* do_sys_openat2 */\n\
         CPU:1 [LOST EVENTS]\n 1)   3.000 us    |  } /* __x64_sys_dup2 */\n"
    );
}

/// funcgraph-retaddr without funcgraph-retval: the leaf's comment is the
/// return address alone (one styled piece in color: `render` checks it).
#[test]
fn return_addresses_alone() {
    let got = render(
        "funcgraph-retaddr\n",
        RetvalStyle::Ret,
        0,
        &[
            (
                1,
                retaddr_entry("mutex_unlock", 0, addr("rb_simple_write") + 0xe1),
            ),
            (2, exit("mutex_unlock", 0, 0, 1_062)),
        ],
    );
    assert_eq!(
        got,
        " 0)   1.062 us    |  mutex_unlock(); /* <-rb_simple_write+0xe1/0x170 */\n"
    );
}

/// A trace_marker text over two lines: the comment's color ends with its
/// first line, as the renderer's line does; a byte that is not UTF-8 on the
/// second line does not change that.
#[test]
fn a_marker_over_two_lines_is_colored_as_its_text() {
    let printer = || text("", RetvalStyle::Equals);
    let mut marker = head(PRINT);
    marker.extend(addr("the_end").to_le_bytes());
    marker.extend(b"ok\nbad \xff\n\0");
    let print = |t: KernelText| {
        let mut stream = Stream::new(t);
        stream.push(0, 1, &marker);
        let mut out = Vec::new();
        stream.finish(&mut out);
        out
    };
    let plain = print(printer());
    assert_eq!(plain, b" 0)               |  /* ok\nbad \xff */\n");
    let colored = print(printer().styled(Theme::color(), false));
    assert_eq!(colored, recolor(&plain, Theme::color(), false).0);
}

/// One ring buffer page: its time, then each record with its delta.
fn page(ts: u64, records: &[(u32, Vec<u8>)]) -> Vec<u8> {
    let mut data = Vec::new();
    for (delta, r) in records {
        let mut r = r.clone();
        r.resize(r.len().next_multiple_of(4), 0);
        // type_len: the length in words (up to 28), then the delta.
        data.extend(((r.len() / 4) as u32 | delta << 5).to_le_bytes());
        data.extend(r);
    }
    let mut p = ts.to_le_bytes().to_vec();
    p.extend((data.len() as u64).to_le_bytes());
    p.extend(data);
    p.resize(4096, 0);
    p
}

/// A record that prints nothing (here: of a type no format names) still
/// takes its place in the merge: on a CPU whose clock steps back after
/// it, the CPUs' lines come out as the stream orders them.
#[test]
fn a_record_that_prints_nothing_keeps_its_place_in_the_merge() {
    let mut unknown = head(999);
    unknown.extend([0u8; 8]);
    let cpu0 = [
        page(100, &[(0, unknown)]),
        page(10, &[(0, exit("do_sys_openat2", 0, 0, 1_000))]),
    ]
    .concat();
    let cpu1 = page(50, &[(0, exit("the_end", 0, 0, 2_000))]);
    let pages = [cpu0, cpu1];
    let mut want = Vec::new();
    ftr::modes::graph::sources::render_pages(
        text("", RetvalStyle::Equals),
        4096,
        &pages,
        &mut want,
        |_| true,
    );
    let mut got = Vec::new();
    let texts = vec![text("", RetvalStyle::Equals), text("", RetvalStyle::Equals)];
    ftr::modes::report::parallel::render_pages(texts, 4096, &pages, 128, &mut got, |_| true);
    assert_eq!(
        String::from_utf8_lossy(&got),
        String::from_utf8_lossy(&want)
    );
    assert!(
        want.starts_with(b" 1)"),
        "{}",
        String::from_utf8_lossy(&want)
    );
}
