//! What turning a buffer's records into the kernel's text takes besides the
//! records: the format files, the symbols, the task names, the CPU count,
//! the trace options, the tracer and the kernel release. Read once from the
//! live tracefs, or from a capture file, which stores exactly this; and the
//! loop that renders a capture's pages in the kernel's order.
//!
//! With funcgraph-args on, the kernel's BTF too (`/sys/kernel/btf/vmlinux`,
//! parsed once): live, its absence is an error, since the text could not be
//! the kernel's. A capture does not store BTF: `ftr report` reads the
//! running kernel's only when the capture was made on the same release;
//! otherwise the arguments print as `()` and [`Sources::args_unnamed`]
//! says so, for a note beside the text.

use std::sync::Arc;

use crate::error::{Error, Result};
use crate::kernel::btf::{Btf, FuncArgs, KernelBtf};
use crate::kernel::format::Format;
use crate::kernel::tracefs::Tracefs;
use crate::modes::graph::kernel_text::{Cmdlines, Kernel, Options, RetvalStyle, Tracer};
use crate::modes::graph::records::Layouts;
use crate::source::capture::{Capture, Meta, System};
use crate::source::kallsyms::Symbols;
use crate::source::reader::below;
use crate::source::ringbuf::decode_page;
use crate::source::stream::{Sink, Stream};

/// The keys of ftr's own settings in a capture.
const TRACER: &str = "tracer";
const TRACE_OPTIONS: &str = "trace_options";
const NR_CPU_IDS: &str = "nr_cpu_ids";
/// Where the running kernel shows its BTF.
const VMLINUX_BTF: &str = "/sys/kernel/btf/vmlinux";

pub struct Sources {
    pub page_size: usize,
    pub header_page: String,
    pub header_event: String,
    /// (system, format text): ftrace's own events and the `-e` ones.
    pub formats: Vec<(String, String)>,
    pub kallsyms: String,
    pub printk_formats: String,
    pub saved_cmdlines: String,
    pub nr_cpu_ids: u32,
    /// `trace_options` as the kernel lists it: which columns print.
    pub trace_options: String,
    pub tracer: String,
    /// `uname -r`: it decides spellings such as the return value's.
    pub release: String,
    pub clock: String,
    /// The kernel's BTF, read when funcgraph-args is on (see the top).
    pub btf: Option<Arc<KernelBtf>>,
}

/// Whether `trace_options` (one option a line) has funcgraph-args, or the
/// function tracer's func-args, on: then the records carry arguments.
fn args_on(trace_options: &str) -> bool {
    let on = |name: &str| {
        trace_options
            .lines()
            .rev()
            .find_map(|l| match l.trim().strip_prefix("no") {
                Some(n) if n == name => Some(false),
                _ if l.trim() == name => Some(true),
                _ => None,
            })
            .unwrap_or(false)
    };
    on("funcgraph-args") || on("func-args")
}

/// The running kernel's BTF, vmlinux's and its modules' (in name order),
/// parsed; the error names the file and the fix.
fn running_btf() -> Result<KernelBtf> {
    let bytes = std::fs::read(VMLINUX_BTF).map_err(|e| {
        Error::setup(format!(
            "funcgraph-args: cannot read {VMLINUX_BTF} ({e}), which ftr needs to name the arguments as the kernel does: use a kernel built with CONFIG_DEBUG_INFO_BTF_SYSFS, or leave out --graph-opts args"
        ))
    })?;
    let bad = |path: &std::path::Path, e: String| {
        Error::setup(format!(
            "funcgraph-args: {}: {e}; leave out --graph-opts args",
            path.display()
        ))
    };
    let vmlinux = Arc::new(Btf::parse(&bytes).map_err(|e| bad(VMLINUX_BTF.as_ref(), e))?);
    let dir = std::path::Path::new(VMLINUX_BTF)
        .parent()
        .unwrap_or(std::path::Path::new("/"));
    let mut paths: Vec<_> = std::fs::read_dir(dir)
        .map(|d| d.flatten().map(|e| e.path()).collect())
        .unwrap_or_default();
    paths.retain(|p| p.file_name().is_some_and(|n| n != "vmlinux"));
    paths.sort();
    let mut modules = Vec::new();
    for path in paths {
        // A module unloaded since the listing is simply not there.
        let Ok(bytes) = std::fs::read(&path) else {
            continue;
        };
        modules.push(Btf::parse_split(&bytes, Some(vmlinux.clone())).map_err(|e| bad(&path, e))?);
    }
    Ok(KernelBtf { vmlinux, modules })
}

fn release_now() -> String {
    nix::sys::utsname::uname()
        .map(|u| u.release().to_string_lossy().into_owned())
        .unwrap_or_default()
}

