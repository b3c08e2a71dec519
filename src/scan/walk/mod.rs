//! Walking the tree and the prefilter: every `.c` and `.h` file is read once,
//! in parallel, and only those mentioning a kfunc construct are handed on, to
//! a callback that runs in the walker's own thread (so parsing overlaps the
//! reading of the rest of the tree). The others are remembered by path, for
//! the rare second look (a set member defined without `__bpf_kfunc`).
//!
//! What cannot be walked or read is an error diagnostic (data the manifest
//! lacks), the walk going on with the rest.
//!
//! Symbolic links to files are read; links to directories are not followed
//! (the kernel's `scripts/dtc/include-prefixes` would walk `arch/` again, and
//! a link loop would never end), and each one is reported as a note.
//!
//! In parts: which paths are read ([`paths`]), how a file is loaded
//! ([`mod@load`]), the prefilter ([`mod@prefilter`]), and what the walker threads
//! share whatever the tree is read from ([`collect`]: a git tree's walk and
//! the cache's use it too); here the directory walk itself.

use super::Progress;
use crate::manifest::{Diagnostic, Severity};
use globset::GlobSet;
use std::path::Path;

mod collect;
mod load;
mod paths;
mod prefilter;

pub(crate) use collect::{Collector, Local, Sift, Taken};
pub use load::MAX_FILE_SIZE;
pub(crate) use load::{load, read_into, Loaded};
pub(crate) use paths::{is_c_named, rel_path, unusable_path, unusable_path_error};
pub(crate) use prefilter::name_hash;
// what only a git tree's walk uses
#[cfg(feature = "git")]
pub(crate) use paths::{is_c_name, is_hidden, unusable_rel};

#[derive(Default)]
pub struct WalkOutput<T> {
    /// What the callback made of each matching file.
    pub matched: Vec<T>,
    /// C sources and headers that did not match, for a second look (in no
    /// particular order).
    pub unmatched: Vec<String>,
    /// The functions the unmatched files define in kernel style, as
    /// ([`name_hash`], index into `unmatched`).
    pub definitions: Vec<(u64, u32)>,
    pub files_read: usize,
    pub diagnostics: Vec<Diagnostic>,
}

fn diag(code: &str, sev: Severity, rel: &str, msg: String) -> Diagnostic {
    Diagnostic::new(sev, code, rel, 0, 0, msg)
}

impl<T> WalkOutput<T> {
    fn new() -> Self {
        WalkOutput {
            matched: Vec::new(),
            unmatched: Vec::new(),
            definitions: Vec::new(),
            files_read: 0,
            diagnostics: Vec::new(),
        }
    }

    fn absorb(&mut self, part: WalkOutput<T>) {
        let offset = self.unmatched.len() as u32;
        self.matched.extend(part.matched);
        self.unmatched.extend(part.unmatched);
        self.definitions
            .extend(part.definitions.into_iter().map(|(h, i)| (h, i + offset)));
        self.files_read += part.files_read;
        self.diagnostics.extend(part.diagnostics);
    }
}

/// What the filesystem walker's threads share.
struct Shared<'a, T> {
    root: &'a Path,
    exclude: &'a GlobSet,
    collector: Collector<'a, T>,
}

/// Walks `root`; `on_match(rel, bytes)` runs for each file the prefilter keeps.
pub fn walk<T: Send>(
    root: &Path,
    exclude: &GlobSet,
    threads: usize,
    progress: &(dyn Fn(&Progress) + Sync),
    on_match: &(dyn Fn(&str, &[u8]) -> T + Sync),
) -> WalkOutput<(String, T)> {
    let shared = Shared {
        root,
        exclude,
        collector: Collector::new(progress, on_match),
    };
    let walker = ignore::WalkBuilder::new(root)
        .standard_filters(false)
        .hidden(true)
        .follow_links(false)
        .threads(threads)
        .build_parallel();
    walker.run(|| {
        let mut local = DirVisitor {
            local: shared.collector.thread(),
            root: shared.root,
            exclude: shared.exclude,
        };
        Box::new(move |entry| local.visit(entry))
    });
    shared.collector.finish()
}

/// A filesystem walker thread.
struct DirVisitor<'a, T> {
    local: Local<'a, T>,
    root: &'a Path,
    exclude: &'a GlobSet,
}

impl<T> DirVisitor<'_, T> {
    fn visit(&mut self, entry: Result<ignore::DirEntry, ignore::Error>) -> ignore::WalkState {
        let root = self.root;
        let entry = match entry {
            Ok(e) => e,
            Err(err) => {
                let path = err_path(&err)
                    .map(|p| rel_path(root, p))
                    .unwrap_or_default();
                self.local.note(walk_error(&path, err_text(&err)));
                return ignore::WalkState::Continue;
            }
        };
        let path = entry.path();
        let rel = rel_path(root, path);
        let Some(ft) = entry.file_type() else {
            return ignore::WalkState::Continue;
        };
        // an empty set matches nothing, but `is_match` still splits the path
        let excluded = !self.exclude.is_empty() && !rel.is_empty();
        if excluded && self.exclude.is_match(&rel) {
            return if ft.is_dir() {
                ignore::WalkState::Skip
            } else {
                ignore::WalkState::Continue
            };
        }
        let is_file = if ft.is_symlink() {
            self.link_to_file(path, &rel)
        } else {
            ft.is_file()
        };
        if is_file && is_c_named(path) {
            if let Some(why) = unusable_path(root, path, &rel) {
                self.local.note(unusable_path_error(root, path, why));
                return ignore::WalkState::Continue;
            }
            let loaded = load(path, self.local.buf());
            self.local.take(rel, loaded);
        }
        ignore::WalkState::Continue
    }

    /// Whether a symbolic link is to be read as a file: links to directories
    /// are not followed, a dangling link to a C file is reported.
    fn link_to_file(&mut self, path: &Path, rel: &str) -> bool {
        match std::fs::metadata(path) {
            Ok(md) if md.is_dir() => {
                self.local.note(link_not_followed(rel));
                false
            }
            Ok(md) => md.is_file(),
            Err(e) => {
                if is_c_named(path) {
                    self.local.note(dangling_link(rel, &e));
                }
                false
            }
        }
    }
}

/// The note for a link to a directory, which the walk does not follow.
pub fn link_not_followed(rel: &str) -> Diagnostic {
    diag(
        "symlink-not-followed",
        Severity::Note,
        rel,
        "a link to a directory; not followed".into(),
    )
}

/// The error for a link to a C file that cannot be followed.
pub fn dangling_link(rel: &str, e: &std::io::Error) -> Diagnostic {
    diag(
        "read-error",
        Severity::Error,
        rel,
        format!("dangling or unreadable link: {e}"),
    )
}

/// A diagnostic for a walk that could not go on below `rel`.
pub fn walk_error(rel: &str, message: String) -> Diagnostic {
    diag(
        "walk-error",
        Severity::Error,
        rel,
        format!("skipped: {message}"),
    )
}

fn err_path(err: &ignore::Error) -> Option<&Path> {
    match err {
        ignore::Error::WithPath { path, .. } => Some(path),
        ignore::Error::WithDepth { err, .. } | ignore::Error::WithLineNumber { err, .. } => {
            err_path(err)
        }
        ignore::Error::Loop { child, .. } => Some(child),
        _ => None,
    }
}

fn err_text(err: &ignore::Error) -> String {
    match err {
        ignore::Error::WithPath { err, .. } => err_text(err),
        ignore::Error::WithDepth { err, .. } => err_text(err),
        other => other.to_string(),
    }
}
