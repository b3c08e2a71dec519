//! Every bound kfunc-scan puts on what an input may cost, in one place.
//! An input past a bound gets a diagnostic naming the object or file and
//! the bound (exit 1 or 2), never an abort, an out-of-memory kill or a
//! hang. The README's trust section lists them; each is tested at the
//! bound and one past it.
//!
//! Bounds of the BTF reader live beside it in `kfunc_scan_btf` (a crate
//! that knows nothing of this one) and are re-exported here; so are the
//! manifest reader's.

// ---- git repositories and packs (`history --git`) ----

// ---- BTF and the C it becomes (`header --btf`, `btf-check`) ----

// ---- BTF directories (`avail --btf-dir`) ----

// ---- source trees (the scan) and hand-kept YAML (`lint-docs`) ----

/// The deepest `#if`s (`#ifdef`, `#ifndef`) may nest in a scanned file; a
/// file nesting deeper is an error diagnostic at the `#if` past the bound,
/// and is not parsed (the scan goes on with the other files). C requires
/// compilers to take 63 levels (C11 5.2.4.1); the kernel's deepest is 6
/// (6.12, include guards counted). 256 leaves room for any generated code
/// while keeping what one file costs small (8,000 levels took 6 s before
/// the condition of a node was computed in one pass).
pub const MAX_IF_DEPTH: usize = 256;

/// The largest kfuncs.yaml `lint-docs` reads, in bytes; a larger file is
/// refused (exit 2) naming the file and this bound. ebpf-docs' own file is
/// 41 KB (43 sets); 4 MiB is a hundred times that. Read into a tree with
/// a position on every node, a YAML costs about 27 times its size in
/// memory (8 MB took 218 MB): the bound keeps that near 110 MB.
pub const MAX_KFUNCS_YAML_SIZE: u64 = 4 << 20;
