//! The scanner: walk and prefilter → mask → parse → extract → resolve.

pub mod cond;
pub mod ctype;
pub mod extract;
pub mod mask;
pub mod parse;
pub mod queries;
pub mod resolve;
pub mod tree_facts;
pub mod walk;

use crate::conventions;
use crate::manifest::{Diagnostic, Manifest, Severity};
use extract::FileRecords;
use queries::Queries;
use rayon::prelude::*;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Default)]
pub struct ScanOptions {
    pub root: PathBuf,
    pub exclude: Vec<String>,
    /// 0: one thread per core.
    pub jobs: usize,
    pub queries_dir: Option<PathBuf>,
    pub extra_implicit_types: Vec<String>,
    pub progress: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    #[error("{0}: error[no-tree]: not a directory")]
    NoTree(String),
    #[error(transparent)]
    Query(#[from] queries::QueryLoadError),
    #[error("error[bad-glob]: --exclude {glob}: {message}")]
    BadGlob { glob: String, message: String },
    #[error("error[threads]: {0}")]
    Threads(String),
}

/// Masks, parses and extracts one file; never fails: problems become diagnostics.
fn process(rel: &str, bytes: &[u8], q: &Queries) -> FileRecords {
    let diag = |sev, code: &str, msg: String| FileRecords {
        path: rel.to_string(),
        diagnostics: vec![Diagnostic::new(sev, code, rel, 1, 1, msg)],
        ..Default::default()
    };
    if let Some(p) = memchr::memchr(0, bytes) {
        let line = bytes[..p].iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        let mut r = diag(
            Severity::Warning,
            "binary-file",
            format!("NUL byte at offset {p}; not parsed"),
        );
        r.diagnostics[0].line = line;
        return r;
    }
    let masked = mask::mask(bytes);
    let Some(tree) = parse::parse(&masked) else {
        return diag(
            Severity::Warning,
            "parse-timeout",
            format!("not parsed within {:?}", parse::PARSE_TIME_LIMIT),
        );
    };
    let mut rec = extract::extract(rel, bytes, &masked, &tree, q);
    if let Err(e) = std::str::from_utf8(bytes) {
        let at = e.valid_up_to();
        let line = bytes[..at].iter().filter(|&&b| b == b'\n').count() as u32 + 1;
        rec.diagnostics.push(Diagnostic::new(
            Severity::Note,
            "not-utf8",
            rel,
            line,
            1,
            format!("invalid UTF-8 at byte {at}; read with replacement characters"),
        ));
    }
    rec
}

fn flag_defines(
    root: &Path,
    q: &Queries,
    diags: &mut Vec<Diagnostic>,
) -> Vec<(String, String, u32)> {
    let path = root.join(tree_facts::FLAGS_HEADER);
    let Ok(bytes) = std::fs::read(&path) else {
        diags.push(Diagnostic::new(
            Severity::Warning,
            "no-flag-definitions",
            tree_facts::FLAGS_HEADER,
            0,
            0,
            "cannot read the tree's flag definitions: every flag is unknown",
        ));
        return Vec::new();
    };
    let masked = mask::mask(&bytes);
    let Some(tree) = parse::parse(&masked) else {
        return Vec::new();
    };
    let (c_name, c_value) = (
        queries::cap(&q.flag_defines, "flag_name"),
        queries::cap(&q.flag_defines, "flag_value"),
    );
    let mut out = Vec::new();
    let mut cursor = tree_sitter::QueryCursor::new();
    let mut matches = cursor.matches(&q.flag_defines, tree.root_node(), masked.as_slice());
    use tree_sitter::StreamingIterator;
    while let Some(m) = matches.next() {
        let get = |i| m.captures.iter().find(|c| c.index == i).map(|c| c.node);
        if let (Some(n), Some(v)) = (get(c_name), get(c_value)) {
            let name = String::from_utf8_lossy(&masked[n.byte_range()]).into_owned();
            let value = String::from_utf8_lossy(&masked[v.byte_range()]).into_owned();
            out.push((name, value, n.start_position().row as u32 + 1));
        }
    }
    out
}

/// The first component of a tree-relative path (`net` for `net/core/sock.c`).
fn top_dir(rel: &str) -> String {
    rel.split('/').next().unwrap_or("").to_string()
}

/// Reads the unmatched files `in_pass` accepts that mention a missing name,
/// and keeps their definitions of those names. Returns them and how many
/// files were parsed.
fn second_look(
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
                let mut r = process(rel, &bytes, q);
                r.functions.retain(|f| missing.contains(&f.name));
                // Only definitions are wanted from these files.
                r.sets.clear();
                r.registrations.clear();
                r.id_sets.clear();
                r.id_lists.clear();
                r.diagnostics.clear();
                r.error_nodes = 0;
                Some(r)
            })
            .collect()
    });
    let looked = parsed.len();
    (
        parsed
            .into_iter()
            .filter(|r| !r.functions.is_empty())
            .collect(),
        looked,
    )
}

