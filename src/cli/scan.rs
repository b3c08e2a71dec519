//! `kfunc-scan TREE` / `kfunc-scan scan TREE`: the manifest of a tree.
//!
//! The scanner reports what it does through a callback; here that becomes
//! the progress spinner (on a terminal) and, under `KFUNC_SCAN_TIMING`, the
//! phase and per-file times on stderr. Its errors are worded here,
//! compiler-style.

use super::{CliError, Outcome};
use clap::Args;
use kfunc_scan::manifest::{term, Manifest, Severity};
use kfunc_scan::scan::queries::QueryLoadError;
use kfunc_scan::scan::{scan_cached, scan_with, Progress, ScanError, ScanOptions, Stage};
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
    #[command(flatten)]
    pub how: HowArgs,
    /// No progress, notes or summary on stderr; warnings and errors are still printed.
    #[arg(short, long)]
    pub quiet: bool,
    /// A kernel .config: the manifest then says which object (vmlinux or a
    /// module) holds each set and kfunc, and which entries the build compiles.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// The architecture whose Kbuild is followed with --config (needs
    /// --config; `make ARCH=` spelling: x86_64, arm64, riscv, …).
    #[arg(long, value_name = "ARCH", default_value = kfunc_scan::scan::DEFAULT_ARCH, requires = "config")]
    pub arch: String,
    /// Keep what the scan makes of each file in DIR (made when missing), and
    /// read again only the files changed since: the manifest is the same.
    #[arg(long, value_name = "DIR")]
    pub cache: Option<PathBuf>,
    /// TREE is an out-of-tree module's directory (`make M=TREE`) built
    /// against the kernel tree DIR: the release, flag values and the other
    /// tree-wide facts are read in DIR, the sets and kfuncs in TREE.
    #[arg(long, value_name = "DIR", conflicts_with = "config")]
    pub kernel_tree: Option<PathBuf>,
}

/// How a tree is scanned, wherever it is read from (`scan`, `history --git`).
#[derive(Args, Clone)]
pub struct HowArgs {
    /// Skip paths (relative to the tree) matching this glob; repeatable.
    #[arg(long, value_name = "GLOB")]
    pub exclude: Vec<String>,
    /// Threads: 0 (the default) is one per core; at most 64.
    #[arg(short, long, value_name = "N", default_value_t = 0)]
    pub jobs: usize,
    /// Read the tree-sitter queries from DIR (any `.scm` found there replaces the built-in one).
    #[arg(long, value_name = "DIR")]
    pub queries: Option<PathBuf>,
    /// Treat `struct NAME *` parameters as verifier-supplied under KF_IMPLICIT_ARGS; repeatable.
    #[arg(long = "implicit-type", value_name = "NAME")]
    pub implicit_type: Vec<String>,
    /// Scan TREE even if it holds no kernel tree (no top Makefile with VERSION).
    #[arg(long)]
    pub any_directory: bool,
}

impl HowArgs {
    /// The scan's options for the tree at (or named) `root`.
    pub fn options(self, root: PathBuf) -> ScanOptions {
        ScanOptions {
            root,
            exclude: self.exclude,
            jobs: self.jobs,
            queries_dir: self.queries,
            extra_implicit_types: self.implicit_type,
            any_directory: self.any_directory,
            ..Default::default()
        }
    }
}

/// A scan error, compiler-style (`path: error[code]: message`).
pub fn render_error(e: &ScanError) -> String {
    match e {
        ScanError::NotADirectory(p) => format!("{}: error[no-tree]: not a directory", term::path(p)),
        ScanError::NotAKernelTree(p) => format!(
            "{}: error[no-kernel-tree]: not a kernel tree: no top Makefile with a VERSION line (--any-directory scans it anyway)",
            term::path(p)
        ),
        ScanError::TooManyJobs { jobs, max } => format!(
            "error[usage]: --jobs {jobs}: at most {max} threads (0, the default, is one per core)"
        ),
        ScanError::Query(q) => render_query_error(q),
        ScanError::BadGlob { glob, message } => {
            format!(
                "error[bad-glob]: --exclude {}: {}",
                term::escape(glob),
                term::escape(message)
            )
        }
        ScanError::Threads { message, .. } => format!("error[threads]: {message}"),
        ScanError::Config { path, message } => {
            format!(
                "{}: error[config]: {}",
                term::path(path),
                term::escape(message)
            )
        }
    }
}

fn render_query_error(e: &QueryLoadError) -> String {
    let path = term::path(e.path());
    match e {
        QueryLoadError::Read { source, .. } => format!("{path}: error[query-read]: {source}"),
        QueryLoadError::Syntax {
            line, col, message, ..
        } => format!(
            "{path}:{line}:{col}: error[query-syntax]: {}",
            term::escape(message)
        ),
        QueryLoadError::MissingCapture { capture, .. } => {
            format!("{path}: error[query-capture]: the query must capture @{capture}")
        }
        QueryLoadError::TooLarge { size, bound, .. } => format!(
            "{path}: error[query-read]: not a regular file of at most {bound} bytes (MAX_QUERY_FILE_SIZE): {size} bytes"
        ),
    }
}

