//! Where the time goes, from function entries and exits: per function its
//! total, self, average, maximum and count, and the call tree behind
//! `--folded` (flame-graph stacks). Pure: calls in, tables out.
//!
//! Accounting, per task (a task's calls nest; another task's do not):
//! - A call's duration is the kernel's (`rettime - calltime` of its exit):
//!   with sleep-time on (the default) it includes the time the task slept,
//!   with `nosleep-time` not; interrupts that arrived during the call are in
//!   it too.
//! - Its self time is its duration minus its recorded children's
//!   durations. Functions that ran in an interrupt (funcgraph-irqs, on by
//!   default) are recorded as children of the function they interrupted, so
//!   their time is theirs; with `noirqs` it is the interrupted function's.
//!   With `depth=N` the children below N are not recorded: their time is
//!   their parent's self time. A sleep is self time of the function that
//!   slept unless `schedule` and the like are recorded as its children.
//! - A recursive function's total counts each level.
//! - A call whose entry was not recorded (tracing started inside it, or the
//!   entry was lost) sits under the deepest known caller of its depth.
//! - An interrupt's calls can be recorded one level deeper than where they
//!   ran: the kernel pushes a call before writing its entry record, and
//!   writes a return before popping it. Calls recorded so, between a
//!   return and the next entry at one depth, are the next call's children
//!   when its duration holds them, else its caller's. Newer kernels (6.12)
//!   take a call's return time before writing its exit record, so an
//!   interrupt there is recorded among the call's last children: the
//!   children beyond what its duration holds are its caller's time (their
//!   stacks stay where the kernel recorded them).
//!
//! So the self times of all calls add up to the total of the outermost
//! calls, and so do the folded stacks' weights; plus, where the trace does
//! not hold every caller, the time it cannot place (`unrecorded`) and the
//! children's time beyond their caller's (`clipped`).

use std::collections::HashMap;

/// One function's numbers, in ns.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FuncStats {
    pub count: u64,
    pub total: u64,
    pub self_ns: u64,
    pub max: u64,
}

impl FuncStats {
    pub fn avg(&self) -> u64 {
        self.total.checked_div(self.count).unwrap_or(0)
    }
}

/// A node of the call tree: one stack.
#[derive(Debug)]
struct Node {
    func: u64,
    parent: u32,
    self_ns: u64,
    /// Left out of the stacks: an interrupt's placeholder caller that
    /// turned out to be the caller of the call before (see `exit`).
    transparent: bool,
}

const ROOT: u32 = 0;

#[derive(Debug, Clone, Copy)]
struct Frame {
    func: u64,
    node: u32,
    children: u64,
    /// Of `children`: an interrupt's calls recorded before this call's
    /// entry (see `entry`), and how many direct children they were.
    adopted: u64,
    adopted_kids: usize,
    /// Where this call's direct children's durations start in its task's
    /// `kids`.
    kids: usize,
}

/// One task's open calls, outermost first, and the durations of their
/// direct children in the order they returned (each frame's from its
/// `kids` on).
#[derive(Debug, Default)]
struct Task {
    frames: Vec<Frame>,
    kids: Vec<u64>,
}

#[derive(Debug)]
pub struct Profile {
    funcs: HashMap<u64, FuncStats>,
    nodes: Vec<Node>,
    child: HashMap<(u32, u64), u32>,
    tasks: HashMap<i32, Task>,
    /// Sum of the durations of the outermost calls (depth 0).
    pub root_total: u64,
    /// Durations of calls whose caller was entered but never seen to
    /// return (or never seen at all, and did not return as a placeholder):
    /// in their own self times, in no recorded caller's.
    dropped: u64,
    /// Children's time beyond their caller's own duration (a self time
    /// stops at 0): the self times add up to that much more.
    pub clipped: u64,
    pub calls: u64,
}

impl Default for Profile {
    fn default() -> Profile {
        Profile {
            funcs: HashMap::new(),
            nodes: vec![Node {
                func: 0,
                parent: ROOT,
                self_ns: 0,
                transparent: false,
            }],
            child: HashMap::new(),
            tasks: HashMap::new(),
            root_total: 0,
            dropped: 0,
            clipped: 0,
            calls: 0,
        }
    }
}

