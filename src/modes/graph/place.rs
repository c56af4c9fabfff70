//! Where graph mode runs, and where each of its knobs goes.
//!
//! The one decision: where the kernel lets function_graph run in an instance
//! (Linux 6.12 does, 6.1 does not), the tracer runs in ftr's own instance,
//! `instances/ftr-<pid>`, so another, non-graph tracer can go on at the top
//! level; elsewhere it runs at the top level, as it always did. The kernel
//! says which by what the instance's `available_tracers` lists.
//!
//! Running in the instance, a knob goes there when the instance has one of
//! its own; what it lacks (`set_graph_function`, `set_graph_notrace`,
//! `max_graph_depth`, `tracing_thresh`, a few core options) is global, and so
//! are function_graph's flags, which an instance shows but shares: they are
//! journaled at the top level. Because of those, another graph user anywhere
//! is refused, as another tracer at the top level is when ftr's runs there.

use crate::error::{Error, Result};
use crate::kernel::session::{Buffer, Session};
use crate::kernel::tracefs::Tracefs;
use crate::source::reader::below;

/// Where the tracer runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Where {
    /// In ftr's own instance, at this path below tracefs.
    Instance(String),
    TopLevel,
}

impl Where {
    /// Makes ftr's instance and asks it whether it can run `tracer`
    /// (function_graph or function): it lists only the tracers it allows.
    /// Both must be allowed, so that one kernel runs both in one place. On
    /// older kernels the instance goes again at once: the run is as it was.
    pub fn decide(session: &mut Session, tracer: &str) -> Result<Where> {
        let instance = session.create_instance()?;
        let offered = session
            .tracefs()
            .read(&below(&instance, "available_tracers"))?;
        let offers = |t: &str| offered.split_whitespace().any(|o| o == t);
        if offers("function_graph") && offers(tracer) {
            return Ok(Where::Instance(instance));
        }
        session.remove_instance()?;
        Ok(Where::TopLevel)
    }

    /// The buffer's directory below tracefs (empty: the top level).
    pub fn dir(&self) -> &str {
        match self {
            Where::Instance(rel) => rel,
            Where::TopLevel => "",
        }
    }

    /// Where `run` turns recording on and off.
    pub fn buffer(&self) -> Buffer {
        match self {
            Where::Instance(_) => Buffer::Instance,
            Where::TopLevel => Buffer::TopLevel,
        }
    }

    /// Refuses, with one line, to disturb another tool's trace: at the top
    /// level any tracer but nop when ftr's runs there too (there is one
    /// current_tracer); from the instance, the function and graph tracers
    /// anywhere, which the global graph knobs reach. `--force` goes ahead.
    pub fn check_others(&self, tracefs: &Tracefs, force: bool) -> Result<()> {
        if force {
            return Ok(());
        }
        let graph_user = |t: &str| t == "function_graph" || t == "function";
        let top = tracefs.read("current_tracer")?;
        let top = top.trim();
        let busy = match self {
            Where::TopLevel => top != "nop",
            Where::Instance(_) => graph_user(top),
        };
        if busy {
            return Err(Error::setup(format!(
                "the {top} tracer is already active (current_tracer): another tool is tracing; stop it or use --force"
            )));
        }
        let Where::Instance(own) = self else {
            return Ok(());
        };
        for rel in instances(tracefs).filter(|rel| rel != own) {
            // An instance being removed meanwhile is no user.
            let tracer = tracefs
                .read(&below(&rel, "current_tracer"))
                .unwrap_or_default();
            let tracer = tracer.trim();
            if graph_user(tracer) {
                return Err(Error::setup(format!(
                    "the {tracer} tracer is already active in {rel}: another tool is tracing, and it shares the graph knobs (set_graph_function, max_graph_depth…) with ftr; stop it or use --force"
                )));
            }
        }
        Ok(())
    }
}

/// Every instance, as `instances/NAME`.
fn instances(tracefs: &Tracefs) -> impl Iterator<Item = String> {
    std::fs::read_dir(tracefs.path("instances"))
        .into_iter()
        .flatten()
        .flatten()
        .filter(|e| e.file_type().is_ok_and(|t| t.is_dir()))
        .map(|e| format!("instances/{}", e.file_name().to_string_lossy()))
}

/// function_graph's own flags: an instance shows them, but on 6.12 they are
/// one set for the whole kernel (setting one in an instance sets it at the
/// top level too), so they are changed, and journaled, at the top level.
/// On newer kernels (7.2) each instance has its own, copied from the top
/// level's when it is made, so they are set in ftr's instance as well: on
/// 6.12 that writes the same value again; on 7.2 only that one counts.
fn shared_flag(knob: &str) -> bool {
    knob.strip_prefix("options/")
        .is_some_and(|o| o.starts_with("funcgraph-") || o == "sleep-time" || o == "graph-time")
}

/// Graph mode's writes, each where it takes effect: ftr's instance for the
/// knobs it has of its own (not journaled: it is removed at the end), the top
/// level for the rest (journaled by `set_global`).
pub struct Knobs<'a> {
    pub session: &'a mut Session,
    pub at: &'a Where,
}

impl Knobs<'_> {
    /// Whether `knob` goes to the instance: the tracer runs there, and the
    /// instance has a copy of its own.
    fn in_instance(&self, knob: &str) -> bool {
        match self.at {
            Where::Instance(instance) => {
                !shared_flag(knob) && self.tracefs().exists(&below(instance, knob))
            }
            Where::TopLevel => false,
        }
    }

    /// Whether this kernel has `knob` (where it would be written).
    pub fn has(&self, knob: &str) -> bool {
        self.in_instance(knob) || self.tracefs().exists(knob)
    }

    pub fn set(&mut self, knob: &str, value: &str) -> Result<()> {
        if self.in_instance(knob) {
            return self.session.set_instance(knob, value);
        }
        self.session.set_global(knob, value)?;
        match self.at {
            Where::Instance(instance)
                if shared_flag(knob) && self.tracefs().exists(&below(instance, knob)) =>
            {
                self.session.set_instance(knob, value)
            }
            _ => Ok(()),
        }
    }

    /// Sets `options/NAME` where the kernel has it.
    pub fn option(&mut self, name: &str, on: bool) -> Result<()> {
        let knob = format!("options/{name}");
        match self.has(&knob) {
            true => self.set(&knob, if on { "1" } else { "0" }),
            false => Ok(()),
        }
    }

    pub fn tracefs(&self) -> &Tracefs {
        self.session.tracefs()
    }
}

#[cfg(test)]
mod tests {
    use super::shared_flag;

    #[test]
    fn function_graph_flags_are_shared_core_options_are_not() {
        assert!(shared_flag("options/funcgraph-tail"));
        assert!(shared_flag("options/sleep-time"));
        assert!(!shared_flag("options/function-fork"));
        assert!(!shared_flag("options/latency-format"));
        assert!(!shared_flag("set_ftrace_filter"));
    }
}
