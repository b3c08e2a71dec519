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
//!
//! In parts: the listing, the walk's files and link resolution
//! ([`listing`]), the blob cache ([`blob_cache`]), the read-ahead
//! ([`mod@read_ahead`]); here the tree and its walk.

use super::records::FileRecords;
use super::source::{OnMatch, Tree};
use super::walk::{self, Collector, Local};
use super::Progress;
use crate::git::{gix, read_blob, Found};
use crate::limits;
use globset::GlobSet;
use rayon::prelude::*;
use rustc_hash::FxHashMap;
use std::io;
use std::path::Path;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

mod blob_cache;
mod listing;
mod read_ahead;

pub use crate::git::{GitError, ObjectId, Repo, Revision};
pub use blob_cache::BlobCache;
use blob_cache::Sifted;
pub(crate) use listing::Listing;
use listing::Walked;
pub use read_ahead::read_ahead;

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

/// How many files a walker thread takes at once (a run of them is one task
/// of the pool, not each file).
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
        // the read-ahead is over: nothing writes the cache now
        let sifted = self.cache.sifted.read().unwrap_or_else(|p| p.into_inner());
        let sifted = &*sifted;
        in_pool(threads, || {
            files.par_chunks(FILES_AT_ONCE).for_each_init(
                || collector.thread(),
                |local, run| {
                    for (rel, oid) in run {
                        if !self.take_known(sifted, local, rel, oid) {
                            self.repo
                                .with_handle(|repo| self.take_read(repo, local, rel, *oid));
                        }
                    }
                },
            )
        });
        collector.finish()
    }

    fn dir(&self) -> Option<&Path> {
        None
    }
}

/// Runs `f`, whose parallel iterators then use `threads` threads (rayon's
/// pool of the run; the scan's setup has checked that so many threads can
/// be started). Should the pool not start after all, `f` runs with rayon's
/// global pool.
pub(super) fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    match rayon::ThreadPoolBuilder::new()
        .num_threads(threads.max(1))
        .build()
    {
        Ok(pool) => pool.install(f),
        Err(_) => f(),
    }
}