impl Frame {
    fn new(func: u64, node: u32, kids: usize) -> Frame {
        Frame {
            func,
            node,
            children: 0,
            adopted: 0,
            adopted_kids: 0,
            kids,
        }
    }
}

impl Profile {
    fn node(&mut self, parent: u32, func: u64) -> u32 {
        let next = self.nodes.len() as u32;
        let id = *self.child.entry((parent, func)).or_insert(next);
        if id == next {
            self.nodes.push(Node {
                func,
                parent,
                self_ns: 0,
                transparent: false,
            });
        }
        id
    }

    /// The task's frames cut or padded to `depth` callers: a caller whose
    /// entry was not seen is a placeholder (function 0, "[unknown]").
    fn task_at(&mut self, pid: i32, depth: usize) -> Task {
        let mut task = self.tasks.remove(&pid).unwrap_or_default();
        self.drop_from(&mut task, depth + 1);
        while task.frames.len() < depth {
            let parent = task.frames.last().map_or(ROOT, |f| f.node);
            let node = self.node(parent, 0);
            task.frames.push(Frame::new(0, node, task.kids.len()));
        }
        task
    }

    /// `func` was entered at `depth` by task `pid`.
    pub fn entry(&mut self, pid: i32, func: u64, depth: i32) {
        let depth = usize::try_from(depth).unwrap_or(0);
        let mut task = self.task_at(pid, depth);
        // An interrupt's calls recorded one level deeper than the call
        // before, under a placeholder, came in one of two windows: after
        // this call was pushed and before its entry record (its duration
        // holds them: they are its children), or after the call before
        // wrote its exit record and before the kernel popped it (they are
        // the caller's). `exit` tells which from the durations.
        if let Some(p) = task.frames.get(depth).copied().filter(|f| f.func == 0) {
            task.frames.truncate(depth);
            let parent = task.frames.last().map_or(ROOT, |f| f.node);
            self.child.remove(&(parent, 0));
            task.frames.push(Frame {
                func,
                children: p.children,
                adopted: p.children,
                adopted_kids: task.kids.len() - p.kids,
                ..p
            });
            self.tasks.insert(pid, task);
            return;
        }
        self.drop_from(&mut task, depth);
        let parent = task.frames.last().map_or(ROOT, |f| f.node);
        let node = self.node(parent, func);
        task.frames.push(Frame::new(func, node, task.kids.len()));
        self.tasks.insert(pid, task);
    }

