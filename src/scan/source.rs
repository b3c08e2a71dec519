//! Where a tree's files come from: a directory ([`Dir`]), or a tree in a git
//! object database ([`super::git_tree::GitTree`]). The scan reads through
//! [`Tree`] only, so the same code scans both; the walk is the tree's own
//! (the directory's is [`walk::walk`]), under the same rules.

use super::records::FileRecords;
use super::{walk, Progress};
use globset::GlobSet;
use std::path::Path;

/// What the walk hands on for each file the prefilter keeps.
pub type OnMatch<'a> = &'a (dyn Fn(&str, &[u8]) -> FileRecords + Sync);

/// A kernel tree the scan reads, by tree-relative paths (`/`-separated).
pub trait Tree: Sync {
    /// Reads the file at `rel`, following symbolic links, into `buf`
    /// (reusing its allocation); Ok(false) when it is larger than
    /// [`walk::MAX_FILE_SIZE`] (then `buf` holds no useful content).
    fn read_into(&self, rel: &str, buf: &mut Vec<u8>) -> std::io::Result<bool>;

    /// Whether `rel` is a file, following symbolic links.
    fn is_file(&self, rel: &str) -> bool;

    /// Reads every C source and header under the walk's rules (no hidden
    /// entries, `exclude`d paths skipped, links to directories not
    /// followed), hands those the prefilter keeps to `on_match`.
    fn walk(
        &self,
        exclude: &GlobSet,
        threads: usize,
        progress: &(dyn Fn(&Progress) + Sync),
        on_match: OnMatch,
    ) -> walk::WalkOutput<(String, FileRecords)>;

    /// The directory holding the tree, when it is one (Kbuild is followed
    /// only there).
    fn dir(&self) -> Option<&Path>;

    /// The file at `rel`, when it can be read and is not too large.
    fn read(&self, rel: &str) -> Option<Vec<u8>> {
        let mut buf = Vec::new();
        matches!(self.read_into(rel, &mut buf), Ok(true)).then_some(buf)
    }

    /// The file at `rel` as text, when it can be read and is UTF-8.
    fn read_to_string(&self, rel: &str) -> Option<String> {
        String::from_utf8(self.read(rel)?).ok()
    }
}

/// A tree in a directory of the filesystem.
pub struct Dir<'a>(pub &'a Path);

impl Tree for Dir<'_> {
    fn read_into(&self, rel: &str, buf: &mut Vec<u8>) -> std::io::Result<bool> {
        walk::read_into(&self.0.join(rel), buf)
    }

    fn is_file(&self, rel: &str) -> bool {
        self.0.join(rel).is_file()
    }

    fn walk(
        &self,
        exclude: &GlobSet,
        threads: usize,
        progress: &(dyn Fn(&Progress) + Sync),
        on_match: OnMatch,
    ) -> walk::WalkOutput<(String, FileRecords)> {
        walk::walk(self.0, exclude, threads, progress, on_match)
    }

    fn dir(&self) -> Option<&Path> {
        Some(self.0)
    }
}

/// A tree read through another, noting every path read or looked for
/// (what the scan cache's memo checks before it stands for the stages
/// after the walk).
pub struct Noting<'a> {
    pub tree: &'a dyn Tree,
    paths: std::sync::Mutex<std::collections::BTreeSet<String>>,
}

impl<'a> Noting<'a> {
    pub fn new(tree: &'a dyn Tree) -> Noting<'a> {
        Noting {
            tree,
            paths: Default::default(),
        }
    }

    fn note(&self, rel: &str) {
        let mut g = self.paths.lock().unwrap_or_else(|p| p.into_inner());
        if !g.contains(rel) {
            g.insert(rel.to_string());
        }
    }

    /// The paths read or looked for, sorted.
    pub fn paths(self) -> Vec<String> {
        let g = self.paths.into_inner().unwrap_or_else(|p| p.into_inner());
        g.into_iter().collect()
    }
}

impl Tree for Noting<'_> {
    fn read_into(&self, rel: &str, buf: &mut Vec<u8>) -> std::io::Result<bool> {
        self.note(rel);
        self.tree.read_into(rel, buf)
    }

    fn is_file(&self, rel: &str) -> bool {
        self.note(rel);
        self.tree.is_file(rel)
    }

    fn walk(
        &self,
        exclude: &GlobSet,
        threads: usize,
        progress: &(dyn Fn(&Progress) + Sync),
        on_match: OnMatch,
    ) -> walk::WalkOutput<(String, FileRecords)> {
        self.tree.walk(exclude, threads, progress, on_match)
    }

    fn dir(&self) -> Option<&Path> {
        self.tree.dir()
    }
}
