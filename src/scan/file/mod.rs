//! One file through mask, parse and extract. Never fails: a file that cannot
//! be parsed is a diagnostic.
//!
//! The per-file stage, run in the walker's threads: [`mask`] blanks what
//! tree-sitter cannot parse, [`parse`] parses, [`queries`] (run by the
//! [`pattern`] engine) find the constructs, [`extract`] turns captures into
//! records, helped by [`cond`] (the `#if`s around a node), [`ctype`] (C
//! declarations) and [`filter`] (a set's `.filter` callback).

pub(crate) mod cond;
pub(crate) mod ctype;
pub mod extract;
pub(crate) mod filter;
pub mod mask;
pub mod parse;
pub mod pattern;
pub mod queries;

use self::queries::Queries;
use crate::limits::MAX_IF_DEPTH;
use crate::manifest::{Diagnostic, Severity};
use crate::scan::cpp;
use crate::scan::records::FileRecords;

/// The 1-based line of byte `at`.
fn line_at(bytes: &[u8], at: usize) -> u32 {
    memchr::memchr_iter(b'\n', &bytes[..at]).count() as u32 + 1
}

/// The records of the file at tree-relative path `rel`, whose content is `bytes`.
pub(crate) fn scan_file(rel: &str, bytes: &[u8], q: &Queries) -> FileRecords {
    let only = |d: Diagnostic| FileRecords {
        path: rel.to_string(),
        diagnostics: vec![d],
        ..Default::default()
    };
    if let Some(p) = memchr::memchr(0, bytes) {
        return only(Diagnostic::new(
            Severity::Warning,
            "binary-file",
            rel,
            line_at(bytes, p),
            1,
            format!("NUL byte at offset {p}; not parsed"),
        ));
    }
    if let Some(line) = cpp::if_deeper_than(bytes, MAX_IF_DEPTH) {
        return only(Diagnostic::new(
            Severity::Error,
            "if-too-deep",
            rel,
            line,
            1,
            format!("`#if`s nest deeper than {MAX_IF_DEPTH} here (the bound); not parsed"),
        ));
    }
    let masked = mask::mask(bytes);
    let Some(tree) = parse::parse(&masked) else {
        return only(Diagnostic::new(
            Severity::Warning,
            "parse-timeout",
            rel,
            1,
            1,
            format!("not parsed within {:?}", parse::PARSE_TIME_LIMIT),
        ));
    };
    let mut rec = extract::extract(rel, bytes, &masked, &tree, q);
    if let Err(e) = std::str::from_utf8(bytes) {
        let at = e.valid_up_to();
        rec.diagnostics.push(Diagnostic::new(
            Severity::Note,
            "not-utf8",
            rel,
            line_at(bytes, at),
            1,
            format!("invalid UTF-8 at byte {at}; read with replacement characters"),
        ));
    }
    rec
}