    /// `func` at `depth` returned after `dur` ns in task `pid`.
    pub fn exit(&mut self, pid: i32, func: u64, depth: i32, dur: u64) {
        let depth = usize::try_from(depth).unwrap_or(0);
        let mut task = self.tasks.remove(&pid).unwrap_or_default();
        // An interrupt recorded after a child's return and before the
        // kernel popped it sits one level too deep; when this call returns
        // next, its placeholder's calls are this call's children.
        let late_irq = match task.frames.get(depth + 1) {
            Some(p) if p.func == 0 && task.frames.len() == depth + 2 => {
                self.nodes[p.node as usize].transparent = true;
                let p = task.frames.pop().map_or(Frame::new(0, ROOT, 0), |p| p);
                task.kids.truncate(p.kids);
                p.children
            }
            _ => 0,
        };
        self.tasks.insert(pid, task);
        let mut task = self.task_at(pid, depth);
        if let Some(f) = task.frames.get_mut(depth) {
            f.children += late_irq;
        }
        if late_irq > 0 {
            task.kids.push(late_irq);
        }
        let parent = depth.checked_sub(1).map_or(ROOT, |d| task.frames[d].node);
        let (mut frame, seen) = match task.frames.get(depth) {
            Some(f) if f.func == func => (*f, true),
            // Its entry was not seen, but its children were.
            Some(f) if f.func == 0 => (
                Frame {
                    func,
                    node: self.node(parent, func),
                    adopted: 0,
                    adopted_kids: 0,
                    ..*f
                },
                false,
            ),
            _ => {
                self.drop_from(&mut task, depth);
                let node = self.node(parent, func);
                (Frame::new(func, node, task.kids.len()), false)
            }
        };
        task.frames.truncate(depth);
        // Interrupt calls taken as this call's (see `entry`): if they
        // outlast it, they came before it was pushed, and are the caller's.
        let mut before = 0;
        let mut own_kids = frame.kids;
        if frame.adopted > 0 {
            if frame.children > dur {
                self.nodes[frame.node as usize].transparent = true;
                frame.node = self.node(parent, func);
                frame.children -= frame.adopted;
                before = frame.adopted;
                own_kids += frame.adopted_kids;
            } else {
                self.nodes[frame.node as usize].func = func;
            }
        }
        // Children that still outlast it were recorded after its return
        // time was taken and before its exit record was written (an
        // interrupt in that window, one level deeper than where it ran):
        // the last ones, beyond what its duration holds, are the caller's
        // time. Their stacks stay under this call, where the kernel
        // recorded them.
        let mut after = 0;
        if seen && frame.children > dur {
            let mut fit = 0;
            for &k in &task.kids[own_kids.min(task.kids.len())..] {
                if fit + k > dur {
                    break;
                }
                fit += k;
            }
            after = frame.children - fit;
            frame.children = fit;
        }
        task.kids.truncate(frame.kids);
        let self_ns = dur.saturating_sub(frame.children);
        self.clipped += frame.children.saturating_sub(dur);
        self.nodes[frame.node as usize].self_ns += self_ns;
        let f = self.funcs.entry(func).or_default();
        f.count += 1;
        f.total += dur;
        f.self_ns += self_ns;
        f.max = f.max.max(dur);
        self.calls += 1;
        match task.frames.last_mut() {
            Some(parent) => {
                parent.children += before + dur + after;
                task.kids
                    .extend([before, dur, after].into_iter().filter(|&k| k > 0));
            }
            // No recorded caller holds the time outside this call.
            None => {
                self.root_total += dur;
                self.dropped += before + after;
            }
        }
        self.tasks.insert(pid, task);
    }

    /// Forgets `task.frames[keep..]`, calls that will not be seen to
    /// return: their children's time is in no recorded caller.
    fn drop_from(&mut self, task: &mut Task, keep: usize) {
        if let Some(first) = task.frames.get(keep) {
            task.kids.truncate(first.kids);
            self.dropped += task.frames[keep..].iter().map(|f| f.children).sum::<u64>();
            task.frames.truncate(keep);
        }
    }

    /// Time in calls whose caller was not recorded, or not to its end
    /// (including calls still running): the self times add up to
    /// `root_total` plus this.
    pub fn unrecorded(&self) -> u64 {
        let open: u64 = self
            .tasks
            .values()
            .flat_map(|t| &t.frames)
            .map(|f| f.children)
            .sum();
        self.dropped + open
    }

    /// Calls entered and not returned from (still running when the trace
    /// ended): their finished children are counted, they are not.
    pub fn open_calls(&self) -> usize {
        self.tasks
            .values()
            .flat_map(|t| &t.frames)
            .filter(|f| f.func != 0)
            .count()
    }

    /// Every function with its numbers.
    pub fn funcs(&self) -> impl Iterator<Item = (u64, &FuncStats)> {
        self.funcs.iter().map(|(&f, s)| (f, s))
    }

    /// Every stack with self time: (functions from the outermost, self ns).
    pub fn stacks(&self) -> Vec<(Vec<u64>, u64)> {
        let mut out = Vec::new();
        for node in self.nodes.iter().skip(1).filter(|n| n.self_ns > 0) {
            let mut stack = vec![node.func];
            let mut at = node.parent;
            while at != ROOT {
                let n = &self.nodes[at as usize];
                if !n.transparent {
                    stack.push(n.func);
                }
                at = n.parent;
            }
            stack.reverse();
            out.push((stack, node.self_ns));
        }
        out
    }
}

/// `-s`: the column the table is sorted by (largest first; names A to Z).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum SortKey {
    #[default]
    Total,
    SelfTime,
    Avg,
    Max,
    Count,
    Name,
}

