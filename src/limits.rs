//! Every bound kfunc-scan puts on what an input may cost, in one place.
//! An input past a bound gets a diagnostic naming the object or file and
//! the bound (exit 1 or 2), never an abort, an out-of-memory kill or a
//! hang. `docs/trust.md` lists them; each is tested at the
//! bound and one past it.
//!
//! Bounds of the BTF reader live beside it in `kfunc_scan_btf` (a crate
//! that knows nothing of this one) and are re-exported here; so are the
//! manifest reader's, the `.config` reader's (`kfunc_scan_kbuild`) and the
//! git reader's (`kfunc_scan_git`).

// ---- kernel builds (`patch-btf` as a step of one) ----

/// Named types at the start of a BTF that `patch-btf`'s name-order test
/// skips: the order rule is about the bulk of the types (the kernel
/// binary-searches from its first named type on), and a few leading types
/// a future resolve_btfids might keep in place must not hide a sorted BTF.
/// 6.x vmlinux BTFs still fail the test within their first dozen names.
pub const SORTED_BTF_LEAD: usize = 8;

/// Named types, past [`SORTED_BTF_LEAD`], that must be in name order for
/// `patch-btf` to call a BTF sorted (and refuse to append to it). A real
/// vmlinux has 100k+; a handful of names can be in order by chance, 64
/// only when something sorted them (1 in 64! for names in no order).
pub const SORTED_BTF_MIN_NAMED: usize = 64;

// ---- git repositories and packs (`history --git`) ----

/// The git reader's bounds live beside it in `kfunc_scan_git` (a crate that
/// knows nothing of kfuncs), each documented there.
#[cfg(feature = "git")]
pub use crate::git::limits::{
    GIT_ALLOC_LIMIT, GIT_PATH_MAX, MAX_GIT_ALTERNATES_DEPTH, MAX_GIT_DELTA_CHAIN,
    MAX_GIT_LINK_WORK, MAX_GIT_META_FILE, MAX_GIT_OBJECT_SIZE, MAX_GIT_SYMREF_DEPTH,
    MAX_GIT_TAG_PEEL, MAX_GIT_TREE_DEPTH, MAX_GIT_TREE_ENTRIES, MAX_GIT_TREE_PATH_BYTES,
};

// ---- BTF and the C it becomes (`header --btf`, `btf-check`) ----

/// The longest name `btf-check` and every BTF reader accept: the kernel's
/// own bound (`KSYM_NAME_LEN`, 512 bytes), so that a BTF valid here is one
/// the kernel loads.
pub use crate::btf::MAX_NAME_LEN as BTF_MAX_NAME_LEN;

/// How much of a refused BTF name an error shows (80 bytes, then `…`): a
/// name may be megabytes long (an INT's is not bounded by the kernel).
pub use crate::btf::MAX_NAME_SHOWN as BTF_MAX_NAME_SHOWN;

/// The padding one struct of the header from BTF may have, and the
/// header's length: bounds of the C emitter, which lives beside the BTF
/// reader in `kfunc_scan_btf` (`btf::c`), each documented there.
pub use crate::btf::c::{MAX_HEADER_LEN, MAX_STRUCT_PADDING};

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

/// The most edits (Damerau-Levenshtein: an insertion, a deletion, a
/// substitution or two neighbours swapped) between a misspelt program
/// type or kfunc name and a name offered as "did you mean": two catch a
/// doubled or dropped letter and a swap (`sock_opts`, `bpf_task_form_pid`)
/// while `xdp` does not suggest `lsm`. Names whose lengths differ by more
/// are not compared, so a name of any length costs at most this many
/// columns more than the candidate's own length per candidate.
pub const SUGGEST_MAX_DISTANCE: usize = 2;

/// The most names one "did you mean" offers: the nearest few; a longer
/// list reads as the whole list, which the message does not repeat.
pub const SUGGESTIONS_MAX: usize = 3;

/// The most characters of a name from the command line (a program type,
/// a `--has` or `--kfuncs` name) a message repeats; the rest is counted,
/// not shown. 512 is the kernel's `KSYM_NAME_LEN`: no kfunc's name is
/// longer, so a real name is always shown whole, while a 128 KiB argument
/// does not become 128 KiB of error message (twice).
pub const NAME_SHOWN_MAX_CHARS: usize = 512;

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

/// How deep node patterns may nest in a query file (`--queries DIR`); a
/// deeper one is a syntax error at the pattern past it. The embedded
/// queries nest 4 deep; the parser and the matcher recurse once a level,
/// so the bound keeps a hostile override from exhausting the stack.
pub const MAX_QUERY_PATTERN_DEPTH: usize = 64;

