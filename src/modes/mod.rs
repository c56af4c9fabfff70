//! The modes: each knows what to arm and how to turn records into lines;
//! the run sequence (`crate::run`) owns the order, the session and the data.

pub mod graph;
pub mod list;
pub mod noise;
pub mod report;
pub mod trace;
