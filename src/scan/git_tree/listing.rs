//! A tree's listing, and the files its walk reads: the walk's rules
//! applied to the entries, symbolic links resolved inside the tree.

use super::GitTree;
use crate::git::{gix, Found, GitError, Kind, ObjectId, Repo};
use crate::limits;
use crate::manifest::Diagnostic;
use crate::scan::walk;
use globset::GlobSet;
use std::io;
use std::path::Path;
use std::sync::OnceLock;

/// What a tree's walk reads, and notes.
pub(super) struct Walked {
    /// Each C file at its path, with the blob it reads (a link's target's).
    pub(super) files: Vec<(String, ObjectId)>,
    /// Links not followed, dangling links.
    pub(super) notes: Vec<Diagnostic>,
}

/// A tree's entries, listed in full. Its walk is worked out once, with the
/// `--exclude` globs of the first: a listing serves the scans of one run,
/// which share their options.
pub(crate) struct Listing {
    pub(super) tree: crate::git::Listing,
    pub(super) walked: OnceLock<Walked>,
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

impl GitTree<'_> {
    /// Follows `rel` from the top, links included, within `budget`
    /// ([`crate::git::Listing::resolve`]).
    pub(super) fn resolve(
        &self,
        repo: &gix::Repository,
        rel: &str,
        budget: &mut usize,
    ) -> io::Result<Found> {
        self.listing.tree.resolve(self.repo, repo, rel, budget)
    }

    /// The files the walk reads, and its notes: each C file at its path
    /// with the blob it reads (a link's target), under the walk's rules.
    /// Worked out once a listing (see [`Listing`]).
    pub(super) fn walked(&self, exclude: &GlobSet) -> &Walked {
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
}
