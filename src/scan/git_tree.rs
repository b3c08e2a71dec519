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
use super::walk::{self, Collector, Local, Taken};
use super::Progress;
use crate::manifest::Diagnostic;
use gix::prelude::FindExt;
use gix::ObjectId;
use globset::GlobSet;
use std::collections::HashMap;
use std::io;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

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
    /// Kept and parsed at `path` (records name their file: a blob met at
    /// another path is parsed again).
    Parsed {
        path: String,
        records: Box<FileRecords>,
    },
    /// Passed over, defining these functions in kernel style.
    Passed(Box<[u64]>),
}

impl Sifted {
    /// Whether it is what the blob gives at `rel`.
    fn holds_at(&self, rel: &str) -> bool {
        match self {
            Sifted::Parsed { path, .. } => path == rel,
            Sifted::Passed(_) => true,
        }
    }
}

/// What the trees of one run have made of their blobs, by blob id: the
/// queries are the same for every tree of a run, and so is the result.
#[derive(Default)]
pub struct BlobCache {
    sifted: Mutex<HashMap<ObjectId, Sifted>>,
    blobs_read: AtomicUsize,
    blobs_reused: AtomicUsize,
}

impl BlobCache {
    /// Blobs read from the object database by the walks so far.
    pub fn blobs_read(&self) -> usize {
        self.blobs_read.load(Ordering::Relaxed)
    }

    /// Files the walks took from the cache instead of reading them.
    pub fn blobs_reused(&self) -> usize {
        self.blobs_reused.load(Ordering::Relaxed)
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

/// One tree of a repository, listed in full when opened.
pub struct GitTree<'r> {
    repo: &'r Repo,
    cache: &'r BlobCache,
    /// Every entry, each directory before its content.
    entries: Vec<Entry>,
    by_path: HashMap<String, usize>,
}

impl<'r> GitTree<'r> {
    /// Lists the tree `tree` of `repo`; its blobs are read (or taken from
    /// `cache`) when the scan asks for them.
    pub fn open(repo: &'r Repo, tree: ObjectId, cache: &'r BlobCache) -> Result<Self, GitError> {
        let entries = repo.with_handle(|r| list(r, tree))?;
        let by_path = entries
            .iter()
            .enumerate()
            .map(|(i, e)| (e.path.clone(), i))
            .collect();
        Ok(GitTree {
            repo,
            cache,
            entries,
            by_path,
        })
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
    fn walked(
        &self,
        exclude: &GlobSet,
        repo: &gix::Repository,
    ) -> (Vec<(String, ObjectId)>, Vec<Diagnostic>) {
        let mut skipped = vec![false; self.entries.len()];
        let mut files = Vec::new();
        let mut notes = Vec::new();
        for (i, e) in self.entries.iter().enumerate() {
            let name = e.path.rsplit('/').next().unwrap_or_default();
            let skip = e.parent.is_some_and(|p| skipped[p])
                || walk::is_hidden(name)
                || exclude.is_match(&e.path);
            skipped[i] = skip;
            if skip || (e.kind != Kind::Link && !walk::is_c_source(Path::new(&e.path))) {
                continue;
            }
            match e.kind {
                Kind::File => files.push((e.path.clone(), e.oid)),
                Kind::Link => match self.resolve(repo, &e.path) {
                    Ok(Found::Dir) => notes.push(walk::link_not_followed(&e.path)),
                    Ok(Found::File(oid)) if walk::is_c_source(Path::new(&e.path)) => {
                        files.push((e.path.clone(), oid))
                    }
                    Ok(Found::File(_)) => {}
                    Err(err) if walk::is_c_source(Path::new(&e.path)) => {
                        notes.push(walk::dangling_link(&e.path, &err))
                    }
                    Err(_) => {}
                },
                Kind::Dir | Kind::Submodule => {}
            }
        }
        (files, notes)
    }

    /// Takes one file: from the cache, or read, prefiltered and cached.
    fn take(
        &self,
        repo: &gix::Repository,
        local: &mut Local<FileRecords>,
        rel: String,
        oid: ObjectId,
    ) {
        let known = {
            let sifted = self.cache.sifted.lock().unwrap_or_else(|p| p.into_inner());
            sifted.get(&oid).filter(|s| s.holds_at(&rel)).cloned()
        };
        if known.is_some() {
            self.cache.blobs_reused.fetch_add(1, Ordering::Relaxed);
        }
        match known {
            Some(Sifted::Parsed { records, .. }) => {
                local.matched(rel, *records);
                return;
            }
            Some(Sifted::Passed(defs)) => {
                local.unmatched(rel, &defs);
                return;
            }
            None => {}
        }
        let read = read_blob(repo, &oid, local.buf());
        let read = local.read(read);
        self.cache.blobs_read.fetch_add(1, Ordering::Relaxed);
        let sifted = match local.take(rel.clone(), read) {
            Taken::Matched(records) => Sifted::Parsed {
                path: rel,
                records: Box::new(records.clone()),
            },
            Taken::Unmatched(defs) => Sifted::Passed(defs.into()),
            Taken::NotRead => return,
        };
        let mut cache = self.cache.sifted.lock().unwrap_or_else(|p| p.into_inner());
        cache.insert(oid, sifted);
    }
}

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
        let (files, notes) = self.repo.with_handle(|repo| self.walked(exclude, repo));
        {
            let mut local = collector.thread();
            for n in notes {
                local.note(n);
            }
        }
        let next = AtomicUsize::new(0);
        std::thread::scope(|scope| {
            for _ in 0..threads.max(1) {
                scope.spawn(|| {
                    let mut local = collector.thread();
                    self.repo.with_handle(|repo| loop {
                        let i = next.fetch_add(1, Ordering::Relaxed);
                        let Some((rel, oid)) = files.get(i) else {
                            break;
                        };
                        self.take(repo, &mut local, rel.clone(), *oid);
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
