//! The command line. Exit status: 0 clean, 1 errors found (outputs still
//! written in full), 2 the tool could not run.

use clap::{Args, Parser, Subcommand};
use kfunc_scan::manifest::{Manifest, Severity};
use kfunc_scan::output::write_atomic;
use kfunc_scan::scan::{scan, ScanOptions};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::process::ExitCode;

#[derive(Parser)]
#[command(
    name = "kfunc-scan",
    version,
    about = "Lists the Linux kernel's BPF kfuncs from its source tree, as a JSON manifest",
    args_conflicts_with_subcommands = true,
    subcommand_negates_reqs = true
)]
struct Cli {
    #[command(subcommand)]
    command: Option<Command>,
    #[command(flatten)]
    scan: ScanArgs,
}

#[derive(Subcommand)]
enum Command {
    /// Scan a kernel tree and write its manifest (the default command).
    Scan(ScanArgs),
    /// Print the manifest's JSON Schema.
    Schema,
}

#[derive(Args, Clone)]
struct ScanArgs {
    /// The kernel source tree.
    #[arg(required = true)]
    tree: Option<PathBuf>,
    /// Write the manifest here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Skip paths (relative to the tree) matching this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    exclude: Vec<String>,
    /// Threads (default: one per core).
    #[arg(short, long, value_name = "N", default_value_t = 0)]
    jobs: usize,
    /// Print only errors; no progress, warnings or summary.
    #[arg(short, long)]
    quiet: bool,
    /// Read the tree-sitter queries from DIR (any `.scm` found there replaces the built-in one).
    #[arg(long, value_name = "DIR")]
    queries: Option<PathBuf>,
    /// Treat `struct NAME *` parameters as verifier-supplied under KF_IMPLICIT_ARGS; repeatable.
    #[arg(long = "implicit-type", value_name = "NAME")]
    implicit_type: Vec<String>,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Some(Command::Scan(a)) => run_scan(a),
        Some(Command::Schema) => {
            print!("{}", Manifest::json_schema());
            ExitCode::SUCCESS
        }
        None => run_scan(cli.scan),
    }
}

fn run_scan(a: ScanArgs) -> ExitCode {
    let Some(tree) = a.tree else {
        eprintln!("error[usage]: a kernel tree is required");
        return ExitCode::from(2);
    };
    let opts = ScanOptions {
        root: tree,
        exclude: a.exclude,
        jobs: a.jobs,
        queries_dir: a.queries,
        extra_implicit_types: a.implicit_type,
        progress: !a.quiet && std::io::stderr().is_terminal(),
    };
    let manifest = match scan(&opts) {
        Ok(m) => m,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
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
    if let Err(msg) = written {
        eprintln!("{msg}");
        return ExitCode::from(2);
    }
    if manifest.error_count() > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
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
            m.kfuncs.iter().filter(|k| k.magic.is_some()).count(),
            count(Severity::Error),
            count(Severity::Warning),
        );
    }
}
