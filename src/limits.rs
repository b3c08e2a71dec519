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

/// The longest name `btf-check` and every BTF reader accept: the kernel's
/// own bound (`KSYM_NAME_LEN`, 512 bytes), so that a BTF valid here is one
/// the kernel loads.
pub use crate::btf::MAX_NAME_LEN as BTF_MAX_NAME_LEN;

/// How much of a refused BTF name an error shows (80 bytes, then `…`): a
/// name may be megabytes long (an INT's is not bounded by the kernel).
pub use crate::btf::MAX_NAME_SHOWN as BTF_MAX_NAME_SHOWN;

/// The padding (bytes no member covers: `long: 64;` lines) one struct of
/// the header from BTF may have. The most a real kernel's struct has is
/// `bpf_ringbuf`'s 12,168 bytes (6.12, 6.18: pages of 4 KiB between its
/// page-aligned members); with 64 KiB pages that is about 3 × 64 KiB. 1 MiB
/// is five times that and writes at most 1.4 MB of padding lines, where a
/// 200-byte BTF could ask for a struct of 4 GiB (a header of 6 GB).
pub const MAX_STRUCT_PADDING: u64 = 1 << 20;

/// The length of a header from BTF, in bytes. The header of every kfunc
/// of 6.18 is 24 KB (types behind pointers have empty bodies), that of all
/// 1,437 FUNCs named `bpf_*` of 6.12 173 KB, and bpftool's whole vmlinux.h
/// 2.8 MB; 4 MiB is more than any of them. Anonymous types and function
/// pointers are written inline at each use, so a BTF of 12 KB could
/// otherwise nest them into a header of billions of lines (a union of 256
/// anonymous members of 256 members, four deep): the bound is checked as
/// the header is written, not after.
pub const MAX_HEADER_LEN: usize = 4 << 20;

// ---- BTF directories (`avail --btf-dir`) ----

// ---- source trees (the scan) and hand-kept YAML (`lint-docs`) ----
