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

/// The most of a BTF directory's `RELEASE` file that is read: a kernel
/// release is one short line (at most [`RELEASE_MAX_LEN`] characters and
/// a line break), so 256 bytes leave room for blanks and a CRLF yet a
/// 300 MB file (or one that never ends) costs nothing; a file longer than
/// this is not a release and is ignored with a warning.
pub const RELEASE_MAX_BYTES: u64 = 256;

/// The longest kernel release taken from `RELEASE` or a `config`'s
/// header: 64 characters, the kernel's own bound (`__NEW_UTS_LEN`, the
/// size of `uname -r`'s field but its NUL), so no real kernel's is longer.
pub const RELEASE_MAX_LEN: usize = 64;

/// The most of a BTF directory's `config` that is read for its header
/// (`# Linux/x86 6.12.117 Kernel Configuration`, its third line, about a
/// hundred bytes in): 4 KiB holds [`CONFIG_HEADER_LINES`] lines of any
/// real config many times over; the options below are never needed.
pub const CONFIG_HEAD_MAX_BYTES: u64 = 4096;

/// How many of a `config`'s first lines may hold its header: Kconfig
/// writes it third, after `#` and "Automatically generated file"; five
/// allow for a line or two added by a packager.
pub const CONFIG_HEADER_LINES: usize = 5;

// ---- source trees (the scan) and hand-kept YAML (`lint-docs`) ----

// ---- BPF objects (`check`) ----

/// The largest BPF object `check` reads: an object is read whole (its
/// symbols, relocations and BTF are all needed), and real ones are a few
/// MiB at most (clang's debug info for a whole `vmlinux.h` is under one);
/// 64 MiB is many times that, and bounds the memory a hostile file costs.
pub const CHECK_MAX_OBJECT_BYTES: u64 = 64 << 20;

/// How deep a prototype comparison follows one chain of types (pointers,
/// arrays, modifiers, typedefs): libbpf's own bound in
/// `__bpf_core_types_are_compat()` (32), so a longer chain is refused by
/// both, and a BTF cycle ends here instead of looping.
pub const CHECK_COMPAT_CHAIN_DEPTH: u32 = 32;

/// How many function prototypes deep (a parameter that is a pointer to a
/// function taking a pointer to a function …) a prototype comparison
/// goes: libbpf has no bound here (a cycle of such pointers recurses until
/// its stack ends); real kfuncs take callbacks one level deep, so 8 is
/// ample, and past it the kfunc is reported as not compared.
pub const CHECK_COMPAT_NESTING: u32 = 8;

/// The most programs `check` reads from one object: libbpf loads each
/// with its own `bpf()` call and real objects hold tens, a few hundred at
/// most (a sched_ext scheduler some tens, the selftests' largest about a
/// hundred); 4,096 is far past that, and keeps the report of a hostile
/// object (a million one-instruction programs) small.
pub const CHECK_MAX_PROGRAMS: usize = 1 << 12;

/// The most (program, kfunc) calls `check` examines in one object, counting
/// a kfunc called from `.text` subprograms once per program: real objects
/// have a few thousand (tens of programs × tens of kfuncs), so 65,536 is
/// room for them many times over, while a hostile one (4,096 programs ×
/// thousands of externs from `.text`) is refused before a report of
/// billions of cells is built; at the bound the JSON matrix is about
/// 15 MiB and takes about a second to build and write (debug build).
pub const CHECK_MAX_CALLS: usize = 1 << 16;
