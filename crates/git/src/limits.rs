//! The bounds on what a repository may cost its reader. A repository is
//! untrusted input: past a bound, a typed error naming the object or file
//! and the bound, never an abort, an out-of-memory kill or a hang.
//! `kfunc_scan::limits` re-exports them beside every other bound of the
//! tool (`docs/trust.md` lists them).
/// The largest object a pack entry may say it inflates to, and the most
/// delta instructions one chain may carry: the kernel's largest C file is
/// 24 MB, its largest object in a packed history well under this. A size
/// is the pack's word until the object is decoded: this bounds what one
/// entry can make a thread allocate, in the pack reader and before any
/// read through the object database.
pub const MAX_GIT_OBJECT_SIZE: u64 = 256 << 20;

/// The longest delta chain followed: git writes 50 at most by default,
/// 4095 at most when asked (`--depth`). Checked, with loops, on the pack
/// entries' headers before the object database reads an object (its own
/// walk down a looping REF_DELTA chain grows without end).
pub const MAX_GIT_DELTA_CHAIN: usize = 4096;

/// The most bytes one allocation of the object database may take (gix's
/// `gitoxide.objects.allocLimit`): twice the largest file scanned
/// (`kfunc_scan::scan::walk::MAX_FILE_SIZE`, 64 MiB), so a blob built on a
/// larger base still reads. gix holds up to three such buffers for one
/// delta chain.
pub const GIT_ALLOC_LIMIT: u64 = 128 << 20;

/// The most symbolic references followed from a name (git's
/// `SYMREF_MAXDEPTH`).
pub const MAX_GIT_SYMREF_DEPTH: usize = 5;

/// The most tags peeled from a name to its commit: git's own tags point at
/// commits; a tag of a tag of a tag is already rare.
pub const MAX_GIT_TAG_PEEL: usize = 32;

/// The longest path in a tree, and the longest symbolic link target, in
/// bytes: the kernel's `PATH_MAX`, past which a checkout fails. A link's
/// target is refused from its object's size, before it is read.
pub const GIT_PATH_MAX: usize = 4096;

/// The most bytes of paths looked up to follow the links of one tree's
/// walk (and of one path the scan asks for): each step down costs its
/// path's length, so links deep in a tree at many places cost the square.
/// The kernel's 62 links (6.12) take a few kilobytes; 64 MiB is ~0.1 s.
pub const MAX_GIT_LINK_WORK: usize = 64 << 20;

/// The deepest directory in a tree: a path of depth d has at least 2d - 1
/// bytes, so no path within [`GIT_PATH_MAX`] is deeper than 2048. Bounds
/// the walk's stack and the paths it builds (quadratic in the depth).
pub const MAX_GIT_TREE_DEPTH: usize = GIT_PATH_MAX / 2;

/// The most entries (files, directories, links) one tree lists: 6.12 has
/// about 93,000; trees share subtrees, so a small repository can name
/// exponentially many.
pub const MAX_GIT_TREE_ENTRIES: usize = 1 << 20;

/// The most bytes of paths one tree's listing holds (6.12: about 5 MB):
/// with [`MAX_GIT_TREE_ENTRIES`], what a listing costs (~250 MB at both
/// bounds).
pub const MAX_GIT_TREE_PATH_BYTES: usize = 64 << 20;

/// The largest small file of a repository read to find the others (a
/// `.git` file naming the git directory, `commondir`,
/// `objects/info/alternates`): real ones are a line or a few.
pub const MAX_GIT_META_FILE: u64 = 64 << 10;

/// The most levels of `objects/info/alternates` followed: git ignores
/// deeper ones ("nesting too deep", past 5); gix follows them without
/// bound, so a repository nesting deeper is refused.
pub const MAX_GIT_ALTERNATES_DEPTH: usize = 5;
