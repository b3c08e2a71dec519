//! Manifests of trees read straight from a git repository's object
//! database, at given revisions, without a checkout.
//!
//! Two caches: within one run, what the scan made of each blob
//! ([`BlobCache`]: a blob two tags share is read and parsed once); across
//! runs, one manifest file per tree ([`ManifestCache`]), named by the tree
//! id and a key of everything else the manifest depends on (the tool's
//! build, the queries' text, the scan options), so a tree scanned once is
//! never read again.

use crate::git::par;
use crate::git::ObjectId;
use crate::manifest::history::Version;
use crate::manifest::Manifest;
use crate::scan::git_tree::{BlobCache, GitError, GitTree, Listing, Repo, Revision};
use crate::scan::queries::Queries;
use crate::scan::{scan_tree_with, Progress, ScanError, ScanOptions, Stage};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

/// Why a revision's manifest could not be made.
#[derive(Debug, thiserror::Error)]
pub enum GitScanError {
    #[error(transparent)]
    Git(#[from] GitError),
    #[error("{name}: {source}")]
    Scan { name: String, source: ScanError },
    /// The tree's top `Makefile` is there and does not read (a damaged
    /// pack, an object refused): not a tree without one.
    #[error("{name}: Makefile: {message}")]
    Makefile { name: String, message: String },
}

/// One manifest file per tree, in a directory.
pub struct ManifestCache {
    dir: PathBuf,
    /// What else the manifest depends on, hashed (16 hex digits).
    key: String,
}

impl ManifestCache {
    /// Manifests in `dir` made by the tool build `identity` (its version,
    /// and whatever tells two builds apart) with `opts`.
    pub fn new(dir: &Path, identity: &str, opts: &ScanOptions) -> Result<ManifestCache, ScanError> {
        let queries = Queries::text_hash(opts.queries_dir.as_deref())?;
        let mut words = vec![
            identity.to_string(),
            format!("queries {queries:016x}"),
            format!("any-directory {}", opts.any_directory),
        ];
        words.extend(opts.exclude.iter().map(|g| format!("exclude {g}")));
        words.extend(
            opts.extra_implicit_types
                .iter()
                .map(|t| format!("implicit-type {t}")),
        );
        let key = crate::kbuild::config::fnv1a64(words.join("\0").as_bytes());
        Ok(ManifestCache {
            dir: dir.to_path_buf(),
            key: format!("{key:016x}"),
        })
    }

    /// Where the manifest of `tree` is kept.
    pub(crate) fn path(&self, tree: ObjectId) -> PathBuf {
        self.dir.join(format!("{tree}-{}.json", self.key))
    }

    /// The manifest kept for `tree`; None when there is none, or it does
    /// not read as a manifest (it is then made again, and replaced). An
    /// entry that is not a regular file (a FIFO would hold the read
    /// forever) is ignored, opened without waiting ([`ManifestCache::put`]
    /// leaves it).
    fn get(&self, tree: ObjectId) -> Option<Manifest> {
        use std::io::Read;
        use std::os::unix::fs::OpenOptionsExt;
        let file = std::fs::OpenOptions::new()
            .read(true)
            .custom_flags(libc::O_NONBLOCK)
            .open(self.path(tree))
            .ok()?;
        if !file.metadata().ok()?.is_file() {
            return None;
        }
        let mut text = String::new();
        (&file).read_to_string(&mut text).ok()?;
        Manifest::from_json(&text).ok()
    }

    /// Keeps `m` as the manifest of `tree`, atomically; not over what is
    /// not a regular file (a FIFO would be written in place, and wait for
    /// a reader forever): that entry is left as it is, and said.
    fn put(&self, tree: ObjectId, m: &Manifest) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
        let path = self.path(tree);
        if std::fs::metadata(&path).is_ok_and(|md| !md.is_file()) {
            return Err(std::io::Error::other(format!(
                "{}: not a regular file, left as it is",
                crate::manifest::term::path(&path)
            )));
        }
        crate::output::write_atomic(&self.path(tree), m.to_json().as_bytes())
    }
}

/// Where a revision's manifest came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// The manifest cache's file.
    Cache(PathBuf),
    /// A scan of the tree: this many files read from the object database,
    /// and this many taken from what this run had made of the same blobs;
    /// and why it could not be kept, if it could not.
    Scanned {
        blobs_read: usize,
        blobs_reused: usize,
        not_kept: Option<String>,
    },
    /// The tree of an earlier revision of the same run, named so: its
    /// manifest, made once.
    SameTree(String),
}

/// One revision's manifest.
pub struct RevisionManifest {
    pub version: Version,
    pub tree: ObjectId,
    pub manifest: Manifest,
    pub origin: Origin,
}

/// The revisions of one repository, scanned with the same options.
pub struct GitScan<'o> {
    repo: Repo,
    blobs: BlobCache,
    cache: Option<ManifestCache>,
    opts: &'o ScanOptions,
    /// What [`GitScan::read_ahead`] prepared for each tree's scan.
    prepared: Mutex<HashMap<ObjectId, Prepared>>,
    /// The listings of the trees scanned, freed with the scan: a listing
    /// is 100,000 small allocations, ~10 ms to free on 6.12, which a
    /// program that ends with the scan can leave to the end of the process.
    scanned: Mutex<Vec<Arc<Listing>>>,
}