/// The largest query file `--queries DIR` reads, in bytes; a larger one is
/// a load error naming it (exit 2). The six embedded files are 2 KB in all.
pub const MAX_QUERY_FILE_SIZE: u64 = 1 << 20;

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
/// a kfunc called from a `.text` subprogram once per program reaching it:
/// real objects
/// have a few thousand (tens of programs × tens of kfuncs), so 65,536 is
/// room for them many times over, while a hostile one (4,096 programs ×
/// thousands of externs from `.text`) is refused before a report of
/// billions of cells is built; at the bound the JSON matrix is about
/// 15 MiB and takes about a second to build and write (debug build).
pub const CHECK_MAX_CALLS: usize = 1 << 16;

/// The most calls between functions `check` follows in one object, summed
/// over its programs (each program's walk counts the distinct `.text`
/// functions each function it reaches calls): libbpf appends to a program
/// every subprogram it reaches, and the verifier takes at most 256
/// (`BPF_MAX_SUBPROGS`) per program, so real objects need a few thousand (the
/// 6.12 selftests' largest, tens of programs × tens of subprograms);
/// 1,048,576 is room for them hundreds of times over, while a hostile
/// object (4,096 programs each reaching a chain of a million subprograms)
/// is refused after about a second instead of walking billions of calls.
pub const CHECK_MAX_CALL_EDGES: usize = 1 << 20;

// ---- kernel configurations (`--config`) ----

/// The largest `.config` read (`kbuild::config`, where it is used).
pub use crate::kbuild::config::MAX_CONFIG_SIZE;
/// `config-syntax` errors shown per file before the rest are counted.
pub use crate::kbuild::config::MAX_SYNTAX_ERRORS;

// --- scan cache ---

/// The largest scan cache (`scan --cache DIR`) read or written. The cache
/// is untrusted input (anyone who can write DIR can write it): past this
/// size it is ignored with a warning and rebuilt, and a cache that would
/// grow past it is not written. 6.12's is 10.3 MB (60,000 C files with
/// their keys, the ~700,000 function-name hashes the second look needs,
/// the 35 parsed files' records); 64 MiB is six times that, and with
/// [`MAX_SCAN_CACHE_ENTRIES`] bounds what reading one costs (it is read
/// whole; decoded, the hashes take their size again, the entries ~100
/// bytes each: ~250 MB at both bounds).
pub const MAX_SCAN_CACHE_SIZE: u64 = 64 << 20;

/// The most entries (directories, and the files, links and directories
/// they list) a scan cache may hold. A forged cache of minimal entries
/// (six bytes each) would otherwise decode into ~15 times its size; 6.12
/// has 66,000 (5,760 directories, 59,932 C files, 62 links), 1 << 20 is
/// sixteen times that.
pub const MAX_SCAN_CACHE_ENTRIES: usize = 1 << 20;

/// How close to the start of a scan (in nanoseconds) a file's or a
/// directory's mtime or ctime may be for the scan cache to still trust
/// it next time: git's "racy clean" rule. A file changed in the same
/// timestamp tick as the scan read it keeps the key the scan recorded, so
/// whatever was changed within this window of the scan is recorded as
/// changed and read again by the next scan. Ext4 and XFS stamp with the
/// kernel's coarse clock (a few ms), FAT and some network file systems in
/// whole seconds (FAT's mtime in 2 s steps): 3 s covers them all.
pub const SCAN_CACHE_RACY_WINDOW_NS: i64 = 3_000_000_000;

/// The most paths a watcher may report changed for a scan to still answer
/// from its memo without walking (`scan --cache` with `kfunc-scan watch`):
/// each is a listing read or a file read and prefiltered again, one at a
/// time. An editor's save is one to three paths, `git checkout` of a few
/// files a dozen; past 256 the walk (two threads, from the cache, only the
/// changed paths statted) is as quick.
pub const MAX_QUICK_CHANGES: usize = 256;

/// The most changed paths a watcher (`kfunc-scan watch`) keeps before it
/// drops its record and starts a new generation (the next scan then stats
/// the whole tree, as without a watcher). Build outputs are not recorded;
/// a `git checkout` from v6.1 to v6.12 changes ~40,000 C files and
/// directories; 131,072 paths of ~60 bytes are ~15 MB.
pub const MAX_WATCH_CHANGES: usize = 1 << 17;
