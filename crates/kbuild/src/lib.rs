//! A kernel build's view of a source tree, from its `.config` and Kbuild
//! makefiles: which configuration symbols are set, whether a preprocessor
//! condition holds, and which object (vmlinux, a module, or none) each
//! source file is built into. Knows nothing of kfuncs.
//!
//! - [`config`]: the `.config`.
//! - `cond`: `#if` expressions against it (`IS_ENABLED`, `defined`, …),
//!   through [`BuildView::eval`] and [`Config::eval`].
//! - `makefile`: a GNU Make interpreter for what Kbuild makefiles use,
//!   tracking what it cannot evaluate instead of guessing.
//! - [`BuildView`]: the walk from the top `Makefile` down the directories
//!   Kbuild would visit, with `scripts/Makefile.lib`'s rules for what is
//!   linked where.
mod cond;
pub mod config;
mod expand;
mod include;
mod makefile;
mod walk;

#[cfg(test)]
mod tests;

pub use cond::{CondError, Linkage};
pub use config::{Config, Setting, Value};
pub use walk::BuildView;

/// The paths whose content or existence a build view looked at, while
/// loading and after (an `#include`d `.c` is looked for when asked): what
/// a cache of its result must check. Shared by the view's clones.
#[derive(Clone, Debug, Default)]
pub struct ReadLog(std::sync::Arc<std::sync::Mutex<ReadLogInner>>);

#[derive(Debug, Default)]
struct ReadLogInner {
    paths: std::collections::BTreeSet<String>,
    outside: bool,
}

impl ReadLog {
    fn note(&self, rel: &str) {
        let mut g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if !g.paths.contains(rel) {
            g.paths.insert(rel.to_string());
        }
    }

    fn note_outside(&self) {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).outside = true;
    }

    /// The tree-relative paths looked at, sorted; None when a path outside
    /// the tree was looked at too (no tree-relative list covers it).
    pub fn paths(&self) -> Option<Vec<String>> {
        let g = self.0.lock().unwrap_or_else(|p| p.into_inner());
        (!g.outside).then(|| g.paths.iter().cloned().collect())
    }
}

use std::path::PathBuf;

/// Where a source file's object ends up.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Fate {
    /// Linked into vmlinux (`obj-y` reached from the top, or `lib-y` of a
    /// directory in `libs-y`).
    Vmlinux,
    /// Linked into this module: the `.ko`'s name without `.ko` (for a
    /// composite object, the composite's name). An object linked into several
    /// modules names them all joined by `:`, as Kbuild's `KBUILD_MODNAME` does.
    Module(String),
    /// Not built with this configuration.
    NotBuilt,
    /// The makefiles do not say without evaluating something this module
    /// cannot (a `$(shell …)`, a compiler probe); the reason names it.
    Unknown(String),
}

impl Fate {
    /// The context a condition in this file is evaluated in.
    pub fn linkage(&self) -> Linkage {
        match self {
            Fate::Vmlinux => Linkage::Vmlinux,
            Fate::Module(_) => Linkage::Module,
            Fate::NotBuilt | Fate::Unknown(_) => Linkage::Unknown,
        }
    }

    /// The manifest's `object`: `"vmlinux"`, the module's name, or `None`
    /// when not built (or not known).
    pub fn object(&self) -> Option<&str> {
        match self {
            Fate::Vmlinux => Some("vmlinux"),
            Fate::Module(m) => Some(m),
            Fate::NotBuilt | Fate::Unknown(_) => None,
        }
    }
}

/// How bad a [`Diagnostic`] is, as a compiler says it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Severity {
    /// The input is wrong, and what depends on it is not known.
    Error,
    /// Read, but probably not as its author meant.
    Warning,
    /// For information.
    Note,
}

/// A problem in the input, for the caller to map into its own diagnostics.
/// `file` is relative to the tree (or the `.config`'s name as given);
/// `line` and `col` are 1-based, 0 for a whole file.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Diagnostic {
    /// The file, relative to the tree (or the `.config` as given).
    pub file: String,
    /// Its line, 1-based; 0 for the whole file.
    pub line: u32,
    /// Its column, 1-based; 0 for the whole line.
    pub col: u32,
    /// How bad it is.
    pub severity: Severity,
    /// A short kebab-case name of the problem (`config-syntax`, …).
    pub code: String,
    /// What is wrong, in words.
    pub message: String,
}

impl Diagnostic {
    /// A diagnostic of `severity` at `file`:`line`:`col`.
    pub fn new(
        severity: Severity,
        file: &str,
        line: u32,
        col: u32,
        code: &str,
        message: impl Into<String>,
    ) -> Diagnostic {
        Diagnostic {
            file: file.to_string(),
            line,
            col,
            severity,
            code: code.to_string(),
            message: message.into(),
        }
    }

    /// An error at `file`:`line`:`col`.
    pub fn error(file: &str, line: u32, col: u32, code: &str, msg: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Error, file, line, col, code, msg)
    }

    /// A warning at `file`:`line`:`col`.
    pub fn warning(file: &str, line: u32, col: u32, code: &str, msg: impl Into<String>) -> Self {
        Diagnostic::new(Severity::Warning, file, line, col, code, msg)
    }
}

/// Why a `.config` cannot be used at all.
#[derive(Debug, thiserror::Error)]
pub enum KbuildError {
    /// It cannot be opened or read.
    #[error("cannot read {}: {source}", path.display())]
    Read {
        /// The file, as given.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// Refused before it is parsed: a FIFO, a binary file (the BTF given by
    /// mistake), a text without a single `CONFIG_` line.
    #[error("not a kernel .config: {why}")]
    NotAConfig {
        /// The file, as given.
        path: PathBuf,
        /// What it is instead.
        why: String,
    },
}
