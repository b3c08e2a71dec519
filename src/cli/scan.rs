//! `kfunc-scan TREE` / `kfunc-scan scan TREE`: the manifest of a tree.

use super::{CliError, Outcome};
use clap::Args;
use kfunc_scan::manifest::{Manifest, Severity};
use kfunc_scan::output::write_atomic;
use kfunc_scan::scan::{scan, ScanOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;

#[derive(Args, Clone)]
pub struct ScanArgs {
    /// The kernel source tree.
    #[arg(required = true)]
    pub tree: Option<PathBuf>,
    /// Write the manifest here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Skip paths (relative to the tree) matching this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Threads (default: one per core).
    #[arg(short, long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// Print only errors; no progress, warnings or summary.
    #[arg(short, long)]
    pub quiet: bool,
    /// Read the tree-sitter queries from DIR (any `.scm` found there replaces the built-in one).
    #[arg(long, value_name = "DIR")]
    pub queries: Option<PathBuf>,
    /// Treat `struct NAME *` parameters as verifier-supplied under KF_IMPLICIT_ARGS; repeatable.
    #[arg(long = "implicit-type", value_name = "NAME")]
    pub implicit_type: Vec<String>,
}

pub fn run(a: ScanArgs) -> Result<Outcome, CliError> {
    let Some(tree) = a.tree else {
        return Err("error[usage]: a kernel tree is required".to_string().into());
    };
    let opts = ScanOptions {
        root: tree,
        exclude: a.exclude,
        jobs: a.jobs,
        queries_dir: a.queries,
        extra_implicit_types: a.implicit_type,
        progress: !a.quiet && std::io::stderr().is_terminal(),
    };
    let manifest = scan(&opts).map_err(|e| e.to_string())?;
    report(&manifest, a.quiet);
    let json = manifest.to_json();
    let written = match &a.output {
        Some(p) => write_atomic(p, json.as_bytes())
            .map_err(|e| format!("{}: error[write]: {e}", p.display())),
        None => {
            let mut out = std::io::stdout().lock();
            out.write_all(json.as_bytes())
                .and_then(|_| out.flush())
                .map_err(|e| format!("<stdout>: error[write]: {e}"))
        }
    };
    written?;
    Ok(if manifest.error_count() > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

fn report(m: &Manifest, quiet: bool) {
    let mut err = std::io::stderr().lock();
    for d in &m.diagnostics {
        if !quiet || d.severity == Severity::Error {
            let _ = writeln!(err, "{}", d.render());
        }
    }
    if !quiet {
        let entries: usize = m.sets.iter().map(|s| s.entries.len()).sum();
        let count = |s| m.diagnostics.iter().filter(|d| d.severity == s).count();
        let _ = writeln!(
            err,
            "kfunc-scan: {} files read, {} parsed; {} sets, {} entries, {} kfuncs ({} with verifier-supplied arguments); {} errors, {} warnings",
            m.stats.files_read,
            m.stats.files_parsed + m.stats.files_second_look,
            m.sets.len(),
            entries,
            m.kfuncs.len(),
            m.kfuncs.iter().filter(|k| k.verifier_args.is_some()).count(),
            count(Severity::Error),
            count(Severity::Warning),
        );
    }
}
