//! Presentation: where bytes go (stdout, file, pager), colors, histograms,
//! digits, errno names, and matching the names a user typed.

pub mod digits;
pub mod errno;
pub mod hist;
pub mod names;
pub mod newfile;
pub mod output;
pub mod theme;
