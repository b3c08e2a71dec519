//! A tree of a git repository's object database as a [`Tree`]: the files
//! are blobs, read without a checkout. The walk applies the filesystem
//! walk's rules ([`walk`]: C sources and headers only, hidden entries and
//! `--exclude`d paths skipped, links to directories noted and not
//! followed, links to files read at the link's path), so a tree scanned
//! from git gives the manifest its checkout gives.
//!
//! Symbolic links are resolved inside the tree, component by component as
//! the kernel resolves paths; a link leaving the tree (an absolute target,
//! or `..` above the top) is dangling here, where a checkout would follow it
//! outside.
//!
//! Most blobs are the same from one tag to the next: a [`BlobCache`] shared
//! by the trees of one run keeps what the prefilter and the parser made of
//! each blob, so a blob is read and parsed once per run, whatever the number
//! of trees holding it.

use super::extract::FileRecords;
use super::source::{OnMatch, Tree};
use super::walk::{self, Collector, Local, Sift};
use super::{packs, par, Progress, Stage};
use crate::limits;
use crate::manifest::Diagnostic;
use gix::prelude::FindExt;
use gix::ObjectId;
use globset::GlobSet;
use rustc_hash::FxHashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock, RwLock};

/// Why a repository or one of its revisions cannot be read. Plain facts;
/// the command line words them.
#[derive(Debug, thiserror::Error)]
pub enum GitError {
    #[error("{}: not a git repository ({message})", path.display())]
    NotARepository { path: PathBuf, message: String },
    #[error("no tag, branch or commit named `{0}`")]
    NoSuchRevision(String),
    #[error("`{name}`: {message}")]
    BadRevision { name: String, message: String },
    #[error("tree {oid}: {message}")]
    Unreadable { oid: ObjectId, message: String },
    /// A file of the repository that would block or flood its reading (a
    /// FIFO, a device), or too large to be what git keeps there: refused
    /// before the object database opens it.
    #[error("{}: {message}", path.display())]
    BadFile { path: PathBuf, message: String },
}

/// A commit and its tree.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Revision {
    pub commit: ObjectId,
    pub tree: ObjectId,
}

/// An open repository; its object database is read from any thread (each
/// takes a handle of its own from a pool).
pub struct Repo {
    shared: gix::ThreadSafeRepository,
    handles: Mutex<Vec<gix::Repository>>,
    /// Its packs: read ahead from ([`read_ahead`]), and the chain of every
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
    fn check(&self, oid: &ObjectId) -> Result<Option<u64>, packs::Refused> {
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

    /// Runs `f` with a handle on the object database, taken from the pool
    /// and put back after.
    fn with_handle<R>(&self, f: impl FnOnce(&gix::Repository) -> R) -> R {
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

/// What the prefilter and the parser made of one blob, kept for the other
/// trees of the run.
#[derive(Clone)]
enum Sifted {
    /// Kept and parsed, at each of these paths (records name their file: a
    /// blob met at another path is parsed again). By path: one blob may be
    /// at 100,000 paths.
    Parsed(FxHashMap<String, FileRecords>),
    /// Passed over, defining these functions in kernel style.
    Passed(Box<[u64]>),
}

/// What the read-ahead of one run made of the trees' blobs, by blob id,
/// for their walks: the queries are the same for every tree of a run, and
/// so is the result.
#[derive(Default)]
pub struct BlobCache {
    sifted: RwLock<FxHashMap<ObjectId, Sifted>>,
}

impl BlobCache {
    /// Keeps the records blob `oid` gives at `rel`.
    fn keep_parsed(&self, oid: ObjectId, rel: &str, records: FileRecords) {
        let mut sifted = self.sifted.write().unwrap_or_else(|p| p.into_inner());
        match sifted.get_mut(&oid) {
            Some(Sifted::Parsed(at)) => {
                at.entry(rel.to_string()).or_insert(records);
            }
            _ => {
                let mut at = FxHashMap::default();
                at.insert(rel.to_string(), records);
                sifted.insert(oid, Sifted::Parsed(at));
            }
        }
    }

    /// Keeps blob `oid` as passed over, defining `defs`.
    fn keep_passed(&self, oid: ObjectId, defs: &[u64]) {
        let mut sifted = self.sifted.write().unwrap_or_else(|p| p.into_inner());
        sifted.insert(oid, Sifted::Passed(defs.into()));
    }
}

/// What an entry of the tree is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Dir,
    File,
    Link,
    /// A submodule's commit: an empty directory in a checkout.
    Submodule,
}

struct Entry {
    path: String,
    kind: Kind,
    oid: ObjectId,
    /// The directory holding it (an index into the listing), None at the top.
    parent: Option<usize>,
    /// Its name, or a directory's above it, is not UTF-8: `path` holds
    /// U+FFFD in its place, which a manifest must not pass for the name.
    not_utf8: bool,
}

/// What a path leads to once links are followed.
enum Found {
    Dir,
    File(ObjectId),
}

/// The most links one path resolution follows (the kernel's limit).
const MAX_LINKS: usize = 40;

/// What a tree's walk reads, and notes.
struct Walked {
    /// Each C file at its path, with the blob it reads (a link's target's).
    files: Vec<(String, ObjectId)>,
    /// Links not followed, dangling links.
    notes: Vec<Diagnostic>,
}

/// A tree's entries, listed in full. Its walk is worked out once, with the
/// `--exclude` globs of the first: a listing serves the scans of one run,
/// which share their options.
pub(crate) struct Listing {
    id: ObjectId,
    /// Every entry, each directory before its content.
    entries: Vec<Entry>,
    by_path: FxHashMap<String, usize>,
    walked: OnceLock<Walked>,
}

impl Listing {
    /// Lists tree `tree` of `repo`.
    pub(crate) fn read(repo: &Repo, tree: ObjectId) -> Result<Listing, GitError> {
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
            walked: OnceLock::new(),
        })
    }
}

