//! Reading ahead the blobs of several trees at once, in the order of their
//! packs, before their walks.

use super::{in_pool, GitTree};
use crate::git::{read_blob, ObjectId, Repo};
use crate::scan::records::FileRecords;
use crate::scan::source::OnMatch;
use crate::scan::walk::{self, Collector, Local, Sift};
use crate::scan::{Progress, Stage};
use globset::GlobSet;
use rayon::prelude::*;
use std::sync::atomic::{AtomicUsize, Ordering};

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
    in_pool(threads, || {
        trees.par_iter().for_each(|tree| {
            tree.walked(exclude);
        })
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
    in_pool(threads, || {
        which.par_iter().for_each_init(
            || (worker(), Vec::new()),
            |(w, buf), &i| {
                let read =
                    repo.with_handle(|r| read_blob(repo, r, &ids[i], walk::MAX_FILE_SIZE, buf));
                if let Ok(true) = read {
                    w(i, buf);
                }
            },
        )
    });
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