impl SortKey {
    pub fn parse(s: &str) -> Option<SortKey> {
        Some(match s {
            "total" => SortKey::Total,
            "self" => SortKey::SelfTime,
            "avg" => SortKey::Avg,
            "max" => SortKey::Max,
            "count" => SortKey::Count,
            "name" => SortKey::Name,
            _ => return None,
        })
    }
}

/// The table: perf ftrace profile's columns plus self, in microseconds.
pub fn table(rows: &mut [(String, FuncStats)], sort: SortKey, out: &mut Vec<u8>) {
    let key = |s: &FuncStats| match sort {
        SortKey::Total | SortKey::Name => s.total,
        SortKey::SelfTime => s.self_ns,
        SortKey::Avg => s.avg(),
        SortKey::Max => s.max,
        SortKey::Count => s.count,
    };
    match sort {
        SortKey::Name => rows.sort_by(|a, b| a.0.cmp(&b.0)),
        _ => rows.sort_by(|a, b| key(&b.1).cmp(&key(&a.1)).then(a.0.cmp(&b.0))),
    }
    let us = |ns: u64| format!("{}.{:03}", ns / 1000, ns % 1000);
    out.extend_from_slice(
        format!(
            "# {:>12} {:>12} {:>12} {:>12} {:>10}   Function\n",
            "Total (us)", "Self (us)", "Avg (us)", "Max (us)", "Count"
        )
        .as_bytes(),
    );
    for (name, s) in rows.iter() {
        let line = format!(
            "  {:>12} {:>12} {:>12} {:>12} {:>10}   {name}\n",
            us(s.total),
            us(s.self_ns),
            us(s.avg()),
            us(s.max),
            s.count
        );
        out.extend_from_slice(line.as_bytes());
    }
}

