//! Manifests of trees read straight from a git repository's object
//! database, at given revisions, without a checkout.
//!
//! Two caches: within one run, what the scan made of each blob
//! ([`BlobCache`]: a blob two tags share is read and parsed once); across
//! runs, one manifest file per tree ([`ManifestCache`]), named by the tree
//! id and a key of everything else the manifest depends on (the tool's
//! build, the queries' text, the scan options), so a tree scanned once is
//! never read again.

use crate::manifest::history::Version;
use crate::manifest::Manifest;
use crate::scan::git_tree::{par_map, BlobCache, GitError, GitTree, Listing, Repo, Revision};
use crate::scan::queries::Queries;
use crate::scan::{scan_tree_with, Progress, ScanError, ScanOptions, Stage};
use gix::ObjectId;
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
    pub fn path(&self, tree: ObjectId) -> PathBuf {
        self.dir.join(format!("{tree}-{}.json", self.key))
    }

    /// The manifest kept for `tree`; None when there is none, or it does
    /// not read as a manifest (it is then made again, and replaced).
    fn get(&self, tree: ObjectId) -> Option<Manifest> {
        let text = std::fs::read_to_string(self.path(tree)).ok()?;
        Manifest::from_json(&text).ok()
    }

    /// Keeps `m` as the manifest of `tree`, atomically.
    fn put(&self, tree: ObjectId, m: &Manifest) -> std::io::Result<()> {
        std::fs::create_dir_all(&self.dir)?;
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
    /// By tree: the blobs read ahead that it was the first tree to hold.
    read_ahead: Mutex<HashMap<ObjectId, usize>>,
    /// The trees listed for the read-ahead, until their scans.
    listings: Mutex<HashMap<ObjectId, Arc<Listing>>>,
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
            read_ahead: Mutex::new(HashMap::new()),
            listings: Mutex::new(HashMap::new()),
        })
    }

    /// Reads ahead the blobs the scans of `revs` will read, all trees at
    /// once in the order of the packs' delta chains
    /// ([`crate::scan::read_ahead`]): a chain shared by several trees is
    /// decoded once. Trees whose manifest the cache holds are left out.
    /// Best effort: what is not read ahead, the scans read.
    pub fn read_ahead(&self, revs: &[Revision], progress: &(dyn Fn(&Progress) + Sync)) {
        let mut ids: Vec<ObjectId> = Vec::new();
        for r in revs {
            let kept = self
                .cache
                .as_ref()
                .is_some_and(|c| c.path(r.tree).is_file());
            if !kept && !ids.contains(&r.tree) {
                ids.push(r.tree);
            }
        }
        let t0 = std::time::Instant::now();
        let jobs = crate::scan::jobs(self.opts);
        let listings = par_map(&ids, jobs, |id| Listing::read(&self.repo, *id).ok());
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
        if let Ok(firsts) = crate::scan::read_ahead(self.opts, &trees, progress) {
            let mut ahead = self.read_ahead.lock().unwrap_or_else(|p| p.into_inner());
            for (tree, n) in trees.iter().zip(firsts) {
                ahead.insert(tree.id(), n);
            }
        }
        let mut listings = self.listings.lock().unwrap_or_else(|p| p.into_inner());
        for tree in &trees {
            listings.insert(tree.id(), tree.listing());
        }
    }

    /// The commit and tree `name` (a tag, a branch or a commit id) names.
    pub fn revision(&self, name: &str) -> Result<Revision, GitError> {
        self.repo.revision(name)
    }

    /// The manifests of `revs` (each named), in order: each as
    /// [`GitScan::manifest`] makes it. The scans run side by side, as many at
    /// once as a scan has threads: a scan's steps after its walk take one
    /// thread, and the others' walks take the rest.
    pub fn manifests(
        &self,
        revs: &[(&str, Revision)],
        progress: &(dyn Fn(&Progress) + Sync),
    ) -> Vec<Result<RevisionManifest, GitScanError>> {
        let jobs = crate::scan::jobs(self.opts);
        par_map(revs, jobs, |(name, rev)| {
            self.manifest(name, *rev, progress)
        })
    }

    /// The manifest of revision `rev`, named `name`: from the cache, or a
    /// scan of its tree (then kept in the cache).
    pub fn manifest(
        &self,
        name: &str,
        rev: Revision,
        progress: &(dyn Fn(&Progress) + Sync),
    ) -> Result<RevisionManifest, GitScanError> {
        let cached = self
            .cache
            .as_ref()
            .and_then(|c| Some((c.get(rev.tree)?, c.path(rev.tree))));
        let (manifest, origin) = match cached {
            Some((m, path)) => (m, Origin::Cache(path)),
            None => {
                let listed = self
                    .listings
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&rev.tree);
                let tree = match listed {
                    Some(l) => GitTree::of(&self.repo, l, &self.blobs),
                    None => GitTree::open(&self.repo, rev.tree, &self.blobs)?,
                };
                let m = scan_tree_with(self.opts, &tree, progress).map_err(|source| {
                    GitScanError::Scan {
                        name: name.to_string(),
                        source,
                    }
                })?;
                let not_kept = self
                    .cache
                    .as_ref()
                    .and_then(|c| c.put(rev.tree, &m).err().map(|e| e.to_string()));
                // the blobs read ahead for this tree, which its walk took
                // from the cache, count as read for it
                let ahead = self
                    .read_ahead
                    .lock()
                    .unwrap_or_else(|p| p.into_inner())
                    .remove(&rev.tree)
                    .unwrap_or(0);
                let reused = tree.blobs_reused();
                let origin = Origin::Scanned {
                    blobs_read: tree.blobs_read() + ahead.min(reused),
                    blobs_reused: reused - ahead.min(reused),
                    not_kept,
                };
                (m, origin)
            }
        };
        Ok(RevisionManifest {
            version: Version {
                version: name.to_string(),
                commit: Some(rev.commit.to_string()),
                kernel_version: manifest.kernel_version.clone(),
            },
            tree: rev.tree,
            manifest,
            origin,
        })
    }
}
