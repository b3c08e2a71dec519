//! A git repository's object database read without a checkout: a
//! revision's commit and tree, a tree's entries listed in full, paths
//! resolved through symbolic links inside the tree as the kernel resolves
//! them, blobs read one by one or many at once ([`packs`]). The repository
//! is untrusted input: each object is checked before the object database
//! reads it, and each bound ([`limits`]) is an error naming it. Knows
//! nothing of kfuncs or of what the blobs hold.
//!
//! Symbolic links are resolved inside the tree, component by component as
//! the kernel resolves paths; a link leaving the tree (an absolute target,
//! or `..` above the top) is dangling here, where a checkout would follow it
//! outside.

use crate::{limits, packs};
use gix::prelude::FindExt;
use gix::ObjectId;
use rustc_hash::FxHashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

/// Why a repository or one of its revisions cannot be read. Plain facts;
/// the command line words them.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    /// gix does not open it as a repository.
    #[error("{}: not a git repository ({message})", path.display())]
    NotARepository {
        /// The path given.
        path: PathBuf,
        /// gix's reason.
        message: String,
    },
    /// The name is no reference, and no full commit id of the repository.
    #[error("no tag, branch or commit named `{0}`")]
    NoSuchRevision(String),
    /// The name leads nowhere readable, or to no commit, or past a bound.
    #[error("`{name}`: {message}")]
    BadRevision {
        /// The name given.
        name: String,
        /// Why.
        message: String,
    },
    /// A tree cannot be listed: an object that does not read, or a listing
    /// past a bound.
    #[error("tree {oid}: {message}")]
    Unreadable {
        /// The tree (the top one for a bound of the whole listing).
        oid: ObjectId,
        /// Why.
        message: String,
    },
    /// A file of the repository that would block or flood its reading (a
    /// FIFO, a device), or too large to be what git keeps there: refused
    /// before the object database opens it.
    #[error("{}: {message}", path.display())]
    BadFile {
        /// The file.
        path: PathBuf,
        /// What it is instead, or its size and the bound.
        message: String,
    },
}

/// A commit and its tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revision {
    /// The commit, tags peeled.
    pub commit: ObjectId,
    /// Its tree.
    pub tree: ObjectId,
}

/// An open repository; its object database is read from any thread (each
/// takes a handle of its own from a pool).
pub struct Repo {
    shared: gix::ThreadSafeRepository,
    handles: Mutex<Vec<gix::Repository>>,
    /// Its packs: read ahead from (see [`Repo::packs`]), and the chain of every
    /// object checked on them before the object database reads it
    /// ([`packs::Packs::check`]).
    packs: packs::Packs,
    /// Its objects directories, alternates included.
    objects_dirs: Vec<PathBuf>,
    /// Where its references are kept (the git directory, and the common
    /// one of a linked work tree).
    ref_dirs: Vec<PathBuf>,
}