pub fn scan(opts: &ScanOptions) -> Result<Manifest, ScanError> {
    let root = opts.root.as_path();
    if !root.is_dir() {
        return Err(ScanError::NoTree(root.display().to_string()));
    }
    let q = Queries::load(opts.queries_dir.as_deref())?;
    let mut globs = globset::GlobSetBuilder::new();
    for g in &opts.exclude {
        let glob = globset::Glob::new(g).map_err(|e| ScanError::BadGlob {
            glob: g.clone(),
            message: e.to_string(),
        })?;
        globs.add(glob);
    }
    let exclude = globs.build().map_err(|e| ScanError::BadGlob {
        glob: opts.exclude.join(","),
        message: e.to_string(),
    })?;
    let jobs = if opts.jobs == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        opts.jobs
    };
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(jobs)
        .build()
        .map_err(|e| ScanError::Threads(e.to_string()))?;

    let progress = if opts.progress {
        let pb = indicatif::ProgressBar::new_spinner();
        pb.set_message("reading");
        pb
    } else {
        indicatif::ProgressBar::hidden()
    };
    let timing = std::env::var_os("KFUNC_SCAN_TIMING").is_some();
    let t0 = std::time::Instant::now();
    let phase = |name: &str| {
        if timing {
            eprintln!("timing: {name} at {:?}", t0.elapsed());
        }
    };
    // Parsing happens in the walker's threads, as files are found.
    let walked = walk::walk(root, &exclude, jobs, &progress, &|rel, bytes| {
        let t = std::time::Instant::now();
        let r = process(rel, bytes, &q);
        if timing {
            eprintln!("timing: {rel} {} bytes {:?}", bytes.len(), t.elapsed());
        }
        r
    });
    phase("walk and parse");
    let mut diagnostics = walked.diagnostics;
    let mut files: Vec<FileRecords> = walked.matched.into_iter().map(|(_, r)| r).collect();
    let files_parsed = files.len();

    // A second look for set members (and `_impl` partners) defined without
    // `__bpf_kfunc` in files the prefilter passed over.
    let defined: BTreeSet<&str> = files
        .iter()
        .flat_map(|f| f.functions.iter().map(|x| x.name.as_str()))
        .collect();
    // the missing names, and the top-level directories of the sets listing them
    let mut missing: BTreeSet<String> = BTreeSet::new();
    let mut scopes: BTreeSet<String> = BTreeSet::new();
    for f in &files {
        for s in &f.sets {
            for e in &s.entries {
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
                    scopes.insert(top_dir(&f.path));
                    missing.extend(lacks);
                }
            }
        }
    }
    let mut second_look_files = 0;
    if !missing.is_empty() {
        progress.set_message(format!("looking for {} definitions", missing.len()));
        // Nearest first: `.c` files in the top-level directories of the sets
        // naming the missing functions (`net/` for net/mptcp/bpf.c), then the
        // other `.c` files, then headers, each pass only for what is still
        // missing. Every file of a pass is searched, so the result does not
        // depend on timing.
        let passes: [&(dyn Fn(&str) -> bool + Sync); 3] = [
            &|rel: &str| rel.ends_with(".c") && scopes.contains(&top_dir(rel)),
            &|rel: &str| rel.ends_with(".c") && !scopes.contains(&top_dir(rel)),
            &|rel: &str| rel.ends_with(".h"),
        ];
        for in_pass in passes {
            if missing.is_empty() {
                break;
            }
            let (found, looked) =
                second_look(root, &walked.unmatched, in_pass, &missing, &q, &pool);
            second_look_files += looked;
            for r in &found {
                for f in &r.functions {
                    missing.remove(&f.name);
                }
            }
            files.extend(found);
        }
    }
    progress.finish_and_clear();
    phase("second look");

    let defines = flag_defines(root, &q, &mut diagnostics);
    let flag_values =
        tree_facts::evaluate_flags(&defines, tree_facts::FLAGS_HEADER, &mut diagnostics);
    let mut implicit_types: Vec<String> =
        std::fs::read_to_string(root.join(tree_facts::RESOLVE_BTFIDS))
            .ok()
            .and_then(|s| tree_facts::implicit_types_from_resolve_btfids(&s))
            .unwrap_or_else(|| {
                tree_facts::DEFAULT_IMPLICIT_TYPES
                    .iter()
                    .map(|s| s.to_string())
                    .collect()
            });
    for t in &opts.extra_implicit_types {
        if !implicit_types.contains(t) {
            implicit_types.push(t.clone());
        }
    }
    let kernel_version = std::fs::read_to_string(root.join("Makefile"))
        .ok()
        .and_then(|m| tree_facts::kernel_version(&m));

    let kfunc_hooks = std::fs::read_to_string(root.join(tree_facts::KFUNC_HOOKS_SOURCE))
        .map(|s| tree_facts::kfunc_hooks(&s))
        .unwrap_or_default();
    let error_nodes = files.iter().map(|f| f.error_nodes).sum();
    let mut manifest = resolve::resolve(resolve::Inputs {
        kernel_version,
        flag_values,
        implicit_types,
        files,
        diagnostics,
    });
    phase("resolve");
    manifest.kfunc_hooks = kfunc_hooks;
    manifest.stats = crate::manifest::ScanStats {
        files_read: walked.files_read,
        files_parsed,
        files_second_look: second_look_files,
        parse_error_nodes: error_nodes,
    };
    Ok(manifest)
}
