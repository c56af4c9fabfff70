//! Text traces (`cat trace`, `trace-cmd show`, `perf ftrace`) and captures
//! turned into colored lines: the parser, the renderer, the streaming view,
//! and a capture's CPUs printed in parallel.

pub mod parallel;
pub mod parse;
pub mod render;
pub mod view;