impl Repo {
    /// Opens the repository at `path` (a `.git` directory, a bare
    /// repository, or a work tree holding `.git`), reading nothing of the
    /// environment or of the user's git configuration.
    /// Its files are checked first ([`check_files`]): a FIFO or a device
    /// where git keeps a file is refused before anything opens it.
    pub fn open(path: &Path) -> Result<Repo, GitError> {
        check_files(path)?;
        let limit = format!("gitoxide.objects.allocLimit={}", limits::GIT_ALLOC_LIMIT);
        let options = gix::open::Options::isolated().config_overrides([limit]);
        let shared = gix::open_opts(path, options).map_err(|e| GitError::NotARepository {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        let mut ref_dirs = vec![shared.git_dir().to_path_buf()];
        if shared.common_dir() != shared.git_dir() {
            ref_dirs.push(shared.common_dir().to_path_buf());
        }
        let store = shared.objects.store_ref();
        let mut objects_dirs = vec![store.path().to_path_buf()];
        objects_dirs.extend(store.alternate_db_paths().unwrap_or_default());
        let packs = packs::Packs::open(&objects_dirs, shared.object_hash());
        Ok(Repo {
            shared: shared.into_sync(),
            handles: Mutex::new(Vec::new()),
            packs,
            objects_dirs,
            ref_dirs,
        })
    }

    /// Checks object `oid` before the object database reads it: its size
    /// once decoded, when something holds it ([`packs::Packs::check`]).
    pub fn check(&self, oid: &ObjectId) -> Result<Option<u64>, packs::Refused> {
        self.packs.check(oid, &self.objects_dirs)
    }

    /// The commit a tag, a branch or a full commit id names, and its tree.
    /// Resolved here, step by bounded step, each object checked before it
    /// is read: the object database's own peeling follows what a hostile
    /// repository says without end.
    pub fn revision(&self, name: &str) -> Result<Revision, GitError> {
        let bad = |message: String| GitError::BadRevision {
            name: name.to_string(),
            message,
        };
        self.with_handle(|repo| {
            let reference = if name.is_empty() {
                None
            } else {
                self.check_ref_files(name)?;
                repo.try_find_reference(name)
                    .map_err(|e| bad(e.to_string()))?
            };
            let mut id = match reference {
                Some(r) => self.follow(repo, name, r.inner.target)?,
                None => ObjectId::from_hex(name.as_bytes())
                    .ok()
                    .filter(|id| repo.has_object(id))
                    .ok_or_else(|| GitError::NoSuchRevision(name.to_string()))?,
            };
            for _ in 0..=limits::MAX_GIT_TAG_PEEL {
                self.check(&id).map_err(|e| bad(e.to_string()))?;
                let object = repo.find_object(id).map_err(|e| bad(e.to_string()))?;
                match object.kind {
                    gix::object::Kind::Commit => {
                        let commit = object.into_commit();
                        let tree = commit.tree_id().map_err(|e| bad(e.to_string()))?.detach();
                        return Ok(Revision { commit: id, tree });
                    }
                    gix::object::Kind::Tag => {
                        id = object
                            .into_tag()
                            .target_id()
                            .map_err(|e| bad(e.to_string()))?
                            .detach();
                    }
                    kind => return Err(bad(format!("names a {kind}, not a commit"))),
                }
            }
            Err(bad(format!(
                "more than {} tags to peel to a commit (the most followed)",
                limits::MAX_GIT_TAG_PEEL
            )))
        })
    }

    /// The object reference `name` leads to from `target`, symbolic
    /// references followed (at most [`limits::MAX_GIT_SYMREF_DEPTH`]).
    fn follow(
        &self,
        repo: &gix::Repository,
        name: &str,
        mut target: gix::refs::Target,
    ) -> Result<ObjectId, GitError> {
        let bad = |message: String| GitError::BadRevision {
            name: name.to_string(),
            message,
        };
        for _ in 0..=limits::MAX_GIT_SYMREF_DEPTH {
            let to = match target {
                gix::refs::Target::Object(id) => return Ok(id),
                gix::refs::Target::Symbolic(to) => to,
            };
            let to = to.as_bstr().to_string();
            self.check_ref_files(&to)?;
            target = repo
                .find_reference(to.as_str())
                .map_err(|e| bad(e.to_string()))?
                .inner
                .target;
        }
        Err(bad(format!(
            "more than {} symbolic references to follow (the most followed)",
            limits::MAX_GIT_SYMREF_DEPTH
        )))
    }

    /// Refuses a file where a loose reference `name` may be kept that is
    /// not a regular file: reading a FIFO there would wait forever. Where
    /// the reference store looks, for a name in full or in short.
    fn check_ref_files(&self, name: &str) -> Result<(), GitError> {
        let candidates = [
            name.to_string(),
            format!("refs/{name}"),
            format!("refs/tags/{name}"),
            format!("refs/heads/{name}"),
            format!("refs/remotes/{name}"),
            format!("refs/remotes/{name}/HEAD"),
        ];
        for dir in &self.ref_dirs {
            for c in &candidates {
                check_regular(&dir.join(c))?;
            }
        }
        Ok(())
    }

    /// Its packs, to read many blobs at once in the order of their delta
    /// chains ([`packs::Packs::plan`]).
    pub fn packs(&self) -> &packs::Packs {
        &self.packs
    }

    /// Runs `f` with a handle on the object database, taken from the pool
    /// and put back after.
    pub fn with_handle<R>(&self, f: impl FnOnce(&gix::Repository) -> R) -> R {
        let taken = self.handles.lock().ok().and_then(|mut h| h.pop());
        let repo = taken.unwrap_or_else(|| {
            let mut r = self.shared.to_thread_local();
            // Each blob is read once: a delta base cache (gix keeps up to
            // 96 MB a handle) saved no time on 6.1 + 6.12 and cost ~150 MB.
            r.objects.unset_pack_cache();
            r
        });
        let r = f(&repo);
        if let Ok(mut h) = self.handles.lock() {
            h.push(repo);
        }
        r
    }
}

/// What an entry of the tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A directory (a tree object).
    Dir,
    /// A file, executable or not (a blob).
    File,
    /// A symbolic link (a blob holding its target).
    Link,
    /// A submodule's commit: an empty directory in a checkout.
    Submodule,
}

/// One entry of a tree's listing.
pub struct Entry {
    /// Its path from the top, `/`-separated.
    pub path: String,
    /// What it is.
    pub kind: Kind,
    /// Its object.
    pub oid: ObjectId,
    /// The directory holding it (an index into the listing), None at the top.
    pub parent: Option<usize>,
    /// Its name, or a directory's above it, is not UTF-8: `path` holds
    /// U+FFFD in its place, which a manifest must not pass for the name.
    pub not_utf8: bool,
}

/// What a path leads to once links are followed.
pub enum Found {
    /// A directory (or a submodule).
    Dir,
    /// A file: the blob it reads.
    File(ObjectId),
}

/// The most links one path resolution follows (the kernel's limit).
const MAX_LINKS: usize = 40;

/// A tree's entries, listed in full.
pub struct Listing {
    id: ObjectId,
    /// Every entry, each directory before its content.
    entries: Vec<Entry>,
    by_path: FxHashMap<String, usize>,
}

impl Listing {
    /// Lists tree `tree` of `repo`.
    pub fn read(repo: &Repo, tree: ObjectId) -> Result<Listing, GitError> {
        let entries = repo.with_handle(|r| list(repo, r, tree))?;
        let by_path = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.clone(), i))
            .collect();
        Ok(Listing {
            id: tree,
            entries,
            by_path,
        })
    }

    /// The tree's id.
    pub fn id(&self) -> ObjectId {
        self.id
    }

    /// Every entry, each directory before its content.
    pub fn entries(&self) -> &[Entry] {
        &self.entries
    }

    /// Follows `rel` from the top, links included, to what it names,
    /// within `budget`: bytes of paths looked up, taken off as it goes
    /// (each step costs its path's length, and deep links at many places
    /// make it quadratic). Links are read from `guard` through `repo`, a
    /// handle on it.
    pub fn resolve(
        &self,
        guard: &Repo,
        repo: &gix::Repository,
        rel: &str,
        budget: &mut usize,
    ) -> io::Result<Found> {
        let mut todo: Vec<String> = rel.rsplit('/').map(str::to_string).collect();
        // the directories walked down, their paths ("" for the top)
        let mut dirs: Vec<String> = vec![String::new()];
        let mut links = 0;
        let mut found = Found::Dir;
        while let Some(part) = todo.pop() {
            if matches!(found, Found::File(_)) {
                return Err(io::Error::from_raw_os_error(libc::ENOTDIR));
            }
            match part.as_str() {
                "" | "." => continue,
                ".." => {
                    if dirs.len() == 1 {
                        return Err(outside());
                    }
                    dirs.pop();
                    continue;
                }
                _ => {}
            }
            let path = match dirs.last() {
                Some(dir) if !dir.is_empty() => format!("{dir}/{part}"),
                _ => part,
            };
            if path.len() > limits::GIT_PATH_MAX {
                return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
            }
            *budget = budget.checked_sub(path.len()).ok_or_else(|| {
                io::Error::other(format!(
                    "links resolved past the limit of {} bytes of paths looked up in one tree",
                    limits::MAX_GIT_LINK_WORK
                ))
            })?;
            let Some(e) = self.by_path.get(&path).map(|&i| &self.entries[i]) else {
                return Err(io::Error::from_raw_os_error(libc::ENOENT));
            };
            match e.kind {
                Kind::Dir | Kind::Submodule => {
                    dirs.push(path);
                    found = Found::Dir;
                }
                Kind::File => found = Found::File(e.oid),
                Kind::Link => {
                    links += 1;
                    if links > MAX_LINKS {
                        return Err(io::Error::from_raw_os_error(libc::ELOOP));
                    }
                    let mut buf = Vec::new();
                    // refused from its size, before it is read
                    let max = limits::GIT_PATH_MAX as u64;
                    if !read_blob(guard, repo, &e.oid, max, &mut buf)? {
                        return Err(io::Error::from_raw_os_error(libc::ENAMETOOLONG));
                    }
                    let target = String::from_utf8_lossy(&buf).into_owned();
                    if target.is_empty() {
                        return Err(io::Error::from_raw_os_error(libc::ENOENT));
                    }
                    if target.starts_with('/') {
                        return Err(outside());
                    }
                    todo.extend(target.rsplit('/').map(str::to_string));
                    found = Found::Dir;
                }
            }
        }
        Ok(found)
    }
}

