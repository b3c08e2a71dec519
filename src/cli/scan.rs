//! `kfunc-scan TREE` / `kfunc-scan scan TREE`: the manifest of a tree.
//!
//! The scanner reports what it does through a callback; here that becomes
//! the progress spinner (on a terminal) and, under `KFUNC_SCAN_TIMING`, the
//! phase and per-file times on stderr. Its errors are worded here,
//! compiler-style.

use super::{CliError, Outcome};
use clap::Args;
use kfunc_scan::manifest::{Manifest, Severity};
use kfunc_scan::output::write_atomic;
use kfunc_scan::scan::queries::QueryLoadError;
use kfunc_scan::scan::{scan_with, Progress, ScanError, ScanOptions};
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

/// A scan error, compiler-style (`path: error[code]: message`).
pub fn render_error(e: &ScanError) -> String {
    match e {
        ScanError::NotADirectory(p) => format!("{}: error[no-tree]: not a directory", p.display()),
        ScanError::Query(q) => render_query_error(q),
        ScanError::BadGlob { glob, message } => {
            format!("error[bad-glob]: --exclude {glob}: {message}")
        }
        ScanError::Threads { message, .. } => format!("error[threads]: {message}"),
    }
}

fn render_query_error(e: &QueryLoadError) -> String {
    let path = e.path().display();
    match e {
        QueryLoadError::Read { source, .. } => format!("{path}: error[query-read]: {source}"),
        QueryLoadError::Syntax {
            line, col, message, ..
        } => format!("{path}:{line}:{col}: error[query-syntax]: {message}"),
        QueryLoadError::MissingCapture { capture, .. } => {
            format!("{path}: error[query-capture]: the query must capture @{capture}")
        }
    }
}

/// What the scan's progress reports become: a spinner, timing lines.
struct Display {
    spinner: Option<indicatif::ProgressBar>,
    timing: bool,
}

impl Display {
    fn new(quiet: bool) -> Display {
        let spinner = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let pb = indicatif::ProgressBar::new_spinner();
            pb.set_message("reading");
            pb
        });
        Display {
            spinner,
            timing: std::env::var_os("KFUNC_SCAN_TIMING").is_some(),
        }
    }

    fn report(&self, p: &Progress) {
        if self.timing {
            match p {
                Progress::Parsed { path, bytes, took } => {
                    eprintln!("timing: {path} {bytes} bytes {took:?}")
                }
                Progress::Done { stage, at } => eprintln!("timing: {} at {at:?}", stage.name()),
                _ => {}
            }
        }
        let Some(pb) = &self.spinner else { return };
        match p {
            Progress::Reading {
                files_read,
                files_parsed,
            } => pb.set_message(format!(
                "reading: {files_read} files read, {files_parsed} parsed"
            )),
            Progress::LookingFor { missing } => {
                pb.set_message(format!("looking for {missing} definitions"))
            }
            _ => {}
        }
        pb.tick();
    }

    fn finish(&self) {
        if let Some(pb) = &self.spinner {
            pb.finish_and_clear();
        }
    }
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
    };
    let display = Display::new(a.quiet);
    let scanned = scan_with(&opts, &|p| display.report(p));
    display.finish();
    let manifest = scanned.map_err(|e| render_error(&e))?;
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
