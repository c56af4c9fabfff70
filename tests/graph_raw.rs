//! The proof: every capture in tests/fixtures/graph-raw (made by
//! tests/vm/make-raw-fixtures.sh on stock 6.1, 6.12 and 7.2 kernels) is
//! rendered from its raw pages and compared byte for byte with the `trace`
//! text the kernel printed for the same buffer. Only the header (the
//! leading lines starting with `#`) is left out: ftr prints no header.

use std::fs;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use ftr::kernel::btf::{Btf, KernelBtf};
use ftr::modes::graph::kernel_text::KernelText;
use ftr::modes::graph::sources::{render_pages, Sources};
use ftr::modes::report::parallel;
use ftr::source::capture::{self, CaptureWriter};

fn fixtures() -> Vec<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/graph-raw");
    let mut dirs: Vec<PathBuf> = fs::read_dir(&root)
        .expect("tests/fixtures/graph-raw")
        .map(|e| e.expect("fixture entry").path())
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    dirs
}

fn read(dir: &Path, name: &str) -> String {
    fs::read_to_string(dir.join(name)).unwrap_or_else(|e| panic!("{}/{name}: {e}", dir.display()))
}

/// Every `events/<system>/<event>.format` of a capture: (system, text).
fn formats(dir: &Path) -> Vec<(String, String)> {
    let mut out = Vec::new();
    for system in fs::read_dir(dir.join("events")).expect("events/") {
        let system = system.expect("system").path();
        let name = system
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        for file in fs::read_dir(&system).expect("system dir") {
            let text = fs::read_to_string(file.expect("format").path()).expect("format file");
            out.push((name.clone(), text));
        }
    }
    out
}

/// The highest CPU in `cpu_possible` (`0-1`, `0,2-3`) plus one.
fn nr_cpu_ids(possible: &str) -> u32 {
    let last = possible.trim().rsplit([',', '-']).next().unwrap_or("0");
    last.parse::<u32>().expect("cpu_possible") + 1
}

/// The ring buffer's page size: the end of `data` in header_page.
fn page_size(header_page: &str) -> usize {
    let data = header_page
        .lines()
        .find(|l| l.contains(" data;"))
        .expect("data field");
    let num = |key: &str| -> usize {
        let v = data
            .split(';')
            .find_map(|p| p.trim().strip_prefix(key))
            .expect(key);
        v.parse().expect(key)
    };
    num("offset:") + num("size:")
}

/// What the capture directory says of its kernel, as live ftr reads it.
fn sources(dir: &Path) -> Sources {
    let options = read(dir, "options");
    let tracer = options
        .lines()
        .find_map(|l| l.strip_prefix("current_tracer="))
        .unwrap_or("function_graph");
    Sources {
        page_size: page_size(&read(dir, "header_page")),
        header_page: read(dir, "header_page"),
        header_event: String::new(),
        formats: formats(dir),
        kallsyms: read(dir, "kallsyms"),
        printk_formats: String::new(),
        saved_cmdlines: read(dir, "saved_cmdlines"),
        nr_cpu_ids: nr_cpu_ids(&read(dir, "cpu_possible")),
        trace_options: options.clone(),
        tracer: tracer.to_string(),
        release: read(dir, "uname").trim().to_string(),
        clock: "local".to_string(),
        btf: btf(dir),
    }
}

/// The capture's BTF (funcgraph-args captures keep the part of the
/// kernel's BTF their functions need), parsed.
fn btf(dir: &Path) -> Option<Arc<KernelBtf>> {
    let bytes = fs::read(dir.join("btf")).ok()?;
    let btf = Btf::parse(&bytes).unwrap_or_else(|e| panic!("{}/btf: {e}", dir.display()));
    Some(Arc::new(KernelBtf::vmlinux_only(btf)))
}

fn raw_pages(dir: &Path, cpus: u32) -> Vec<Vec<u8>> {
    (0..cpus)
        .map(|cpu| fs::read(dir.join(format!("cpu{cpu}.raw"))).unwrap_or_default())
        .collect()
}

/// The rendered text of `cpu_data` with what `sources` says.
fn rendered(sources: &Sources, cpu_data: &[impl AsRef<[u8]>]) -> String {
    let text = KernelText::new(sources.kernel().expect("kernel"));
    let mut out = Vec::new();
    render_pages(text, sources.page_size, cpu_data, &mut out, |_| true);
    String::from_utf8(out).expect("utf-8 text")
}