/// The error of a path leading out of the tree: there is nothing to read
/// there, as far as the tree knows.
fn outside() -> io::Error {
    io::Error::from_raw_os_error(libc::ENOENT)
}

/// Reads blob `oid` of `guard` (through `repo`, a handle on it) into
/// `buf`; Ok(false) when larger than `max`, which it then does not read.
/// Checked first ([`Repo::check`]): an object whose reading would loop or
/// allocate without bound is an error.
pub fn read_blob(
    guard: &Repo,
    repo: &gix::Repository,
    oid: &ObjectId,
    max: u64,
    buf: &mut Vec<u8>,
) -> io::Result<bool> {
    match guard.check(oid) {
        Err(refused) => return Err(io::Error::other(refused)),
        Ok(Some(size)) if size > max => return Ok(false),
        Ok(_) => {}
    }
    let n = repo
        .objects
        .find_blob(oid, buf)
        .map_err(io::Error::other)?
        .data
        .len();
    // The object database decodes into `buf` and hands back all of it (or
    // nothing, for the empty blob, which it does not store).
    buf.truncate(n);
    Ok(n as u64 <= max)
}

/// Every entry of tree `tree` of `guard` (read through `repo`, a handle on
/// it), each directory before its content; each tree object checked before
/// it is read, the listing within the bounds of depth, path length, entries
/// and bytes ([`limits::MAX_GIT_TREE_DEPTH`] and after).
fn list(guard: &Repo, repo: &gix::Repository, tree: ObjectId) -> Result<Vec<Entry>, GitError> {
    let mut entries = Vec::new();
    // a directory's entry, its object, its depth (the top's entries at 1)
    let mut todo: Vec<(Option<usize>, ObjectId, usize)> = vec![(None, tree, 1)];
    let mut buf = Vec::new();
    let mut path_bytes = 0usize;
    let over = |message: String| GitError::Unreadable { oid: tree, message };
    while let Some((parent, oid, depth)) = todo.pop() {
        guard.check(&oid).map_err(|e| GitError::Unreadable {
            oid,
            message: e.message,
        })?;
        let listed = repo
            .objects
            .find_tree(&oid, &mut buf)
            .map_err(|e| GitError::Unreadable {
                oid,
                message: e.to_string(),
            })?;
        let dir = parent
            .map(|p: usize| entries_path(&entries, p))
            .unwrap_or_default();
        let parent_not_utf8 =
            parent.is_some_and(|p| entries.get(p).is_some_and(|e: &Entry| e.not_utf8));
        for e in &listed.entries {
            let not_utf8 = parent_not_utf8 || std::str::from_utf8(e.filename).is_err();
            let name = String::from_utf8_lossy(e.filename);
            let path = if dir.is_empty() {
                name.into_owned()
            } else {
                format!("{dir}/{name}")
            };
            let kind = match e.mode.kind() {
                gix::objs::tree::EntryKind::Tree => Kind::Dir,
                gix::objs::tree::EntryKind::Blob | gix::objs::tree::EntryKind::BlobExecutable => {
                    Kind::File
                }
                gix::objs::tree::EntryKind::Link => Kind::Link,
                gix::objs::tree::EntryKind::Commit => Kind::Submodule,
            };
            if depth > limits::MAX_GIT_TREE_DEPTH {
                return Err(over(format!(
                    "entries {depth} directories deep, over the limit of {}: `{}…`",
                    limits::MAX_GIT_TREE_DEPTH,
                    kfunc_scan_manifest::term::escape(head(&path))
                )));
            }
            if path.len() > limits::GIT_PATH_MAX {
                return Err(over(format!(
                    "a path of {} bytes, over the limit of {} (PATH_MAX): `{}…`",
                    path.len(),
                    limits::GIT_PATH_MAX,
                    kfunc_scan_manifest::term::escape(head(&path))
                )));
            }
            path_bytes += path.len();
            if entries.len() >= limits::MAX_GIT_TREE_ENTRIES
                || path_bytes > limits::MAX_GIT_TREE_PATH_BYTES
            {
                return Err(over(format!(
                    "over {} entries or {} bytes of paths (the limits)",
                    limits::MAX_GIT_TREE_ENTRIES,
                    limits::MAX_GIT_TREE_PATH_BYTES
                )));
            }
            if kind == Kind::Dir {
                todo.push((Some(entries.len()), e.oid.to_owned(), depth + 1));
            }
            entries.push(Entry {
                path,
                kind,
                oid: e.oid.to_owned(),
                parent,
                not_utf8,
            });
        }
    }
    Ok(entries)
}

