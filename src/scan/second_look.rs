//! The second look: set members (and `_impl` partners) defined without
//! `__bpf_kfunc`, in files the prefilter passed over, found by searching the
//! unmatched files for the missing names only.

use super::extract::FileRecords;
use super::file::scan_file;
use super::queries::Queries;
use super::Progress;
use crate::conventions;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::Path;

/// The first component of a tree-relative path (`net` for `net/core/sock.c`).
fn top_dir(rel: &str) -> &str {
    rel.split('/').next().unwrap_or("")
}

/// The names set entries need and no file defines, and the top-level
/// directories of the sets listing them.
fn missing_names(files: &[FileRecords]) -> (BTreeSet<String>, BTreeSet<String>) {
    let defined: BTreeSet<&str> = files
        .iter()
        .flat_map(|f| f.functions.iter().map(|x| x.name.as_str()))
        .collect();
    let mut missing = BTreeSet::new();
    let mut scopes = BTreeSet::new();
    for f in files {
        for e in f.sets.iter().flat_map(|s| &s.entries) {
            let mut lacks = Vec::new();
            if !defined.contains(e.name.as_str()) {
                lacks.push(e.name.clone());
            }
            let flagged = e
                .flags
                .iter()
                .any(|x| conventions::is_verifier_args_flag(x));
            let impl_name = conventions::impl_name(&e.name);
            if flagged && !defined.contains(impl_name.as_str()) {
                lacks.push(impl_name);
            }
            if !lacks.is_empty() {
                scopes.insert(top_dir(&f.path).to_string());
                missing.extend(lacks);
            }
        }
    }
    (missing, scopes)
}

/// Searches `unmatched` for the definitions `files` lack and adds the files
/// holding them to `files`; returns how many files were parsed.
///
/// Nearest first: `.c` files in the top-level directories of the sets naming
/// the missing functions (`net/` for net/mptcp/bpf.c), then the other `.c`
/// files, then headers, each pass only for what is still missing. Every file
/// of a pass is searched, so the result does not depend on timing.
pub fn second_look(
    root: &Path,
    unmatched: &[String],
    files: &mut Vec<FileRecords>,
    q: &Queries,
    pool: &rayon::ThreadPool,
    progress: &(dyn Fn(&Progress) + Sync),
) -> usize {
    let (mut missing, scopes) = missing_names(files);
    let passes: [&(dyn Fn(&str) -> bool + Sync); 3] = [
        &|rel: &str| rel.ends_with(".c") && scopes.contains(top_dir(rel)),
        &|rel: &str| rel.ends_with(".c") && !scopes.contains(top_dir(rel)),
        &|rel: &str| rel.ends_with(".h"),
    ];
    let mut parsed = 0;
    for in_pass in passes {
        if missing.is_empty() {
            break;
        }
        progress(&Progress::LookingFor {
            missing: missing.len(),
        });
        let (found, looked) = one_pass(root, unmatched, in_pass, &missing, q, pool);
        parsed += looked;
        for r in &found {
            for f in &r.functions {
                missing.remove(&f.name);
            }
        }
        files.extend(found);
    }
    parsed
}

/// Reads the unmatched files `in_pass` accepts that mention a missing name,
/// and keeps their definitions of those names. Returns them and how many
/// files were parsed.
fn one_pass(
    root: &Path,
    unmatched: &[String],
    in_pass: &(dyn Fn(&str) -> bool + Sync),
    missing: &BTreeSet<String>,
    q: &Queries,
    pool: &rayon::ThreadPool,
) -> (Vec<FileRecords>, usize) {
    let names: Vec<&String> = missing.iter().collect();
    let Ok(ac) = aho_corasick::AhoCorasick::new(&names) else {
        return (Vec::new(), 0);
    };
    let parsed: Vec<FileRecords> = pool.install(|| {
        unmatched
            .par_iter()
            .filter(|rel| in_pass(rel))
            .filter_map(|rel| {
                let bytes = std::fs::read(root.join(rel)).ok()?;
                if !ac.is_match(&bytes) {
                    return None;
                }
                let r = scan_file(rel, &bytes, q);
                // Only definitions are wanted from these files.
                let mut functions = r.functions;
                functions.retain(|f| missing.contains(&f.name));
                Some(FileRecords {
                    path: r.path,
                    functions,
                    ..Default::default()
                })
            })
            .collect()
    });
    let looked = parsed.len();
    let found = parsed
        .into_iter()
        .filter(|r| !r.functions.is_empty())
        .collect();
    (found, looked)
}