impl Sources {
    /// Reads them from tracefs once tracing is armed (the options are the
    /// ones ftr set), for `tracer` and the `-e` events recorded in the buffer
    /// at `dir` (an instance, or the top level when empty).
    pub fn live(
        fs: &Tracefs,
        dir: &str,
        tracer: &str,
        events: &[String],
        page_size: usize,
    ) -> Result<Sources> {
        let mut formats = Vec::new();
        let ftrace = fs.path("events/ftrace");
        let listing = std::fs::read_dir(&ftrace).map_err(|e| Error::io("list", &ftrace, &e))?;
        for entry in listing.flatten() {
            if let Ok(text) = std::fs::read_to_string(entry.path().join("format")) {
                formats.push(("ftrace".to_string(), text));
            }
        }
        for e in events {
            let (system, _) = e.split_once(':').unwrap_or((e, ""));
            let rel = format!("events/{}/format", e.replace(':', "/"));
            formats.push((system.to_string(), fs.read(&rel)?));
        }
        let kallsyms = std::fs::read_to_string("/proc/kallsyms")
            .map_err(|e| Error::io("read", std::path::Path::new("/proc/kallsyms"), &e))?;
        let possible =
            std::fs::read_to_string("/sys/devices/system/cpu/possible").unwrap_or_default();
        let clock = fs.read(&below(dir, "trace_clock")).unwrap_or_default();
        let trace_options = fs.read(&below(dir, "trace_options"))?;
        let btf = match args_on(&trace_options) {
            true => Some(Arc::new(running_btf()?)),
            false => None,
        };
        Ok(Sources {
            page_size,
            header_page: fs.read("events/header_page")?,
            header_event: fs.read("events/header_event")?,
            formats,
            kallsyms,
            printk_formats: fs.read("printk_formats").unwrap_or_default(),
            saved_cmdlines: fs.read("saved_cmdlines").unwrap_or_default(),
            nr_cpu_ids: possible
                .trim()
                .rsplit([',', '-'])
                .next()
                .and_then(|n| n.parse::<u32>().ok())
                .map_or(1, |n| n + 1),
            trace_options,
            tracer: tracer.to_string(),
            release: release_now(),
            clock: clock
                .split_once('[')
                .and_then(|(_, r)| r.split_once(']'))
                .map_or(String::new(), |(c, _)| c.to_string()),
            btf,
        })
    }

    /// From a capture: ftr's own, or trace-cmd's (then the kernel's default
    /// options and the function_graph layout are assumed).
    pub fn of_capture(capture: &Capture) -> Sources {
        let m = &capture.meta;
        let ftr = |key: &str| m.ftr.iter().find(|(k, _)| k == key).map(|(_, v)| v.clone());
        let mut formats: Vec<(String, String)> = m
            .ftrace_formats
            .iter()
            .map(|f| ("ftrace".to_string(), f.clone()))
            .collect();
        for system in &m.systems {
            formats.extend(
                system
                    .formats
                    .iter()
                    .map(|f| (system.name.clone(), f.clone())),
            );
        }
        let trace_options = ftr(TRACE_OPTIONS).unwrap_or_default().replace(',', "\n");
        let release = m.uname.split(' ').nth(2).unwrap_or_default().to_string();
        // The running kernel's BTF is the capture's only on the same release.
        let btf = (args_on(&trace_options) && !release.is_empty() && release == release_now())
            .then(running_btf)
            .and_then(Result::ok)
            .map(Arc::new);
        Sources {
            page_size: m.page_size as usize,
            header_page: m.header_page.clone(),
            header_event: m.header_event.clone(),
            formats,
            kallsyms: m.kallsyms.clone(),
            printk_formats: m.printk_formats.clone(),
            saved_cmdlines: m.saved_cmdlines.clone(),
            nr_cpu_ids: ftr(NR_CPU_IDS)
                .and_then(|n| n.parse().ok())
                .unwrap_or(capture.cpu_data.len() as u32),
            trace_options,
            tracer: ftr(TRACER).unwrap_or_else(|| "function_graph".to_string()),
            release,
            clock: m.clock.clone(),
            btf,
        }
    }

    /// Why the arguments print as `()` where the kernel named them: the
    /// records carry them (funcgraph-args was on) but no BTF was found.
    pub fn args_unnamed(&self) -> Option<String> {
        (args_on(&self.trace_options) && self.btf.is_none()).then(|| {
            format!(
                "function arguments were recorded, but ftr has no BTF of Linux {} ({VMLINUX_BTF} is that of the running kernel only when it is the same release): function arguments print as `()`",
                self.release
            )
        })
    }

    /// What the printer needs, parsed.
    pub fn kernel(&self) -> Result<Kernel> {
        let symbols = Symbols::parse(&self.kallsyms);
        if symbols.is_empty() {
            return Err(Error::setup(
                "/proc/kallsyms shows no addresses, so functions cannot be named (kernel.kptr_restrict is 2?): run `sysctl kernel.kptr_restrict=1`",
            ));
        }
        Ok(Kernel {
            layouts: Layouts::new(
                self.formats
                    .iter()
                    .filter_map(|(_, text)| Format::parse(text))
                    .collect(),
            ),
            symbols,
            cmdlines: Cmdlines::parse(&self.saved_cmdlines),
            nr_cpu_ids: self.nr_cpu_ids,
            options: Options::from_trace_options(&self.trace_options),
            tracer: match self.tracer.as_str() {
                "function" => Tracer::Function,
                _ => Tracer::FunctionGraph,
            },
            retval_style: RetvalStyle::for_release(&self.release),
            args: self.btf.clone().map(FuncArgs::new),
        })
    }