fn entries_path(entries: &[Entry], i: usize) -> String {
    entries.get(i).map(|e| e.path.clone()).unwrap_or_default()
}

/// The first 64 bytes of `path` or so (to a character's end), to name
/// a path too long to print.
fn head(path: &str) -> &str {
    let mut end = path.len().min(64);
    while !path.is_char_boundary(end) {
        end -= 1;
    }
    &path[..end]
}

/// Refuses the files of the repository at `path` that gix would open and
/// that are not regular files (a FIFO would hold the read forever, a
/// device would give bytes without end): `.git` when a file, and in each
/// git directory `HEAD`, `config`, `packed-refs` and the others
/// ([`check_git_dir`]). Before gix opens any of them.
fn check_files(path: &Path) -> Result<(), GitError> {
    let mut git_dirs = Vec::new();
    let dot_git = path.join(".git");
    match std::fs::metadata(&dot_git) {
        Ok(m) if m.is_dir() => git_dirs.push(dot_git),
        Ok(_) => {
            // a linked work tree's `gitdir: …`
            let text = read_small(&dot_git)?;
            if let Some(to) = text.trim_end().strip_prefix("gitdir:") {
                git_dirs.push(path.join(to.trim()));
            }
        }
        // a `.git` directory, or a bare repository
        Err(_) => git_dirs.push(path.to_path_buf()),
    }
    for dir in &git_dirs {
        check_git_dir(dir)?;
        let commondir = dir.join("commondir");
        if commondir.is_file() {
            let common = dir.join(read_small(&commondir)?.trim_end());
            check_git_dir(&common)?;
        }
    }
    Ok(())
}

