//! The kernel side: finding tracefs, the one session that writes it, the
//! journal of every change, and the code that puts changes back (on the way
//! out, from the guardian after a kill -9, from `ftr reset`). Also what the
//! kernel says about itself: event formats and BTF.

pub mod btf;
pub mod detach;
pub mod format;
pub mod guardian;
pub mod journal;
pub mod repair;
pub mod session;
pub mod tracefs;