/// The same, with `threads` printers and windows of `window` pages, as
/// `ftr report` prints a capture file.
fn rendered_in_parallel(
    sources: &Sources,
    cpu_data: &[Vec<u8>],
    threads: usize,
    window: usize,
) -> String {
    let kernel = sources.kernel().expect("kernel");
    let texts = (0..threads)
        .map(|_| KernelText::new(kernel.clone()))
        .collect();
    let mut out = Vec::new();
    parallel::render_pages(texts, sources.page_size, cpu_data, window, &mut out, |_| {
        true
    });
    String::from_utf8(out).expect("utf-8 text")
}

/// Renders a capture's raw pages page by page in the kernel's order, as
/// live graph mode renders them.
fn render(dir: &Path) -> String {
    let sources = sources(dir);
    rendered(&sources, &raw_pages(dir, sources.nr_cpu_ids))
}

/// The same, through a trace.dat written by the capture writer and read
/// back: what `ftr -o FILE` then `ftr report FILE` do.
fn render_via_trace_dat(dir: &Path) -> String {
    let sources = sources(dir);
    let cpus = sources.nr_cpu_ids as usize;
    let path = std::env::temp_dir().join(format!(
        "ftr-test-{}-{}.dat",
        std::process::id(),
        dir.file_name().unwrap_or_default().to_string_lossy()
    ));
    let mut writer = CaptureWriter::create(&path, sources.meta(), cpus).expect("create");
    for (cpu, pages) in raw_pages(dir, cpus as u32).iter().enumerate() {
        writer.append_pages(cpu, pages).expect("append pages");
    }
    writer
        .finish(sources.saved_cmdlines.clone())
        .expect("finish");
    let bytes = fs::read(&path).expect("read the capture");
    let _ = fs::remove_file(&path);
    let capture = capture::read(&bytes).expect("a capture ftr reads");
    let mut again = Sources::of_capture(&capture);
    // A capture keeps no BTF: report reads the running kernel's, which is
    // the capture's kernel's when the release is the same.
    again.btf = sources.btf.clone();
    rendered(&again, &capture.cpu_data)
}

/// The text after the header: the leading lines the parser calls header
/// lines (without the CPU column a line can start with the `#` mark of a
/// duration over 1 ms: that one is not).
fn without_header(trace: &str) -> String {
    trace
        .lines()
        .skip_while(|l| {
            ftr::modes::report::parse::parse_line(l).kind == ftr::modes::report::parse::Kind::Header
        })
        .flat_map(|l| [l, "\n"])
        .collect()
}

/// The first differing line, with context, for the failure message.
fn first_difference(want: &str, got: &str) -> String {
    let (w, g): (Vec<_>, Vec<_>) = (want.lines().collect(), got.lines().collect());
    let at = w
        .iter()
        .zip(&g)
        .position(|(a, b)| a != b)
        .unwrap_or(w.len().min(g.len()));
    format!(
        "line {}: kernel {:?}\n{:>8}    ftr {:?}\n({} vs {} lines)",
        at + 1,
        w.get(at).unwrap_or(&"<end>"),
        "",
        g.get(at).unwrap_or(&"<end>"),
        w.len(),
        g.len()
    )
}

#[test]
fn every_capture_renders_byte_identical_to_the_kernel() {
    byte_identical(render);
}

#[test]
fn and_so_does_its_trace_dat_written_and_read_back() {
    byte_identical(render_via_trace_dat);
}

/// One CPU per printer, merged window by window: windows of one page
/// (every page a window end), of a few pages, and of many; one printer
/// for all CPUs, and more printers than CPUs.
#[test]
fn and_so_does_it_printed_one_cpu_per_thread() {
    for (threads, window) in [(1, 1), (2, 1), (2, 3), (4, 128)] {
        byte_identical(|dir| {
            let sources = sources(dir);
            let pages = raw_pages(dir, sources.nr_cpu_ids);
            rendered_in_parallel(&sources, &pages, threads, window)
        });
    }
}