/// What the scan's progress reports become: a spinner, timing lines.
pub struct Display {
    spinner: Option<indicatif::ProgressBar>,
    timing: bool,
}

impl Display {
    pub fn new(quiet: bool) -> Display {
        let spinner = (!quiet && std::io::stderr().is_terminal()).then(|| {
            let pb = indicatif::ProgressBar::new_spinner();
            pb.set_message("reading the tree");
            pb
        });
        Display {
            spinner,
            timing: std::env::var_os("KFUNC_SCAN_TIMING").is_some(),
        }
    }

    pub fn report(&self, p: &Progress) {
        if self.timing {
            match p {
                Progress::Parsed { path, bytes, took } => {
                    eprintln!("timing: {} {bytes} bytes {took:?}", term::escape(path))
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
            Progress::LookingFor { missing } => pb.set_message(format!(
                "second look: searching the files not parsed for {missing} missing definitions"
            )),
            Progress::Done { stage, .. } if *stage == Stage::SecondLook => {
                pb.set_message("reading the flag values and the hook table; resolving")
            }
            _ => {}
        }
        pb.tick();
    }

    pub fn finish(&self) {
        if let Some(pb) = &self.spinner {
            pb.finish_and_clear();
        }
    }
}

pub fn run(a: ScanArgs) -> Result<Outcome, CliError> {
    let Some(tree) = a.tree else {
        return Err("error[usage]: a kernel tree is required".to_string().into());
    };
    if a.config.is_some() {
        check_arch(&tree, &a.arch)?;
    }
    let opts = ScanOptions {
        config: a.config,
        arch: a.arch,
        kernel_tree: a.kernel_tree,
        ..a.how.options(tree.clone())
    };
    // where the manifest goes is checked before the scan, not after it
    let dash = PathBuf::from("-");
    let output = super::check_outputs(&[a.output.as_ref().unwrap_or(&dash)])?.remove(0);
    let display = Display::new(a.quiet);
    let scanned = match &a.cache {
        None => scan_with(&opts, &|p| display.report(p)).map(|m| (m, None)),
        Some(dir) => scan_cached(&opts, dir, &|p| display.report(p)).map(|(m, r)| (m, Some(r))),
    };
    display.finish();
    let (manifest, cached) = scanned.map_err(|e| render_error(&e))?;
    if let Some(r) = cached {
        report_cache(&r, display.timing);
    }
    report(&manifest, &tree, a.quiet);
    super::write_output(&output, manifest.to_json().as_bytes())?;
    Ok(if manifest.error_count() > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}

/// The cache's warnings (a cache ignored, or not written: the scan went
/// on without it), and under `KFUNC_SCAN_TIMING` what it saved.
fn report_cache(r: &kfunc_scan::scan::cache::Report, timing: bool) {
    let mut err = std::io::stderr().lock();
    for w in &r.warnings {
        let _ = writeln!(err, "{w}");
    }
    if timing {
        let _ = writeln!(
            err,
            "timing: cache {}: {} directories listed, {} trusted; {} files read, {} taken from it; {}",
            if r.used { "used" } else { "not used" },
            r.dirs_listed,
            r.dirs_trusted,
            r.files_read,
            r.files_hit,
            if r.written { "written" } else { "not written" },
        );
        let _ = writeln!(
            err,
            "timing: cache read in {:?}, written in {:?}",
            r.read_took, r.write_took
        );
        use kfunc_scan::scan::cache::MemoUse;
        let memo = match r.memo {
            MemoUse::NotUsed => "not used",
            MemoUse::Walked => "used (the walk found nothing changed)",
            MemoUse::Quick => "used (the watcher vouched for the tree)",
        };
        let _ = writeln!(err, "timing: memo {memo}");
        let watcher = match r.watcher {
            None => "none".to_string(),
            Some(None) => "could not say what changed".to_string(),
            Some(Some(n)) => format!("{n} paths changed"),
        };
        let _ = writeln!(err, "timing: watcher {watcher}");
    }
}

/// `ARCH`s the top Makefile maps to another `arch/` directory (its
/// `SRCARCH`), as `make ARCH=` takes them.
const ARCH_ALIASES: &[(&str, &str)] = &[
    ("x86_64", "x86"),
    ("i386", "x86"),
    ("sparc32", "sparc"),
    ("sparc64", "sparc"),
    ("parisc64", "parisc"),
    ("sh64", "sh"),
    ("tilepro", "tile"),
    ("tilegx", "tile"),
];

/// An `--arch` the tree has (`arch/ARCH`, or its `SRCARCH`): a misspelt
/// one would only make Kbuild's `include arch/$(SRCARCH)/Makefile` fail
/// later as a warning, and the build view come out empty.
fn check_arch(tree: &std::path::Path, arch: &str) -> Result<(), CliError> {
    let dir = ARCH_ALIASES
        .iter()
        .find(|(a, _)| *a == arch)
        .map_or(arch, |(_, d)| *d);
    let ok = !dir.is_empty()
        && dir.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && tree.join("arch").join(dir).is_dir();
    if ok {
        return Ok(());
    }
    let mut known: Vec<String> = std::fs::read_dir(tree.join("arch"))
        .map(|rd| {
            rd.filter_map(|e| e.ok())
                .filter(|e| e.path().is_dir())
                .filter_map(|e| e.file_name().to_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    known.extend(ARCH_ALIASES.iter().map(|(a, _)| a.to_string()));
    known.sort();
    let near = kfunc_scan::avail::nearest(arch, &known).into_iter().next();
    let hint = match near {
        Some(n) => format!("; did you mean `{n}`?"),
        None if known.is_empty() => " (the tree has no arch/ directory)".to_string(),
        None => String::new(),
    };
    Err(format!(
        "error[usage]: unknown architecture `{}`: the tree has no arch/{} directory{hint}",
        term::escape(arch),
        term::escape(dir)
    )
    .into())
}

/// The diagnostic code of links to directories, summarised on one line.
const SYMLINK_NOTE: &str = "symlink-not-followed";

/// A tree scanned for another command (`diff`, `docs --tree`, `header
/// --tree`, `lint-docs --tree`) as `scan` scans it: the spinner, the
/// diagnostics with the links collapsed, one summary line naming the tree.
pub fn scan_for(opts: &ScanOptions, quiet: bool) -> Result<Manifest, String> {
    let display = Display::new(quiet);
    let scanned = scan_with(opts, &|p| display.report(p));
    display.finish();
    let m = scanned.map_err(|e| render_error(&e))?;
    report_named(&m, &opts.root, quiet, true);
    Ok(m)
}

/// Diagnostics on stderr: errors and warnings always, notes and the summary
/// unless quiet. Links not followed (a dozen on every kernel tree) are one
/// line; the manifest lists each.
fn report(m: &Manifest, tree: &std::path::Path, quiet: bool) {
    report_named(m, tree, quiet, false)
}

/// [`report`]; `name_tree`: the summary names the tree (a command that
/// scans two says which is which).
fn report_named(m: &Manifest, tree: &std::path::Path, quiet: bool, name_tree: bool) {
    let mut err = std::io::stderr().lock();
    let links: Vec<std::borrow::Cow<'_, str>> = m
        .diagnostics
        .iter()
        .filter(|d| d.code == SYMLINK_NOTE)
        .map(|d| term::escape(&d.file))
        .collect();
    for d in &m.diagnostics {
        let shown = !quiet || d.severity != Severity::Note;
        if shown && !(d.code == SYMLINK_NOTE && links.len() > 1) {
            let _ = writeln!(err, "{}", d.render());
        }
    }
    if !quiet && links.len() > 1 {
        let mut named = links[..3.min(links.len())].join(", ");
        if links.len() > 3 {
            named.push_str(&format!(" and {} more", links.len() - 3));
        }
        let _ = writeln!(
            err,
            "{}: note[{SYMLINK_NOTE}]: {} links to directories not followed ({named}; the manifest lists each)",
            term::path(tree),
            links.len(),
        );
    }
    if !quiet {
        let entries: usize = m.sets.iter().map(|s| s.entries.len()).sum();
        let count = |s| m.diagnostics.iter().filter(|d| d.severity == s).count();
        let named = if name_tree {
            format!("{}: ", term::path(tree))
        } else {
            String::new()
        };
        // with a build view, how many of them the .config compiles: the
        // count header, docs and lint-docs start from
        let built = match &m.build {
            Some(_) => format!("{} built by the .config, ", m.built_only().kfuncs.len()),
            None => String::new(),
        };
        let _ = writeln!(
            err,
            "kfunc-scan: {named}{} read, {} parsed; {}, {}, {} ({built}{} with verifier-supplied arguments); {}, {}",
            counted(m.stats.files_read, "file"),
            m.stats.files_parsed + m.stats.files_second_look,
            counted(m.sets.len(), "set"),
            counted(entries, "entry"),
            counted(m.kfuncs.len(), "kfunc"),
            m.kfuncs.iter().filter(|k| k.verifier_args.is_some()).count(),
            counted(count(Severity::Error), "error"),
            counted(count(Severity::Warning), "warning"),
        );
    }
}

/// `1 file`, `2 files`, `3 entries`.
fn counted(n: usize, noun: &str) -> String {
    match (n, noun.strip_suffix('y')) {
        (1, _) => format!("1 {noun}"),
        (_, Some(stem)) => format!("{n} {stem}ies"),
        _ => format!("{n} {noun}s"),
    }
}
