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
}

impl Repo {
    /// Opens the repository at `path` (a `.git` directory, a bare
    /// repository, or a work tree holding `.git`), reading nothing of the
    /// environment or of the user's git configuration.
    pub fn open(path: &Path) -> Result<Repo, GitError> {
        let shared = gix::open_opts(path, gix::open::Options::isolated()).map_err(|e| {
            GitError::NotARepository {
                path: path.to_path_buf(),
                message: e.to_string(),
            }
        })?;
        Ok(Repo {
            shared: shared.into_sync(),
            handles: Mutex::new(Vec::new()),
        })
    }

    /// The commit a tag, a branch or a full commit id names, and its tree.
    pub fn revision(&self, name: &str) -> Result<Revision, GitError> {
        self.with_handle(|repo| {
            let bad = |e: &dyn std::fmt::Display| GitError::BadRevision {
                name: name.to_string(),
                message: e.to_string(),
            };
            let reference = if name.is_empty() {
                None
            } else {
                repo.try_find_reference(name).map_err(|e| bad(&e))?
            };
            let commit = match reference {
                Some(mut r) => r.peel_to_commit().map_err(|e| bad(&e))?,
                None => {
                    let id = ObjectId::from_hex(name.as_bytes())
                        .ok()
                        .filter(|id| repo.has_object(id))
                        .ok_or_else(|| GitError::NoSuchRevision(name.to_string()))?;
                    let object = repo.find_object(id).map_err(|e| bad(&e))?;
                    object.peel_to_commit().map_err(|e| bad(&e))?
                }
            };
            let tree = commit.tree_id().map_err(|e| bad(&e))?.detach();
            Ok(Revision {
                commit: commit.id,
                tree,
            })
        })
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
    /// blob met at another path is parsed again).
    Parsed(Vec<(String, FileRecords)>),
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
                if !at.iter().any(|(path, _)| path == rel) {
                    at.push((rel.to_string(), records));
                }
            }
            _ => {
                sifted.insert(oid, Sifted::Parsed(vec![(rel.to_string(), records)]));
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
        let entries = repo.with_handle(|r| list(r, tree))?;
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

    /// Follows `rel` from the top, links included, to what it names.
    fn resolve(&self, repo: &gix::Repository, rel: &str) -> io::Result<Found> {
        let mut todo: Vec<String> = rel.rsplit('/').map(str::to_string).collect();
        // the directories walked down, their paths ("" for the top)
        let mut dirs: Vec<String> = vec![String::new()];
        let mut links = 0;
        let mut found = Found::Dir;
        while let Some(part) = todo.pop() {
            let dir = dirs.last().cloned().unwrap_or_default();
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
            let path = if dir.is_empty() {
                part
            } else {
                format!("{dir}/{part}")
            };
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
                    read_blob(repo, &e.oid, &mut buf)?;
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
            match e.kind {
                Kind::File => files.push((e.path.clone(), e.oid)),
                Kind::Link => match self.resolve(repo, &e.path) {
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
            Some(Sifted::Parsed(at)) => match at.iter().find(|(path, _)| path == rel) {
                Some((_, records)) => {
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
        let read = read_blob(repo, &oid, local.buf());
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
        self.repo
            .with_handle(|repo| match self.resolve(repo, rel)? {
                Found::File(oid) => read_blob(repo, &oid, buf),
                Found::Dir => Err(io::Error::from_raw_os_error(libc::EISDIR)),
            })
    }

    fn is_file(&self, rel: &str) -> bool {
        self.repo
            .with_handle(|repo| matches!(self.resolve(repo, rel), Ok(Found::File(_))))
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
    let (dirs, hash) = repo.with_handle(|r| {
        let store = r.objects.store_ref();
        let mut dirs = vec![store.path().to_path_buf()];
        dirs.extend(store.alternate_db_paths().unwrap_or_default());
        (dirs, r.object_hash())
    });
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
    let packs = packs::Packs::open(&dirs, hash);
    let plan = packs.plan(ids, threads);
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
            if let Ok(true) = repo.with_handle(|r| read_blob(r, &ids[i], buf)) {
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
        for (_, oid, t, f) in all {
            if w.ids.last() != Some(&oid) {
                w.ids.push(oid);
                w.starts.push(w.files.len());
            } else {
                let rel = &file((t, f)).0;
                let first = w.starts.last().copied().unwrap_or(0);
                if w.files[first..].iter().any(|&at| file(at).0 == *rel) {
                    continue;
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

/// Reads blob `oid` into `buf`; Ok(false) when larger than
/// [`walk::MAX_FILE_SIZE`].
fn read_blob(repo: &gix::Repository, oid: &ObjectId, buf: &mut Vec<u8>) -> io::Result<bool> {
    let n = repo
        .objects
        .find_blob(oid, buf)
        .map_err(io::Error::other)?
        .data
        .len();
    // The object database decodes into `buf` and hands back all of it (or
    // nothing, for the empty blob, which it does not store).
    buf.truncate(n);
    Ok(n as u64 <= walk::MAX_FILE_SIZE)
}

/// Every entry of tree `tree`, each directory before its content.
fn list(repo: &gix::Repository, tree: ObjectId) -> Result<Vec<Entry>, GitError> {
    let mut entries = Vec::new();
    let mut todo: Vec<(Option<usize>, ObjectId)> = vec![(None, tree)];
    let mut buf = Vec::new();
    while let Some((parent, oid)) = todo.pop() {
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
        for e in &listed.entries {
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
            if kind == Kind::Dir {
                todo.push((Some(entries.len()), e.oid.to_owned()));
            }
            entries.push(Entry {
                path,
                kind,
                oid: e.oid.to_owned(),
                parent,
            });
        }
    }
    Ok(entries)
}

fn entries_path(entries: &[Entry], i: usize) -> String {
    entries.get(i).map(|e| e.path.clone()).unwrap_or_default()
}
