//! `kfunc-scan lint-docs`: a hand-kept `kfuncs.yaml` in ebpf-docs' shape
//! ([`kfuncs_yaml`]) checked against a manifest. Each finding points at the
//! YAML line and column it is about and is one of three kinds:
//!
//! - a **disagreement**: the file says what the scanned tree contradicts
//!   (a function missing from a set or listed in the wrong one, a flag
//!   differing, a program type missing or not allowed, an entry twice, an
//!   attach type on a set the kernel does not filter);
//! - a **version difference**: a name the scanned tree does not have (a set,
//!   a function, a flag, a program type): the file describes another kernel;
//! - **unverifiable**: what depends on a registration's filter function,
//!   whose restriction the manifest does not record (yet), or on a set whose
//!   entries the scanner could not read in full.
//!
//! Entries whose `since` / `until` exclude the manifest's kernel version are
//! not compared.

pub(crate) mod kfuncs_yaml;
pub(crate) mod yaml_tree;

mod check;

use crate::limits::MAX_KFUNCS_YAML_SIZE;
use crate::manifest::{Diagnostic, Severity};
pub use check::lint;
pub use kfuncs_yaml::{read, KfuncsFile};
use std::io::Read;
use std::path::Path;
pub(crate) use yaml_tree::Pos;

/// Why a kfuncs.yaml's text could not be had.
#[derive(Debug, thiserror::Error)]
pub enum TextError {
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    #[error("larger than {limit} bytes, the bound on a kfuncs.yaml; not read")]
    TooLarge { limit: u64 },
    #[error("not UTF-8 (at byte {at}); YAML is")]
    NotUtf8 { at: usize },
}

impl TextError {
    /// The diagnostic code: `read`, `too-large`.
    pub fn code(&self) -> &'static str {
        match self {
            TextError::Io(_) | TextError::NotUtf8 { .. } => "read",
            TextError::TooLarge { .. } => "too-large",
        }
    }
}

/// The text of the kfuncs.yaml at `path`, at most [`MAX_KFUNCS_YAML_SIZE`]
/// bytes (no more than one byte past it is read).
pub fn read_text(path: &Path) -> Result<String, TextError> {
    let f = std::fs::File::open(path)?;
    let mut bytes = Vec::new();
    f.take(MAX_KFUNCS_YAML_SIZE + 1).read_to_end(&mut bytes)?;
    if bytes.len() as u64 > MAX_KFUNCS_YAML_SIZE {
        return Err(TextError::TooLarge {
            limit: MAX_KFUNCS_YAML_SIZE,
        });
    }
    String::from_utf8(bytes).map_err(|e| TextError::NotUtf8 {
        at: e.utf8_error().valid_up_to(),
    })
}

/// What to compare.
#[derive(Debug, Clone, Copy, Default)]
pub struct LintOptions {
    /// Also expect the selftests' sets (by default they are not documented).
    pub with_selftests: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Disagreement,
    VersionDifference,
    Unverifiable,
}

impl Kind {
    /// Disagreements are warnings; the rest are notes.
    pub(crate) fn severity(self) -> Severity {
        match self {
            Kind::Disagreement => Severity::Warning,
            Kind::VersionDifference | Kind::Unverifiable => Severity::Note,
        }
    }

    pub(crate) fn as_str(self) -> &'static str {
        match self {
            Kind::Disagreement => "disagreement",
            Kind::VersionDifference => "version difference",
            Kind::Unverifiable => "unverifiable",
        }
    }
}

/// One finding, at a position of the YAML file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Finding {
    pub pos: Pos,
    pub kind: Kind,
    /// `lint-missing-func`, …
    pub code: &'static str,
    pub message: String,
}

impl Finding {
    /// As a diagnostic of `file` (the YAML file's name as given).
    pub fn diagnostic(&self, file: &str) -> Diagnostic {
        let message = match self.kind {
            Kind::Disagreement => self.message.clone(),
            k => format!("{} ({})", self.message, k.as_str()),
        };
        Diagnostic::new(
            self.kind.severity(),
            self.code,
            file,
            self.pos.line,
            self.pos.col,
            message,
        )
    }
}

/// The findings, sorted by position, and their counts.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Report {
    pub findings: Vec<Finding>,
}

impl Report {
    pub fn count(&self, kind: Kind) -> usize {
        self.findings.iter().filter(|f| f.kind == kind).count()
    }

    /// Whether the file disagrees with the tree (version differences and
    /// unverifiable points aside).
    pub fn has_disagreements(&self) -> bool {
        self.count(Kind::Disagreement) > 0
    }

    /// `N disagreements, N version differences, N unverifiable`.
    pub fn summary(&self) -> String {
        let n = |k, one: &str, many: &str| match self.count(k) {
            1 => format!("1 {one}"),
            c => format!("{c} {many}"),
        };
        format!(
            "{}, {}, {} unverifiable",
            n(Kind::Disagreement, "disagreement", "disagreements"),
            n(
                Kind::VersionDifference,
                "version difference",
                "version differences"
            ),
            self.count(Kind::Unverifiable)
        )
    }
}
