//! The second look: set members (and `_impl` partners) defined without
//! `__bpf_kfunc`, in files the prefilter passed over, found through the
//! walk's notes of what those files define: the tree is not read again.

use crate::conventions;
use crate::scan::file::queries::Queries;
use crate::scan::file::scan_file;
use crate::scan::records::FileRecords;
use crate::scan::source::Tree;
use crate::scan::{walk, Progress};
use rayon::prelude::*;
use std::collections::{BTreeSet, HashMap};

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

/// Finds the definitions `files` lack in the files the walk did not parse,
/// and adds the files holding them to `files`; returns how many files it
/// read (each is parsed).
///
/// The walk noted which of those files define which names in kernel style
/// (`walk::DEF_LINE`), so only files noted for a missing name are read:
/// a name defined nowhere costs a lookup, not a read of the tree. Nearest
/// first: `.c` files in the top-level directories of the sets naming the
/// missing functions (`net/` for net/mptcp/bpf.c), then the other `.c`
/// files, then headers, each pass only for what is still missing. Every
/// file of a pass is read, so the result does not depend on timing.
pub(crate) fn second_look(
    tree: &dyn Tree,
    unmatched: &[String],
    definitions: &[(u64, u32)],
    files: &mut Vec<FileRecords>,
    q: &Queries,
    pool: &rayon::ThreadPool,
    progress: &(dyn Fn(&Progress) + Sync),
) -> usize {
    let (mut missing, scopes) = missing_names(files);
    if missing.is_empty() {
        return 0;
    }
    let noted = noted_files(&missing, definitions);
    let passes: [&(dyn Fn(&str) -> bool + Sync); 3] = [
        &|rel: &str| rel.ends_with(".c") && scopes.contains(top_dir(rel)),
        &|rel: &str| rel.ends_with(".c") && !scopes.contains(top_dir(rel)),
        &|rel: &str| rel.ends_with(".h"),
    ];
    let mut read = 0;
    for in_pass in passes {
        if missing.is_empty() {
            break;
        }
        progress(&Progress::LookingFor {
            missing: missing.len(),
        });
        let mut candidates: Vec<&str> = missing
            .iter()
            .filter_map(|name| noted.get(&walk::name_hash(name.as_bytes())))
            .flatten()
            .filter_map(|&i| unmatched.get(i as usize).map(String::as_str))
            .filter(|rel| in_pass(rel))
            .collect();
        candidates.sort_unstable();
        candidates.dedup();
        read += candidates.len();
        let found = one_pass(tree, &candidates, &missing, q, pool);
        for r in &found {
            for f in &r.functions {
                missing.remove(&f.name);
            }
        }
        files.extend(found);
    }
    read
}

/// The files noted as defining each missing name, by name hash.
///
/// Looked up once per definition the walk noted (~700,000 on 6.12): the
/// keys are hashes already, so Fx's one multiplication hashes them, not
/// SipHash (which took 3% of a scan's instructions here).
fn noted_files(missing: &BTreeSet<String>, definitions: &[(u64, u32)]) -> Noted {
    let mut noted: Noted = missing
        .iter()
        .map(|n| (walk::name_hash(n.as_bytes()), Vec::new()))
        .collect();
    for (h, i) in definitions {
        if let Some(v) = noted.get_mut(h) {
            v.push(*i);
        }
    }
    noted
}

type Noted = HashMap<u64, Vec<u32>, rustc_hash::FxBuildHasher>;

/// Reads and parses `candidates` and keeps their definitions of `missing`
/// names; the files holding one.
fn one_pass(
    tree: &dyn Tree,
    candidates: &[&str],
    missing: &BTreeSet<String>,
    q: &Queries,
    pool: &rayon::ThreadPool,
) -> Vec<FileRecords> {
    let parsed: Vec<FileRecords> = pool.install(|| {
        candidates
            .par_iter()
            .filter_map(|rel| {
                let bytes = tree.read(rel)?;
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
    parsed
        .into_iter()
        .filter(|r| !r.functions.is_empty())
        .collect()
}