/// The files of git directory `dir` gix may read, and its objects
/// directories' ([`check_objects_dir`]).
fn check_git_dir(dir: &Path) -> Result<(), GitError> {
    for name in [
        "HEAD",
        "config",
        "config.worktree",
        "commondir",
        "gitdir",
        "packed-refs",
        "shallow",
    ] {
        check_regular(&dir.join(name))?;
    }
    check_objects_dir(&dir.join("objects"))
}

/// The pack files of objects directory `objects`, its `info/alternates`,
/// and the objects directories that names, as gix follows them (a relative
/// one from `objects`), each once; deeper than
/// [`limits::MAX_GIT_ALTERNATES_DEPTH`] levels refused (gix follows them
/// without bound).
fn check_objects_dir(objects: &Path) -> Result<(), GitError> {
    let mut seen: std::collections::HashSet<PathBuf> = Default::default();
    let mut todo = vec![(objects.to_path_buf(), 0)];
    while let Some((dir, depth)) = todo.pop() {
        let canonical = std::fs::canonicalize(&dir).unwrap_or_else(|_| dir.clone());
        if !seen.insert(canonical) {
            continue;
        }
        if let Ok(listing) = std::fs::read_dir(dir.join("pack")) {
            for e in listing.flatten() {
                let p = e.path();
                if !p.is_dir() {
                    check_regular(&p)?;
                }
            }
        }
        let alternates = dir.join("info/alternates");
        check_regular(&alternates)?;
        if !alternates.is_file() {
            continue;
        }
        if depth >= limits::MAX_GIT_ALTERNATES_DEPTH {
            return Err(GitError::BadFile {
                path: alternates,
                message: format!(
                    "alternates more than {} levels deep (the most followed)",
                    limits::MAX_GIT_ALTERNATES_DEPTH
                ),
            });
        }
        for line in read_small(&alternates)?.lines() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            todo.push((objects.join(line), depth + 1));
        }
    }
    Ok(())
}