/// Lost events marked in page headers print where they happened, and
/// alike in both renderers: the stream's (live) and one CPU per thread
/// (captures). The marks are made: no fixture lost events.
#[test]
fn lost_event_marks_print_alike_one_cpu_per_thread() {
    let dir = fixtures()
        .into_iter()
        .find(|d| d.ends_with("6.12-unfiltered-2cpu-depth2"))
        .expect("the 6.12-unfiltered-2cpu-depth2 fixture");
    let sources = sources(&dir);
    let page_size = sources.page_size;
    let mut pages = repeated(&raw_pages(&dir, sources.nr_cpu_ids), page_size, 3);
    // Every fifth page of each CPU says events were lost before it
    // (commit's bit 31), without a count.
    let mut marked = 0;
    for data in &mut pages {
        for page in data.chunks_mut(page_size).skip(2).step_by(5) {
            page[11] |= 0x80;
            marked += 1;
        }
    }
    let want = rendered(&sources, &pages);
    assert_eq!(want.matches("[LOST EVENTS]").count(), marked, "{want}");
    for (threads, window) in [(1, 1), (2, 2), (2, 128)] {
        let got = rendered_in_parallel(&sources, &pages, threads, window);
        assert!(
            want == got,
            "{threads} threads, windows of {window}: {}",
            first_difference(&want, &got)
        );
    }
}

/// Each fixture rendered by `render` is the kernel's `trace` text.
fn byte_identical(render: impl Fn(&Path) -> String) {
    let mut failed = Vec::new();
    let all = fixtures();
    assert!(!all.is_empty(), "no fixtures");
    for dir in &all {
        let want = without_header(&read(dir, "trace"));
        let got = render(dir);
        if want != got {
            let name = dir.file_name().unwrap_or_default().to_string_lossy();
            failed.push(format!("{name}: {}", first_difference(&want, &got)));
        }
    }
    assert!(
        failed.is_empty(),
        "{} of {} differ:\n{}",
        failed.len(),
        all.len(),
        failed.join("\n")
    );
}

/// In color, every capture's text is the colored text of its plain text:
/// the printer styles each piece as it writes it, with the pieces and
/// styles the text renderer finds by parsing (ftr report of `cat trace`).
/// The tallies agree too.
#[test]
fn colored_records_are_their_colored_text() {
    use ftr::modes::report::view::recolor;
    use ftr::present::theme::Theme;
    let mut failed = Vec::new();
    let all = fixtures();
    for dir in &all {
        let sources = sources(dir);
        let pages = raw_pages(dir, sources.nr_cpu_ids);
        let plain = rendered(&sources, &pages);
        for errno_names in [false, true] {
            let theme = Theme::color();
            let text =
                KernelText::new(sources.kernel().expect("kernel")).styled(theme, errno_names);
            let mut got = Vec::new();
            let mut text = render_pages(text, sources.page_size, &pages, &mut got, |_| true);
            let (want, tally) = recolor(plain.as_bytes(), theme, errno_names);
            let (want, got) = (
                String::from_utf8_lossy(&want),
                String::from_utf8_lossy(&got),
            );
            if want != got || tally != text.take_tally() {
                let name = dir.file_name().unwrap_or_default().to_string_lossy();
                failed.push(format!("{name}: {}", first_difference(&want, &got)));
            }
        }
    }
    assert!(all.len() >= 32, "{} fixtures", all.len());
    assert!(
        failed.is_empty(),
        "{} differ:\n{}",
        failed.len(),
        failed.join("\n")
    );
}

/// `ftr report -O`: the same records with other columns. Without the CPU
/// column each line is the default line minus its ` N) ` prefix.
#[test]
fn a_capture_renders_again_with_other_options() {
    let dir = fixtures()
        .into_iter()
        .find(|d| d.ends_with("6.12-depth4"))
        .expect("the 6.12-depth4 fixture");
    let mut sources = sources(&dir);
    let pages = raw_pages(&dir, sources.nr_cpu_ids);
    let with_cpu = rendered(&sources, &pages);
    sources.trace_options.push_str("\nnofuncgraph-cpu");
    let without = rendered(&sources, &pages);
    assert!(with_cpu.lines().count() > 10, "{with_cpu}");
    let stripped: Vec<&str> = with_cpu
        .lines()
        .map(|l| l.split_once(") ").map_or(l, |(_, rest)| rest))
        .collect();
    assert_eq!(without.lines().collect::<Vec<_>>(), stripped);
}

/// `copies` copies of a capture's pages, each later than the last: the
/// page headers' times moved on by the capture's span (records hold only
/// deltas from their page, and durations come from their own fields).
fn repeated(pages: &[Vec<u8>], page_size: usize, copies: u64) -> Vec<Vec<u8>> {
    let page_ts = |p: &[u8]| u64::from_le_bytes(p[..8].try_into().expect("page header"));
    let all_ts = || pages.iter().flat_map(|d| d.chunks(page_size)).map(page_ts);
    let span = all_ts().max().unwrap_or(0) - all_ts().min().unwrap_or(0) + 1_000_000_000;
    pages
        .iter()
        .map(|data| {
            let mut out = Vec::with_capacity(data.len() * copies as usize);
            for copy in 0..copies {
                for page in data.chunks(page_size) {
                    let at = out.len();
                    out.extend_from_slice(page);
                    let ts = page_ts(page) + copy * span;
                    out[at..at + 8].copy_from_slice(&ts.to_le_bytes());
                }
            }
            out
        })
        .collect()
}