/// One tree of a repository, listed in full when opened.
pub struct GitTree<'r> {
    repo: &'r Repo,
    cache: &'r BlobCache,
    listing: Arc<Listing>,
    /// Blobs its walks read from the object database.
    blobs_read: AtomicUsize,
    /// Files its walks took from the cache instead of reading them.
    blobs_reused: AtomicUsize,
}

impl<'r> GitTree<'r> {
    /// Lists the tree `tree` of `repo`; its blobs are read (or taken from
    /// `cache`) when the scan asks for them.
    pub fn open(repo: &'r Repo, tree: ObjectId, cache: &'r BlobCache) -> Result<Self, GitError> {
        Ok(GitTree::of(
            repo,
            Arc::new(Listing::read(repo, tree)?),
            cache,
        ))
    }

    /// The tree `listing` lists, of `repo`.
    pub(crate) fn of(repo: &'r Repo, listing: Arc<Listing>, cache: &'r BlobCache) -> Self {
        GitTree {
            repo,
            cache,
            listing,
            blobs_read: AtomicUsize::new(0),
            blobs_reused: AtomicUsize::new(0),
        }
    }

    /// The tree's id.
    pub fn id(&self) -> ObjectId {
        self.listing.id
    }

    /// Blobs its walks read from the object database.
    pub fn blobs_read(&self) -> usize {
        self.blobs_read.load(Ordering::Relaxed)
    }

    /// Files its walks took from the cache instead of reading them.
    pub fn blobs_reused(&self) -> usize {
        self.blobs_reused.load(Ordering::Relaxed)
    }

    /// Its listing, for another [`GitTree::of`] the same tree.
    pub(crate) fn listing(&self) -> Arc<Listing> {
        Arc::clone(&self.listing)
    }