/// Collapsed stacks, `outer;inner;leaf <self ns>`, sorted (flamegraph.pl,
/// inferno and speedscope read them).
pub fn folded(stacks: Vec<(Vec<&str>, u64)>, out: &mut Vec<u8>) {
    let mut lines: Vec<(String, u64)> = stacks
        .into_iter()
        .map(|(names, ns)| (names.join(";"), ns))
        .collect();
    lines.sort();
    // Stacks whose names are the same (aliases) become one line.
    lines.dedup_by(|b, a| {
        if a.0 == b.0 {
            a.1 += b.1;
            true
        } else {
            false
        }
    });
    for (stack, ns) in lines {
        out.extend_from_slice(format!("{stack} {ns}\n").as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SYS: u64 = 0x100;
    const VFS: u64 = 0x200;
    const LOCK: u64 = 0x300;

    /// Two pwritev2 calls in one task, one in another interleaved with it.
    fn sample() -> Profile {
        let mut p = Profile::default();
        p.entry(1, SYS, 0);
        p.entry(1, VFS, 1);
        p.entry(2, SYS, 0); // another task, meanwhile
        p.entry(1, LOCK, 2);
        p.exit(1, LOCK, 2, 100);
        p.exit(1, VFS, 1, 700);
        p.exit(2, SYS, 0, 50);
        p.exit(1, SYS, 0, 1000);
        p.entry(1, SYS, 0);
        p.entry(1, LOCK, 1); // a leaf: entry then exit
        p.exit(1, LOCK, 1, 30);
        p.exit(1, SYS, 0, 200);
        p
    }

    #[test]
    fn self_is_total_minus_children_and_sums_to_the_roots() {
        let p = sample();
        let f = |a| *p.funcs.get(&a).unwrap();
        assert_eq!(
            f(SYS),
            FuncStats {
                count: 3,
                total: 1250,
                self_ns: (1000 - 700) + 50 + (200 - 30),
                max: 1000
            }
        );
        assert_eq!(f(VFS).self_ns, 600);
        assert_eq!((f(LOCK).count, f(LOCK).self_ns), (2, 130));
        assert_eq!(p.root_total, 1250);
        let self_sum: u64 = p.funcs().map(|(_, s)| s.self_ns).sum();
        assert_eq!(self_sum, p.root_total);
        assert_eq!(p.unrecorded(), 0);
        let folded_sum: u64 = p.stacks().iter().map(|s| s.1).sum();
        assert_eq!(folded_sum, p.root_total);
        assert_eq!(p.calls, 6);
    }

    #[test]
    fn stacks_follow_the_calls() {
        let mut stacks = sample().stacks();
        stacks.sort();
        assert_eq!(
            stacks,
            vec![
                (vec![SYS], 300 + 50 + 170),
                (vec![SYS, VFS], 600),
                (vec![SYS, VFS, LOCK], 100),
                (vec![SYS, LOCK], 30),
            ]
        );
    }

    #[test]
    fn calls_entered_before_tracing_still_add_up() {
        let mut p = Profile::default();
        // The trace starts inside SYS: its entry and VFS's are not seen.
        p.exit(7, VFS, 1, 40);
        p.exit(7, SYS, 0, 100);
        assert_eq!(p.root_total, 100);
        let f = |a| *p.funcs.get(&a).unwrap();
        assert_eq!((f(VFS).total, f(SYS).self_ns), (40, 60));
        // VFS's caller is unknown when it returns: "[unknown]" (0) in its stack.
        let mut stacks = p.stacks();
        stacks.sort();
        assert_eq!(stacks, vec![(vec![0, VFS], 40), (vec![SYS], 60)]);
    }

    #[test]
    fn calls_under_callers_that_never_return_are_counted_apart() {
        let mut p = Profile::default();
        // An interrupt's functions at depth 2, with no caller recorded, then
        // a root call; then a call that never returns, with a child.
        p.exit(3, LOCK, 2, 40);
        p.entry(3, SYS, 0);
        p.exit(3, SYS, 0, 100);
        p.entry(3, VFS, 0);
        p.entry(3, LOCK, 1);
        p.exit(3, LOCK, 1, 7);
        let self_sum: u64 = p.funcs().map(|(_, s)| s.self_ns).sum();
        assert_eq!(p.root_total, 100);
        assert_eq!(p.unrecorded(), 47);
        assert_eq!(self_sum, p.root_total + p.unrecorded());
        assert_eq!(p.open_calls(), 1);
    }

    #[test]
    fn an_interrupt_recorded_before_its_callers_entry_is_its_child() {
        let mut p = Profile::default();
        p.entry(4, SYS, 0);
        // The kernel pushed VFS (depth 1), then an interrupt's function
        // (depth 2) was recorded before VFS's entry record.
        p.exit(4, LOCK, 2, 40);
        p.entry(4, VFS, 1);
        p.exit(4, VFS, 1, 100);
        p.exit(4, SYS, 0, 150);
        let f = |a| *p.funcs.get(&a).unwrap();
        assert_eq!(
            (f(VFS).self_ns, f(SYS).self_ns, f(LOCK).self_ns),
            (60, 50, 40)
        );
        assert_eq!(p.unrecorded(), 0);
        let mut stacks = p.stacks();
        stacks.sort();
        assert_eq!(
            stacks,
            vec![
                (vec![SYS], 50),
                (vec![SYS, VFS], 60),
                (vec![SYS, VFS, LOCK], 40)
            ]
        );
    }

    #[test]
    fn an_interrupt_recorded_after_a_return_is_the_callers() {
        let mut p = Profile::default();
        p.entry(4, SYS, 0);
        p.entry(4, VFS, 1);
        p.exit(4, VFS, 1, 10);
        // VFS's exit was written, then an interrupt (recorded at depth 2)
        // before the kernel popped VFS; then LOCK, a short leaf at depth 1.
        p.exit(4, 0x900, 2, 300);
        p.entry(4, LOCK, 1);
        p.exit(4, LOCK, 1, 5);
        p.exit(4, SYS, 0, 400);
        let f = |a| *p.funcs.get(&a).unwrap();
        assert_eq!((f(LOCK).self_ns, f(SYS).self_ns), (5, 400 - 10 - 5 - 300));
        assert_eq!((p.clipped, p.unrecorded()), (0, 0));
        let mut stacks = p.stacks();
        stacks.sort();
        assert!(stacks.contains(&(vec![SYS, 0x900], 300)), "{stacks:?}");
        assert!(stacks.contains(&(vec![SYS, LOCK], 5)), "{stacks:?}");
    }

    #[test]
    fn an_interrupt_recorded_after_the_last_childs_return_is_the_callers() {
        let mut p = Profile::default();
        p.entry(4, SYS, 0);
        p.entry(4, VFS, 1);
        p.exit(4, VFS, 1, 10);
        // An interrupt at depth 2 after VFS's return, then SYS returns.
        p.exit(4, 0x900, 2, 300);
        p.exit(4, SYS, 0, 400);
        let f = |a| *p.funcs.get(&a).unwrap();
        assert_eq!(f(SYS).self_ns, 400 - 10 - 300);
        assert_eq!((p.clipped, p.unrecorded()), (0, 0));
        let mut stacks = p.stacks();
        stacks.sort();
        assert!(stacks.contains(&(vec![SYS, 0x900], 300)), "{stacks:?}");
    }

    #[test]
    fn an_interrupt_recorded_inside_a_call_after_its_return_is_the_callers() {
        let mut p = Profile::default();
        p.entry(4, SYS, 0);
        p.entry(4, VFS, 1);
        // VFS's leaf child LOCK, then VFS took its return time; an
        // interrupt came before its exit record, recorded at depth 2.
        p.exit(4, LOCK, 2, 3);
        p.exit(4, 0x900, 2, 300);
        p.exit(4, VFS, 1, 10);
        p.exit(4, SYS, 0, 400);
        let f = |a| *p.funcs.get(&a).unwrap();
        assert_eq!(f(VFS).self_ns, 10 - 3);
        assert_eq!(f(SYS).self_ns, 400 - 10 - 300);
        let self_sum: u64 = p.funcs().map(|(_, s)| s.self_ns).sum();
        assert_eq!(self_sum, p.root_total);
        assert_eq!((p.clipped, p.unrecorded()), (0, 0));
        let folded: u64 = p.stacks().iter().map(|s| s.1).sum();
        assert_eq!(folded, p.root_total);
    }

    #[test]
    fn children_longer_than_their_caller_are_clipped_and_counted() {
        let mut p = Profile::default();
        // A child of 300 under a caller whose entry was not seen and that
        // lasted 200 (clocks, or a caller cut short).
        p.exit(5, LOCK, 2, 300);
        p.exit(5, VFS, 1, 200);
        let self_sum: u64 = p.funcs().map(|(_, s)| s.self_ns).sum();
        assert_eq!((self_sum, p.clipped, p.unrecorded()), (300, 100, 200));
        assert_eq!(self_sum, p.root_total + p.unrecorded() + p.clipped);
    }

    #[test]
    fn table_and_folded_text() {
        let p = sample();
        let names = |a: u64| match a {
            SYS => "__x64_sys_pwritev2",
            VFS => "vfs_writev",
            _ => "mutex_lock",
        };
        let mut rows: Vec<(String, FuncStats)> =
            p.funcs().map(|(a, s)| (names(a).to_string(), *s)).collect();
        let mut out = Vec::new();
        table(&mut rows, SortKey::SelfTime, &mut out);
        let text = String::from_utf8(out).unwrap();
        let lines: Vec<&str> = text.lines().collect();
        assert!(lines[0].contains("Total (us)") && lines[0].contains("Self (us)"));
        assert!(lines[1].ends_with("vfs_writev"), "{text}");
        assert!(
            lines[1].contains("0.700        0.600        0.700        0.700          1"),
            "{text}"
        );
        let mut out = Vec::new();
        let stacks = p
            .stacks()
            .into_iter()
            .map(|(s, ns)| (s.into_iter().map(names).collect(), ns))
            .collect();
        folded(stacks, &mut out);
        assert_eq!(
            String::from_utf8(out).unwrap(),
            "__x64_sys_pwritev2 520\n__x64_sys_pwritev2;mutex_lock 30\n\
             __x64_sys_pwritev2;vfs_writev 600\n__x64_sys_pwritev2;vfs_writev;mutex_lock 100\n"
        );
    }
}
