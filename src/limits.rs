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

/// The padding (bytes no member covers: `long: 64;` lines) one struct of
/// the header from BTF may have. The most a real kernel's struct has is
/// `bpf_ringbuf`'s 12,168 bytes (6.12, 6.18: pages of 4 KiB between its
/// page-aligned members); with 64 KiB pages that is about 3 × 64 KiB. 1 MiB
/// is five times that and writes at most 1.4 MB of padding lines, where a
/// 200-byte BTF could ask for a struct of 4 GiB (a header of 6 GB).
pub const MAX_STRUCT_PADDING: u64 = 1 << 20;

/// The length of a header from BTF, in bytes. bpftool's whole vmlinux.h
/// (every type of 6.18) is 2.8 MB and a header of every kfunc far less;
/// 64 MiB is twenty whole vmlinux.h. Anonymous types are written inline at
/// each use, so a small BTF could otherwise nest them into a header of
/// billions of lines (a struct of 1,000 anonymous members of 1,000 members,
/// …): the bound is checked as the header is written, not after.
pub const MAX_HEADER_LEN: usize = 64 << 20;

// ---- BTF directories (`avail --btf-dir`) ----

// ---- source trees (the scan) and hand-kept YAML (`lint-docs`) ----