    /// Follows `rel` from the top, links included, to what it names,
    /// within `budget`: bytes of paths looked up, taken off as it goes
    /// (each step costs its path's length, and deep links at many places
    /// make it quadratic).
    fn resolve(&self, repo: &gix::Repository, rel: &str, budget: &mut usize) -> io::Result<Found> {
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
            let Some(e) = self
                .listing
                .by_path
                .get(&path)
                .map(|&i| &self.listing.entries[i])
            else {
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
                    if !read_blob(self.repo, repo, &e.oid, max, &mut buf)? {
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

    /// The files the walk reads, and its notes: each C file at its path
    /// with the blob it reads (a link's target), under the walk's rules.
    /// Worked out once a listing (see [`Listing`]).
    fn walked(&self, exclude: &GlobSet) -> &Walked {
        self.listing.walked.get_or_init(|| {
            self.repo
                .with_handle(|repo| self.walk_listing(exclude, repo))
        })
    }

    fn walk_listing(&self, exclude: &GlobSet, repo: &gix::Repository) -> Walked {
        let entries = &self.listing.entries;
        let mut skipped = vec![false; entries.len()];
        let mut files = Vec::new();
        let mut notes = Vec::new();
        // one budget for every link of the tree
        let mut budget = limits::MAX_GIT_LINK_WORK;
        for (i, e) in entries.iter().enumerate() {
            let name = e.path.rsplit('/').next().unwrap_or_default();
            let skip = e.parent.is_some_and(|p| skipped[p])
                || walk::is_hidden(name)
                || exclude.is_match(&e.path);
            skipped[i] = skip;
            let c_source = walk::is_c_name(name);
            if skip || (e.kind != Kind::Link && !c_source) {
                continue;
            }
            // a C file whose path a manifest cannot hold: an error, not
            // read, as the directory walk does
            let unusable = if e.not_utf8 {
                walk::unusable_rel(b"\xff")
            } else {
                walk::unusable_rel(e.path.as_bytes())
            };
            if let Some(why) = unusable.filter(|_| c_source) {
                notes.push(walk::unusable_path_error(
                    Path::new(""),
                    Path::new(&e.path),
                    why,
                ));
                continue;
            }
            match e.kind {
                Kind::File => files.push((e.path.clone(), e.oid)),
                Kind::Link => match self.resolve(repo, &e.path, &mut budget) {
                    Ok(Found::Dir) => notes.push(walk::link_not_followed(&e.path)),
                    Ok(Found::File(oid)) if c_source => files.push((e.path.clone(), oid)),
                    Ok(Found::File(_)) => {}
                    Err(err) if c_source => notes.push(walk::dangling_link(&e.path, &err)),
                    Err(_) => {}
                },
                Kind::Dir | Kind::Submodule => {}
            }
        }
        Walked { files, notes }
    }

    /// Takes one file from the cache (`sifted`, read-locked) when it is
    /// there; false when it is not.
    fn take_known(
        &self,
        sifted: &FxHashMap<ObjectId, Sifted>,
        local: &mut Local<FileRecords>,
        rel: &str,
        oid: &ObjectId,
    ) -> bool {
        match sifted.get(oid) {
            Some(Sifted::Passed(defs)) => local.unmatched(rel.to_string(), defs),
            Some(Sifted::Parsed(at)) => match at.get(rel) {
                Some(records) => {
                    local.matched(rel.to_string(), records.clone());
                }
                None => return false,
            },
            None => return false,
        }
        self.blobs_reused.fetch_add(1, Ordering::Relaxed);
        true
    }

    /// Takes one file the cache does not hold: read and prefiltered (what
    /// the read-ahead could not read: an error, or too large, which the
    /// walk notes).
    fn take_read(
        &self,
        repo: &gix::Repository,
        local: &mut Local<FileRecords>,
        rel: &str,
        oid: ObjectId,
    ) {
        let read = read_blob(self.repo, repo, &oid, walk::MAX_FILE_SIZE, local.buf());
        let read = local.read(read);
        self.blobs_read.fetch_add(1, Ordering::Relaxed);
        local.take(rel.to_string(), read);
    }
}

/// How many files a walker thread takes at once (one shared counter bumped
/// for each run, not each file).
const FILES_AT_ONCE: usize = 256;

impl Tree for GitTree<'_> {
    fn read_into(&self, rel: &str, buf: &mut Vec<u8>) -> io::Result<bool> {
        self.repo.with_handle(|repo| {
            match self.resolve(repo, rel, &mut { limits::MAX_GIT_LINK_WORK })? {
                Found::File(oid) => read_blob(self.repo, repo, &oid, walk::MAX_FILE_SIZE, buf),
                Found::Dir => Err(io::Error::from_raw_os_error(libc::EISDIR)),
            }
        })
    }

    fn is_file(&self, rel: &str) -> bool {
        self.repo.with_handle(|repo| {
            let found = self.resolve(repo, rel, &mut { limits::MAX_GIT_LINK_WORK });
            matches!(found, Ok(Found::File(_)))
        })
    }

    fn walk(
        &self,
        exclude: &GlobSet,
        threads: usize,
        progress: &(dyn Fn(&Progress) + Sync),
        on_match: OnMatch,
    ) -> walk::WalkOutput<(String, FileRecords)> {
        let collector = Collector::new(progress, on_match);
        let Walked { files, notes } = self.walked(exclude);
        {
            let mut local = collector.thread();
            for n in notes {
                local.note(n.clone());
            }
        }
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads.max(1) {
                scope.spawn(|| {
                    let mut local = collector.thread();
                    // the read-ahead is over: nothing writes the cache now
                    let sifted = self.cache.sifted.read().unwrap_or_else(|p| p.into_inner());
                    self.repo.with_handle(|repo| loop {
                        let start = next.fetch_add(FILES_AT_ONCE, Ordering::Relaxed);
                        let Some(run) = files.get(start..(start + FILES_AT_ONCE).min(files.len()))
                        else {
                            break;
                        };
                        for (rel, oid) in run {
                            if !self.take_known(&sifted, &mut local, rel, oid) {
                                self.take_read(repo, &mut local, rel, *oid);
                            }
                        }
                    });
                });
            }
        });
        collector.finish()
    }