    /// The capture's header: everything but the pages (and saved_cmdlines,
    /// which the capture writer takes when tracing has stopped).
    pub fn meta(&self) -> Meta {
        let mut systems: Vec<System> = Vec::new();
        let mut ftrace_formats = Vec::new();
        for (system, text) in &self.formats {
            if system == "ftrace" {
                ftrace_formats.push(text.clone());
                continue;
            }
            match systems.iter_mut().find(|s| &s.name == system) {
                Some(s) => s.formats.push(text.clone()),
                None => systems.push(System {
                    name: system.clone(),
                    formats: vec![text.clone()],
                }),
            }
        }
        let host = nix::sys::utsname::uname()
            .map(|u| u.nodename().to_string_lossy().into_owned())
            .unwrap_or_default();
        // One line per key in the capture: the option list joined by commas.
        let options: Vec<&str> = self.trace_options.lines().collect();
        Meta {
            page_size: self.page_size as u32,
            long_size: std::mem::size_of::<libc::c_long>() as u8,
            big_endian: cfg!(target_endian = "big"),
            header_page: self.header_page.clone(),
            header_event: self.header_event.clone(),
            ftrace_formats,
            systems,
            kallsyms: self.kallsyms.clone(),
            printk_formats: self.printk_formats.clone(),
            saved_cmdlines: String::new(),
            clock: self.clock.clone(),
            uname: format!("Linux {host} {} {}", self.release, std::env::consts::ARCH),
            ftr: vec![
                (TRACER.to_string(), self.tracer.clone()),
                (TRACE_OPTIONS.to_string(), options.join(",")),
                (NR_CPU_IDS.to_string(), self.nr_cpu_ids.to_string()),
            ],
        }
    }
}

/// Renders the pages of every CPU (`cpu_data[cpu]`, whole pages) in the
/// kernel's order: page by page, always the CPU whose next page starts
/// earliest, so the stream holds about a page per CPU, not the capture.
/// The text is appended to `out`; after each page `flush` may take it,
/// and answers false to stop. Gives the sink back.
pub fn render_pages<S: Sink>(
    text: S,
    page_size: usize,
    cpu_data: &[impl AsRef<[u8]>],
    out: &mut Vec<u8>,
    mut flush: impl FnMut(&mut Vec<u8>) -> bool,
) -> S {
    let mut stream = Stream::new(text);
    let mut next = vec![0usize; cpu_data.len()];
    let mut events = Vec::new();
    let page_ts = |data: &[u8], at: usize| {
        data.get(at..at + 8).map_or(u64::MAX, |b| {
            u64::from_le_bytes(b.try_into().unwrap_or([0xff; 8]))
        })
    };
    loop {
        let earliest = (0..cpu_data.len())
            .filter(|&cpu| next[cpu] < cpu_data[cpu].as_ref().len())
            .min_by_key(|&cpu| page_ts(cpu_data[cpu].as_ref(), next[cpu]));
        let Some(cpu) = earliest else { break };
        let data = cpu_data[cpu].as_ref();
        let at = next[cpu];
        let len = page_size.min(data.len() - at);
        next[cpu] = at + page_size;
        events.clear();
        // Offsets within the page: a CPU's data may pass 4 GiB.
        let page = &data[at..at + len];
        let info = decode_page(page, 0, len, cpu as u32, &mut events);
        if let Some(count) = info.lost {
            stream.push_lost(cpu as u32, count);
        }
        for e in &events {
            if let Some(record) = page.get(e.start as usize..e.start as usize + e.len as usize) {
                stream.push_borrowed(cpu as u32, e.ts, record);
            }
        }
        // Records from the earliest unread page on may still be older than
        // what the other CPUs have pushed.
        let unread = (0..cpu_data.len())
            .filter(|&c| next[c] < cpu_data[c].as_ref().len())
            .map(|c| page_ts(cpu_data[c].as_ref(), next[c]))
            .min()
            .unwrap_or(u64::MAX);
        stream.pump_before(unread, out);
        if !flush(out) {
            return stream.into_sink();
        }
    }
    stream.finish(out);
    flush(out);
    stream.into_sink()
}

#[cfg(test)]
mod tests {
    use super::args_on;

    /// The records carry arguments when the graph's or the function
    /// tracer's option is on; a later line wins, as in `-O`.
    #[test]
    fn arguments_are_on_by_either_option() {
        assert!(args_on("print-parent\nfuncgraph-args\nfuncgraph-cpu"));
        assert!(args_on("func-args"));
        assert!(!args_on("nofuncgraph-args\nnofunc-args"));
        assert!(!args_on("funcgraph-args\nnofuncgraph-args"));
        assert!(args_on("nofuncgraph-args\nfuncgraph-args"));
        assert!(!args_on("funcgraph-argsx\nfuncgraph-cpu"));
    }
}