/// A long capture is many pages per CPU, merged as they come: its text is
/// the kernel's text of one copy, once per copy. With FTR_BENCH_CAPTURE=DIR
/// (tests/bench/render.sh) the capture (FTR_BENCH_COPIES copies, default
/// 100) and its text are also left in DIR as capture.dat and trace.txt.
#[test]
fn many_copies_of_a_capture_render_as_many_copies_of_its_text() {
    let dir = fixtures()
        .into_iter()
        .find(|d| d.ends_with("6.12-unfiltered-2cpu-depth2"))
        .expect("the 6.12-unfiltered-2cpu-depth2 fixture");
    let bench = std::env::var_os("FTR_BENCH_CAPTURE").map(PathBuf::from);
    let copies = match &bench {
        Some(_) => std::env::var("FTR_BENCH_COPIES")
            .ok()
            .and_then(|n| n.parse().ok())
            .unwrap_or(100),
        None => 20,
    };
    let sources = sources(&dir);
    let one = without_header(&read(&dir, "trace"));
    let pages = repeated(
        &raw_pages(&dir, sources.nr_cpu_ids),
        sources.page_size,
        copies,
    );
    let want = one.repeat(copies as usize);
    let got = rendered(&sources, &pages);
    assert!(
        want == got,
        "{copies} copies: {}",
        first_difference(&want, &got)
    );
    let got = rendered_in_parallel(&sources, &pages, 2, 7);
    assert!(
        want == got,
        "{copies} copies, in parallel: {}",
        first_difference(&want, &got)
    );
    if let Some(out) = bench {
        let path = out.join("capture.dat");
        let mut writer = CaptureWriter::create(&path, sources.meta(), pages.len()).expect("create");
        for (cpu, data) in pages.iter().enumerate() {
            writer.append_pages(cpu, data).expect("append pages");
        }
        writer
            .finish(sources.saved_cmdlines.clone())
            .expect("finish");
        fs::write(out.join("trace.txt"), want).expect("trace.txt");
    }
}

/// `ftr report --profile` of a capture against the kernel's own text of the
/// same buffer: the outermost calls (depth 0 in the text: leaves and
/// closing braces) are as many, and last as long in all (the text shows
/// whole ns below 10 ms: 1 us a call of slack), as the profile says; its
/// self times and folded stacks add up to that same total.
#[test]
fn profiles_add_up_to_the_kernels_own_durations() {
    use ftr::cli::Analysis;
    use ftr::modes::graph::analysis::Analyzer;
    use ftr::modes::report::parse::{parse_line, Kind};
    use ftr::present::theme::Theme;
    let mut checked = 0;
    for dir in fixtures() {
        let sources = sources(&dir);
        if sources.tracer != "function_graph" {
            continue;
        }
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let (mut count, mut total_ns, mut timed) = (0u64, 0u64, true);
        for line in without_header(&read(&dir, "trace")).lines() {
            let l = parse_line(line);
            if matches!(l.kind, Kind::Leaf | Kind::Return) && l.depth == Some(0) {
                count += 1;
                total_ns += l.duration_ns.unwrap_or(0);
                timed &= l.duration_ns.is_some();
            }
        }
        if !timed {
            continue; // nofuncgraph-duration, nocontext-info: no times to compare
        }
        let pages = raw_pages(&dir, sources.nr_cpu_ids);
        let ask = |folded| Analysis::Profile {
            sort: ftr::modes::graph::SortKey::Total,
            folded,
        };
        let numbers = |folded| {
            let a = Analyzer::new(Some(sources.kernel().expect("kernel")), ask(folded));
            let a = render_pages(a, sources.page_size, &pages, &mut Vec::new(), |_| true);
            let mut out = Vec::new();
            a.finish(&mut out, &Theme::plain());
            String::from_utf8(out).expect("utf-8")
        };
        let table = numbers(false);
        let us = |s: &str| -> u64 {
            let (a, b) = s.split_once('.').expect("us with 3 decimals");
            a.parse::<u64>().expect("us") * 1000 + b.parse::<u64>().expect("ns")
        };
        let rows: Vec<Vec<&str>> = table
            .lines()
            .filter(|l| !l.starts_with('#'))
            .map(|l| l.split_whitespace().collect())
            .collect();
        let self_sum: u64 = rows.iter().map(|r| us(r[1])).sum();
        let last = table
            .lines()
            .find(|l| l.contains("outermost calls"))
            .expect("root line");
        let root = us(last
            .rsplit(": ")
            .next()
            .unwrap()
            .trim_end_matches(" us in all"));
        let unrecorded = table
            .lines()
            .find(|l| l.contains(" us in calls whose callers"))
            .map_or(0, |l| {
                us(l.trim_start_matches("# ").split(' ').next().unwrap())
            });
        let slack = 1000 * count;
        assert!(
            root.abs_diff(total_ns) <= slack,
            "{name}: profile's outermost total {root} ns, the kernel's text {total_ns} ns in {count} calls\n{table}"
        );
        let clipped = table
            .lines()
            .find(|l| l.contains(" us of children beyond"))
            .map_or(0, |l| {
                us(l.trim_start_matches("# ").split(' ').next().unwrap())
            });
        assert_eq!(
            self_sum,
            root + unrecorded + clipped,
            "{name}: self times\n{table}"
        );
        let folded: u64 = numbers(true)
            .lines()
            .map(|l| {
                l.rsplit(' ')
                    .next()
                    .unwrap()
                    .parse::<u64>()
                    .expect("weight")
            })
            .sum();
        assert_eq!(folded, self_sum, "{name}: folded weights");
        checked += 1;
    }
    assert!(checked >= 20, "{checked} captures checked");
}

