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

use super::file::extract::FileRecords;
use super::source::{OnMatch, Tree};
use super::walk::{self, Collector, Local, Sift};
use super::{Progress, Stage};
use crate::git::{gix, par, read_blob, Found, Kind};
use crate::limits;
use crate::manifest::Diagnostic;
use globset::GlobSet;
use rustc_hash::FxHashMap;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock, RwLock};

pub use crate::git::{GitError, ObjectId, Repo, Revision};

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
    tree: crate::git::Listing,
    walked: OnceLock<Walked>,
}

impl Listing {
    /// Lists tree `tree` of `repo`.
    pub(crate) fn read(repo: &Repo, tree: ObjectId) -> Result<Listing, GitError> {
        Ok(Listing {
            tree: crate::git::Listing::read(repo, tree)?,
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
        self.listing.tree.id()
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

    /// Follows `rel` from the top, links included, within `budget`
    /// ([`crate::git::Listing::resolve`]).
    fn resolve(&self, repo: &gix::Repository, rel: &str, budget: &mut usize) -> io::Result<Found> {
        self.listing.tree.resolve(self.repo, repo, rel, budget)
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
        let entries = self.listing.tree.entries();
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
/// ([`crate::git::packs`]), prefiltered and handed to `on_match` as the walk would, and
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
    let plan = repo.packs().plan(ids, threads, walk::MAX_FILE_SIZE);
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