    fn dir(&self) -> Option<&Path> {
        None
    }
}

/// Reads ahead, before their walks, the blobs the walks of `trees` will
/// take, all trees at once: from the packs in the order of the delta chains
/// ([`packs`]), prefiltered and handed to `on_match` as the walk would, and
/// kept in the cache the trees share (they are trees of one repository and
/// one cache). What the packs do not give (a loose object, an entry the
/// reader refuses) is read through the object database; what cannot be read
/// at all, or is over the size limit, is left to the walks, which say what
/// is wrong with it. For each tree, how many distinct blobs read ahead it is
/// the first of `trees` to hold.
pub fn read_ahead(
    trees: &[GitTree<'_>],
    exclude: &GlobSet,
    threads: usize,
    progress: &(dyn Fn(&Progress) + Sync),
    on_match: OnMatch,
) -> Vec<usize> {
    let Some(first) = trees.first() else {
        return Vec::new();
    };
    let (repo, cache) = (first.repo, first.cache);
    let t0 = std::time::Instant::now();
    let done = |stage| {
        progress(&Progress::Done {
            stage,
            at: t0.elapsed(),
        })
    };
    // worked out in parallel, kept in the listings for the scans
    par::map_each(trees, threads, |tree| {
        tree.walked(exclude);
    });
    let file = |(t, f): (u32, u32)| &trees[t as usize].walked(exclude).files[f as usize];
    let wanted = Wanted::of(trees, exclude);
    let (ids, files_of) = (&wanted.ids, |i: usize| wanted.files_of(i));
    let plan = repo.packs.plan(ids, threads);
    done(Stage::PlanReads);
    // by tree: the blobs read ahead that it is the first of `trees` to hold
    let first_held: Vec<AtomicUsize> = trees.iter().map(|_| AtomicUsize::new(0)).collect();
    let collector = Collector::new(progress, on_match);
    // what each reading thread does with a blob: sift it at each of its
    // paths, keep what it gives
    let sift = |local: &mut Local<FileRecords>, i: usize, bytes: &[u8]| {
        if bytes.len() as u64 > walk::MAX_FILE_SIZE {
            return;
        }
        let oid = ids[i];
        for &at in files_of(i) {
            let rel = &file(at).0;
            match local.sift(rel, bytes) {
                Sift::Kept(records) => cache.keep_parsed(oid, rel, records),
                Sift::Passed(defs) => {
                    // the same at every path
                    cache.keep_passed(oid, defs);
                    break;
                }
            }
        }
        if let Some(&(t, _)) = files_of(i).first() {
            first_held[t as usize].fetch_add(1, Ordering::Relaxed);
        }
    };
    let failed = plan.read(threads, || {
        let mut local = collector.thread();
        let sift = &sift;
        move |i: usize, bytes: &[u8]| sift(&mut local, i, bytes)
    });
    // The rest through the object database, one by one: loose objects,
    // those of packs not read here. A blob that does not read there either
    // is left to the walks, which say why.
    let mut rest = plan.elsewhere.clone();
    rest.extend(failed);
    read_one_by_one(repo, ids, &rest, threads, || {
        let mut local = collector.thread();
        let sift = &sift;
        move |i: usize, bytes: &[u8]| sift(&mut local, i, bytes)
    });
    done(Stage::ReadAhead);
    first_held
        .into_iter()
        .map(AtomicUsize::into_inner)
        .collect()
}

/// Reads blobs `ids[i]` for each `i` of `which` through the object
/// database, on up to `threads` threads, each handing what it reads to a
/// `worker` of its own; a blob that does not read, or is too large, is
/// passed over.
fn read_one_by_one<W: FnMut(usize, &[u8])>(
    repo: &Repo,
    ids: &[ObjectId],
    which: &[usize],
    threads: usize,
    worker: impl Fn() -> W + Sync,
) {
    par::each_with(
        which,
        threads,
        || (worker(), Vec::new()),
        |(w, buf), _, &i| {
            let read = repo.with_handle(|r| read_blob(repo, r, &ids[i], walk::MAX_FILE_SIZE, buf));
            if let Ok(true) = read {
                w(i, buf);
            }
        },
        drop,
    );
}

/// The blobs a read-ahead wants: each by id, with the files (tree, file)
/// holding it at paths of their own, the first of them in the first tree
/// holding it.
struct Wanted {
    ids: Vec<ObjectId>,
    files: Vec<(u32, u32)>,
    /// blob `i`'s files are `files[starts[i]..starts[i + 1]]`
    starts: Vec<usize>,
}

impl Wanted {
    /// Grouped by sorting: cheaper than a map of 100,000 blobs.
    fn of(trees: &[GitTree<'_>], exclude: &GlobSet) -> Wanted {
        let file = |(t, f): (u32, u32)| &trees[t as usize].walked(exclude).files[f as usize];
        let mut all: Vec<(u64, ObjectId, u32, u32)> = Vec::new();
        for (t, tree) in trees.iter().enumerate() {
            for (f, (_, oid)) in tree.walked(exclude).files.iter().enumerate() {
                // the id's first 8 bytes first: most comparisons end there
                let mut head = [0u8; 8];
                head.copy_from_slice(&oid.as_bytes()[..8]);
                all.push((u64::from_be_bytes(head), *oid, t as u32, f as u32));
            }
        }
        all.sort_unstable();
        let mut w = Wanted {
            ids: Vec::new(),
            files: Vec::new(),
            starts: Vec::new(),
        };
        // the paths of the blob at hand, once it has many: a blob may be at
        // 100,000 paths (most are at one)
        let mut paths: rustc_hash::FxHashSet<&str> = Default::default();
        for (_, oid, t, f) in all {
            let rel = file((t, f)).0.as_str();
            if w.ids.last() != Some(&oid) {
                w.ids.push(oid);
                w.starts.push(w.files.len());
                if !paths.is_empty() {
                    paths = Default::default();
                }
            } else {
                let first = w.starts.last().copied().unwrap_or(0);
                let group = &w.files[first..];
                if group.len() < 16 {
                    if group.iter().any(|&at| file(at).0 == rel) {
                        continue;
                    }
                } else {
                    if paths.is_empty() {
                        paths.extend(group.iter().map(|&at| file(at).0.as_str()));
                    }
                    if !paths.insert(rel) {
                        continue;
                    }
                }
            }
            w.files.push((t, f));
        }
        w.starts.push(w.files.len());
        w
    }

    fn files_of(&self, i: usize) -> &[(u32, u32)] {
        &self.files[self.starts[i]..self.starts[i + 1]]
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
fn read_blob(
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
                    crate::manifest::term::escape(head(&path))
                )));
            }
            if path.len() > limits::GIT_PATH_MAX {
                return Err(over(format!(
                    "a path of {} bytes, over the limit of {} (PATH_MAX): `{}…`",
                    path.len(),
                    limits::GIT_PATH_MAX,
                    crate::manifest::term::escape(head(&path))
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