/// `ftr report --profile` of the kernel's text gives the capture's table
/// where the text lets calls be paired (a task column, or no context
/// switch), and says why not elsewhere.
#[test]
fn a_text_trace_profiles_like_its_capture() {
    use ftr::cli::Analysis;
    use ftr::modes::graph::analysis::Analyzer;
    use ftr::modes::report::parse::parse_line;
    use ftr::present::theme::Theme;
    let ask = Analysis::Profile {
        sort: ftr::modes::graph::SortKey::Name,
        folded: false,
    };
    let (mut same, mut refused) = (0, 0);
    for dir in fixtures() {
        let sources = sources(&dir);
        let name = dir
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let text = without_header(&read(&dir, "trace"));
        if sources.tracer != "function_graph" {
            continue;
        }
        let mut from_text = Analyzer::new(None, ask.clone());
        let paired = text
            .lines()
            .try_for_each(|l| from_text.text_line(&parse_line(l)));
        if let Err(why) = paired {
            assert!(why.contains("funcgraph-proc"), "{name}: {why}");
            assert!(
                text.contains(" => "),
                "{name}: refused without a context switch"
            );
            refused += 1;
            continue;
        }
        // Durations of 10 ms and more lose digits in the text; some
        // captures show none.
        let durations: Vec<u64> = text
            .lines()
            .filter_map(|l| parse_line(l).duration_ns)
            .collect();
        if durations.is_empty() || durations.iter().any(|&d| d >= 10_000_000) {
            continue;
        }
        let pages = raw_pages(&dir, sources.nr_cpu_ids);
        let latency = Analysis::Latency {
            func: None,
            opts: ftr::cli::LatencyOpts::default(),
        };
        for ask in [ask.clone(), latency] {
            let mut from_text = Analyzer::new(None, ask.clone());
            for l in text.lines() {
                from_text.text_line(&parse_line(l)).expect("paired before");
            }
            let a = Analyzer::new(Some(sources.kernel().expect("kernel")), ask);
            let a = render_pages(a, sources.page_size, &pages, &mut Vec::new(), |_| true);
            let (mut want, mut got) = (Vec::new(), Vec::new());
            a.finish(&mut want, &Theme::plain());
            from_text.finish(&mut got, &Theme::plain());
            // The slowest call's time and task need columns a text may lack.
            let keep = |t: Vec<u8>| -> String {
                let t = String::from_utf8(t).unwrap();
                t.lines()
                    .filter(|l| !l.contains("slowest "))
                    .map(|l| format!("{l}\n"))
                    .collect()
            };
            assert_eq!(
                keep(got),
                keep(want),
                "{name}: from the text vs from the pages"
            );
        }
        same += 1;
    }
    assert!(
        same >= 10 && refused >= 1,
        "{same} alike, {refused} refused"
    );
}
