//! The intermediate records: what the per-file stage ([`super::file`])
//! makes of a file, which the tree-wide stage ([`super::tree`]) completes
//! and [`super::resolve`] puts together into the manifest. Plain data,
//! serialisable for the per-file cache ([`super::cache`]).

use super::cpp::Directive;
use crate::manifest::{Diagnostic, Param, SetKind};

#[derive(Debug, Default, Clone, serde::Serialize, serde::Deserialize)]
pub struct FileRecords {
    pub path: String,
    pub sets: Vec<RawSet>,
    pub functions: Vec<RawFunction>,
    pub registrations: Vec<RawRegistration>,
    pub id_sets: Vec<RawIdSet>,
    pub id_lists: Vec<RawIdList>,
    /// ERROR nodes tree-sitter left in the file (a measure of how well the
    /// masked source parses).
    pub error_nodes: usize,
    /// The file's `#define`, `#undef` and `#include` lines, read only when a
    /// set of the file holds a macro use (for [`crate::scan::xmacro`]).
    pub directives: Vec<(u32, Directive)>,
    pub diagnostics: Vec<Diagnostic>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawSet {
    pub name: String,
    pub kind: SetKind,
    pub line: u32,
    pub end_line: Option<u32>,
    pub entries: Vec<RawEntry>,
    /// Lines of the body that are not entries but look like macro uses
    /// (`LIST` or `ITEMS(a, b)`), for [`crate::scan::xmacro`] to expand.
    pub uses: Vec<MacroUse>,
}

/// A macro used in a set body, in place of entries.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct MacroUse {
    /// How many of the set's entries come before it.
    pub at: usize,
    /// `NAME` or `NAME(args…)` as written, lines joined.
    pub text: String,
    pub line: u32,
    pub col: u32,
    pub condition: Option<String>,
    /// Its source line, quoted should it not expand.
    pub quote: String,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawEntry {
    pub name: String,
    pub flags: Vec<String>,
    pub condition: Option<String>,
    pub line: u32,
    pub col: u32,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawFunction {
    pub name: String,
    pub line: u32,
    pub col: u32,
    pub bpf_kfunc_attr: bool,
    pub return_type: String,
    pub params: Vec<Param>,
    pub doc: Option<String>,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawRegistration {
    pub prog_type: String,
    pub id_set: String,
    pub line: u32,
    pub col: u32,
    pub condition: Option<String>,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawIdSet {
    pub var: String,
    pub set: Option<String>,
    pub filter: Option<String>,
    /// `filter`'s body, read.
    pub filter_reading: Option<RawFilter>,
    pub line: u32,
}

#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawIdList {
    pub name: String,
    pub line: u32,
    /// (kind, name, line)
    pub members: Vec<(String, String, u32)>,
}

/// Which values of a field a filter lets through.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Allowed {
    /// It does not look at the field.
    Any,
    Only(Vec<String>),
    /// All but these (the caller knows the enum to complete it).
    Except(Vec<String>),
}

/// What a filter's body says, or why it could not be read.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum Reading {
    Read {
        prog_types: Allowed,
        attach_types: Allowed,
        /// Opaque conditions that must hold (`!x` when `x` must not).
        requires: Vec<String>,
        /// Whether it asks about its own set first; if not, it concerns
        /// every kfunc of its hook.
        guarded: bool,
    },
    Unread(String),
}

/// A filter function found in the file, and its reading.
#[derive(Debug, Clone, serde::Serialize, serde::Deserialize)]
pub struct RawFilter {
    pub name: String,
    /// Where it is defined (line, column), when it is.
    pub at: Option<(u32, u32)>,
    pub reading: Reading,
}
