//! kfunc-scan: the Linux kernel's BPF kfuncs, read from source.
//!
//! Layers, data flowing one way: `scan` (walk → mask → parse → extract →
//! resolve) produces a [`manifest::Manifest`]; consumers read it. The `btf`
//! module reads and writes BTF and knows nothing of kfuncs; nor does
//! `kbuild` (the `.config` and Kbuild makefiles).

pub use kfunc_scan_btf as btf;
#[cfg(feature = "git")]
pub use kfunc_scan_git as git;
pub use kfunc_scan_kbuild as kbuild;
pub use kfunc_scan_manifest as manifest;
pub use kfunc_scan_manifest::{cdecl, conventions};
pub mod avail;
pub mod check;
pub mod diff;
pub mod docs;
pub mod header;
pub mod history;
pub mod limits;
pub mod lint;
pub mod output;
pub mod patch;
pub mod scan;
#[cfg(any(test, feature = "test-support"))]
pub mod synth;