/// Refuses `path` when it is there and neither a regular file nor a
/// directory (followed to what a link names).
fn check_regular(path: &Path) -> Result<(), GitError> {
    match std::fs::metadata(path) {
        Ok(m) if !m.is_file() && !m.is_dir() => Err(GitError::BadFile {
            path: path.to_path_buf(),
            message: "not a regular file (a FIFO, a socket or a device, where git keeps a file)"
                .to_string(),
        }),
        _ => Ok(()),
    }
}

/// A small file of the repository (a `.git` file, `commondir`,
/// `objects/info/alternates`): opened without waiting, refused unless a
/// regular file within [`limits::MAX_GIT_META_FILE`] bytes.
fn read_small(path: &Path) -> Result<String, GitError> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let bad = |message: String| GitError::BadFile {
        path: path.to_path_buf(),
        message,
    };
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(path)
        .map_err(|e| bad(e.to_string()))?;
    let m = file.metadata().map_err(|e| bad(e.to_string()))?;
    if !m.is_file() {
        return Err(bad("not a regular file".to_string()));
    }
    if m.len() > limits::MAX_GIT_META_FILE {
        return Err(bad(format!(
            "{} bytes, over the limit of {}",
            m.len(),
            limits::MAX_GIT_META_FILE
        )));
    }
    let mut text = String::new();
    file.take(limits::MAX_GIT_META_FILE)
        .read_to_string(&mut text)
        .map_err(|e| bad(e.to_string()))?;
    Ok(text)
}