/// What the read-ahead prepared for a tree.
enum Prepared {
    /// Its manifest, from the cache, and the cache's file.
    Kept(Box<Manifest>, PathBuf),
    /// Its listing, and how many of the blobs read ahead it was the first
    /// tree to hold (they count as read for it: its walk takes them from
    /// the blob cache).
    ReadAhead {
        listing: Arc<Listing>,
        first_held: usize,
    },
}

impl<'o> GitScan<'o> {
    /// Opens the repository at `path`; manifests are kept in `cache` when
    /// there is one. `opts.root` names the repository in errors.
    pub fn open(
        path: &Path,
        opts: &'o ScanOptions,
        cache: Option<ManifestCache>,
    ) -> Result<GitScan<'o>, GitError> {
        Ok(GitScan {
            repo: Repo::open(path)?,
            blobs: BlobCache::default(),
            cache,
            opts,
            prepared: Mutex::new(HashMap::new()),
            scanned: Mutex::new(Vec::new()),
        })
    }

    /// Reads ahead the blobs the scans of `revs` will read, all trees at
    /// once in the order of the packs' delta chains
    /// ([`crate::scan::read_ahead`]): a chain shared by several trees is
    /// decoded once. Trees whose manifest the cache holds are left out
    /// (their manifests are read now). Best effort: what is not read ahead,
    /// the scans read.
    fn read_ahead(&self, revs: &[Revision], progress: &(dyn Fn(&Progress) + Sync)) {
        let mut prepared = HashMap::new();
        let mut ids: Vec<ObjectId> = Vec::new();
        for r in revs {
            if prepared.contains_key(&r.tree) || ids.contains(&r.tree) {
                continue;
            }
            let kept = self.cache.as_ref().and_then(|c| {
                let m = c.get(r.tree)?;
                Some(Prepared::Kept(Box::new(m), c.path(r.tree)))
            });
            match kept {
                Some(k) => {
                    prepared.insert(r.tree, k);
                }
                None => ids.push(r.tree),
            }
        }
        let t0 = std::time::Instant::now();
        let jobs = crate::scan::jobs(self.opts);
        let listings = par::map_each(&ids, jobs, |id| Listing::read(&self.repo, *id).ok());
        let trees: Vec<GitTree> = listings
            .into_iter()
            .flatten()
            .map(|l| GitTree::of(&self.repo, Arc::new(l), &self.blobs))
            .collect();
        progress(&Progress::Done {
            stage: Stage::ListTrees,
            at: t0.elapsed(),
        });
        // an error here is the scans' to report
        let first_held = crate::scan::read_ahead(self.opts, &trees, progress)
            .unwrap_or_else(|_| vec![0; trees.len()]);
        for (tree, first_held) in trees.iter().zip(first_held) {
            let listing = tree.listing();
            prepared.insert(
                tree.id(),
                Prepared::ReadAhead {
                    listing,
                    first_held,
                },
            );
        }
        *self.prepared.lock().unwrap_or_else(|p| p.into_inner()) = prepared;
    }

    /// The commit and tree `name` (a tag, a branch or a commit id) names.
    pub fn revision(&self, name: &str) -> Result<Revision, GitError> {
        self.repo.revision(name)
    }

    /// The manifests of `revs` (each named), in order: each from the cache,
    /// or a scan of its tree (then kept in the cache); a tree named twice
    /// made once (the later revisions' origin is [`Origin::SameTree`]). Their blobs are read
    /// ahead first, all trees at once; then the scans run side by side, their
    /// threads shared among them. What each scan says it read does not
    /// depend on the threads: a blob counts as read for the first revision
    /// holding it.
    pub fn manifests(
        &self,
        revs: &[(&str, Revision)],
        progress: &(dyn Fn(&Progress) + Sync),
    ) -> Vec<Result<RevisionManifest, GitScanError>> {
        let trees: Vec<Revision> = revs.iter().map(|(_, r)| *r).collect();
        self.read_ahead(&trees, progress);
        // each tree once, with what the read-ahead prepared for it
        let mut prepared =
            std::mem::take(&mut *self.prepared.lock().unwrap_or_else(|p| p.into_inner()));
        let mut first_of: HashMap<ObjectId, usize> = HashMap::new();
        let mut distinct: Vec<(usize, Mutex<Option<Prepared>>)> = Vec::new();
        for (i, (_, rev)) in revs.iter().enumerate() {
            if let std::collections::hash_map::Entry::Vacant(v) = first_of.entry(rev.tree) {
                v.insert(i);
                distinct.push((i, Mutex::new(prepared.remove(&rev.tree))));
            }
        }
        let jobs = crate::scan::jobs(self.opts);
        let side_by_side = distinct.len().clamp(1, jobs.max(1));
        let mut opts = self.opts.clone();
        // (a thread count the scan refuses stays, for the scan to say so)
        if opts.jobs <= crate::scan::MAX_JOBS {
            opts.jobs = (jobs / side_by_side).max(1);
        }
        let made = par::map_each(&distinct, side_by_side, |(i, prep)| {
            let (name, rev) = revs[*i];
            let prep = prep.lock().unwrap_or_else(|p| p.into_inner()).take();
            self.made(&opts, name, rev, prep, progress)
        });
        let mut out: Vec<Option<Result<RevisionManifest, GitScanError>>> =
            revs.iter().map(|_| None).collect();
        for ((i, _), m) in distinct.iter().zip(made) {
            out[*i] = Some(m);
        }
        for (i, &(name, rev)) in revs.iter().enumerate() {
            let first = first_of[&rev.tree];
            if first == i {
                continue;
            }
            let same = match &out[first] {
                Some(Ok(m)) => Ok(revision_manifest(
                    name,
                    rev,
                    m.manifest.clone(),
                    Origin::SameTree(revs[first].0.to_string()),
                )),
                // failed: again, for this name
                _ => self.manifest(name, rev, progress),
            };
            out[i] = Some(same);
        }
        revs.iter()
            .zip(out)
            .map(|(&(name, rev), m)| m.unwrap_or_else(|| self.manifest(name, rev, progress)))
            .collect()
    }

    /// The manifest of revision `rev`, named `name`: from the cache, or a
    /// scan of its tree (then kept in the cache).
    fn manifest(
        &self,
        name: &str,
        rev: Revision,
        progress: &(dyn Fn(&Progress) + Sync),
    ) -> Result<RevisionManifest, GitScanError> {
        let prepared = self
            .prepared
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(&rev.tree);
        self.made(self.opts, name, rev, prepared, progress)
    }

    /// The manifest of revision `rev`, named `name`, scanned with `opts`:
    /// as the read-ahead `prepared` it, else from the cache, else a scan of
    /// its tree (then kept in the cache).
    fn made(
        &self,
        opts: &ScanOptions,
        name: &str,
        rev: Revision,
        prepared: Option<Prepared>,
        progress: &(dyn Fn(&Progress) + Sync),
    ) -> Result<RevisionManifest, GitScanError> {
        let (listing, first_held) = match prepared {
            Some(Prepared::Kept(m, path)) => {
                return Ok(revision_manifest(name, rev, *m, Origin::Cache(path)))
            }
            Some(Prepared::ReadAhead {
                listing,
                first_held,
            }) => (Some(listing), first_held),
            None => {
                let cached = self
                    .cache
                    .as_ref()
                    .and_then(|c| Some((c.get(rev.tree)?, c.path(rev.tree))));
                if let Some((m, path)) = cached {
                    return Ok(revision_manifest(name, rev, m, Origin::Cache(path)));
                }
                (None, 0)
            }
        };
        let tree = match listing {
            Some(l) => GitTree::of(&self.repo, l, &self.blobs),
            None => GitTree::open(&self.repo, rev.tree, &self.blobs)?,
        };
        if !opts.any_directory {
            makefile_reads(&tree).map_err(|message| GitScanError::Makefile {
                name: name.to_string(),
                message,
            })?;
        }
        let scanned = scan_tree_with(opts, &tree, progress);
        self.scanned
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(tree.listing());
        let m = scanned.map_err(|source| GitScanError::Scan {
            name: name.to_string(),
            source,
        })?;
        let not_kept = self
            .cache
            .as_ref()
            .and_then(|c| c.put(rev.tree, &m).err().map(|e| e.to_string()));
        // the blobs read ahead for this tree, which its walk took from the
        // blob cache, count as read for it
        let reused = tree.blobs_reused();
        let ahead = first_held.min(reused);
        let origin = Origin::Scanned {
            blobs_read: tree.blobs_read() + ahead,
            blobs_reused: reused - ahead,
            not_kept,
        };
        Ok(revision_manifest(name, rev, m, origin))
    }
}

/// Whether the top `Makefile` of `tree`, when there is one, reads: the
/// scan takes a tree whose Makefile does not read for a tree without one
/// ("not a kernel tree"), which hides what is wrong. The error's words
/// when it does not.
fn makefile_reads(tree: &GitTree<'_>) -> Result<(), String> {
    use crate::scan::source::Tree;
    let mut buf = Vec::new();
    match tree.read_into("Makefile", &mut buf) {
        Ok(_) => Ok(()),
        // none there: the scan says so
        Err(e)
            if matches!(
                e.raw_os_error(),
                Some(libc::ENOENT | libc::ENOTDIR | libc::EISDIR | libc::ELOOP)
            ) =>
        {
            Ok(())
        }
        Err(e) => Err(e.to_string()),
    }
}

/// Revision `rev`'s manifest `manifest`, named `name`, from `origin`.
fn revision_manifest(
    name: &str,
    rev: Revision,
    manifest: Manifest,
    origin: Origin,
) -> RevisionManifest {
    RevisionManifest {
        version: Version {
            version: name.to_string(),
            commit: Some(rev.commit.to_string()),
            kernel_version: manifest.kernel_version.clone(),
        },
        tree: rev.tree,
        manifest,
        origin,
    }
}
