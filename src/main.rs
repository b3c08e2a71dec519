//! The command line. Exit status: 0 clean, 1 errors found (outputs still
//! written in full), 2 the tool could not run.

use clap::{Args, Parser, Subcommand};
use kfunc_scan::btf::Blob;
use kfunc_scan::manifest::{Manifest, Severity};
use kfunc_scan::output::{write_atomic, write_atomic_with};
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
    /// Insert the paired foo / foo_impl entries into a vmlinux or module BTF.
    PatchBtf(PatchArgs),
    /// Documentation pages (Markdown), or ebpf-docs' kfuncs.yaml.
    Docs(DocsArgs),
    /// A C header declaring every kfunc as BPF programs call it.
    Header(HeaderArgs),
    /// What changed for BPF programs between two manifests (or trees).
    Diff(DiffArgs),
    /// (Tests and benchmarks) a manifest derived from a BTF's bpf_kfunc tags.
    #[command(hide = true)]
    SynthManifest {
        #[arg(long)]
        btf: PathBuf,
    },
    /// Check a BTF (raw or ELF) with this module's validator, then with the
    /// running kernel (bpf BPF_BTF_LOAD; needs root or CAP_BPF).
    BtfCheck {
        /// The BTF to check.
        file: PathBuf,
        /// Its base, for a split BTF.
        #[arg(long, value_name = "FILE")]
        base: Option<PathBuf>,
    },
}

/// A manifest file, or a kernel tree to scan for one.
#[derive(Args)]
struct Source {
    /// The manifest `kfunc-scan TREE` wrote.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "tree",
        required_unless_present = "tree"
    )]
    manifest: Option<PathBuf>,
    /// A kernel tree to scan instead.
    #[arg(long, value_name = "DIR")]
    tree: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum DocsFormat {
    /// A page per kfunc plus indexes, in a directory.
    Markdown,
    /// ebpf-docs' data/kfuncs.yaml, in one file.
    EbpfDocs,
}

#[derive(Args)]
struct DocsArgs {
    #[command(flatten)]
    source: Source,
    /// The directory for Markdown pages; the file for ebpf-docs YAML.
    #[arg(short, long, value_name = "PATH")]
    output: PathBuf,
    #[arg(long, value_enum, default_value = "markdown")]
    format: DocsFormat,
    /// Link source locations to this URL prefix (the tree's path and `#L<line>` follow).
    #[arg(long, value_name = "URL")]
    source_url: Option<String>,
}

#[derive(Args)]
struct HeaderArgs {
    #[command(flatten)]
    source: Source,
    /// Write here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Also declare the selftests' kfuncs (defined under tools/).
    #[arg(long)]
    with_selftests: bool,
}

#[derive(Args)]
struct DiffArgs {
    /// The older manifest (or kernel tree).
    old: PathBuf,
    /// The newer manifest (or kernel tree).
    new: PathBuf,
    /// Print the differences as JSON.
    #[arg(long)]
    json: bool,
    /// Exit 1 when something a BPF program relies on was removed or changed.
    #[arg(long)]
    fail_on_breaking: bool,
    /// Also compare the selftests' kfuncs (defined under tools/).
    #[arg(long)]
    with_selftests: bool,
}

#[derive(Args)]
struct PatchArgs {
    /// The manifest `kfunc-scan TREE` wrote for this kernel.
    #[arg(long, value_name = "FILE")]
    manifest: PathBuf,
    /// Raw BTF (`/sys/kernel/btf/vmlinux`, a dumped .BTF) or an ELF object with a .BTF section.
    #[arg(long, value_name = "FILE")]
    btf: PathBuf,
    /// Where to write the result (same format as the input).
    #[arg(short, long, value_name = "FILE", required_unless_present = "in_place")]
    output: Option<PathBuf>,
    /// Replace the input (atomically).
    #[arg(long, conflicts_with = "output")]
    in_place: bool,
    /// The base BTF of a split BTF (a module's BTF on top of vmlinux).
    #[arg(long, value_name = "FILE")]
    base: Option<PathBuf>,
    /// Add `bpf_kfunc` (and `bpf_fastcall` for KF_FASTCALL) decl tags where missing.
    #[arg(long)]
    add_decl_tags: bool,
    /// A kfunc of the manifest missing from the BTF is an error.
    #[arg(long)]
    strict: bool,
    /// Write a JSON summary here.
    #[arg(long, value_name = "FILE")]
    report: Option<PathBuf>,
    /// Print only errors.
    #[arg(short, long)]
    quiet: bool,
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
        Some(Command::PatchBtf(a)) => run_patch(a),
        Some(Command::Docs(a)) => run_docs(a),
        Some(Command::Header(a)) => run_header(a),
        Some(Command::Diff(a)) => run_diff(a),
        Some(Command::SynthManifest { btf }) => {
            let parsed = read_btf_file(&btf).and_then(|(raw, _)| {
                kfunc_scan::btf::Btf::parse_blob(raw, None)
                    .map_err(|e| format!("{}: error[btf]: {e}", btf.display()))
            });
            match parsed {
                Ok(b) => {
                    print!("{}", kfunc_scan::synth::manifest_from_btf(&b).to_json());
                    ExitCode::SUCCESS
                }
                Err(msg) => {
                    eprintln!("{msg}");
                    ExitCode::from(2)
                }
            }
        }
        Some(Command::BtfCheck { file, base }) => run_btf_check(&file, base.as_deref()),
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

/// A BTF blob from a raw file (mapped) or an ELF object's .BTF section;
/// with the ELF object's bytes when it is one.
fn read_btf_file(path: &std::path::Path) -> Result<(Blob, Vec<u8>), String> {
    let blob = Blob::map(path).map_err(|e| format!("{}: error[read]: {e}", path.display()))?;
    if kfunc_scan::btf::elf::is_elf(&blob) {
        let btf = kfunc_scan::btf::elf::read_btf(&blob)
            .map_err(|e| format!("{}: error[elf]: {e}", path.display()))?;
        Ok((Blob::Owned(btf), blob.to_vec()))
    } else {
        Ok((blob, Vec::new()))
    }
}

fn run_patch(a: PatchArgs) -> ExitCode {
    let t0 = std::time::Instant::now();
    let timing = std::env::var_os("KFUNC_SCAN_TIMING").is_some();
    let phase = |name: &str| {
        if timing {
            eprintln!("timing: {name} at {:?}", t0.elapsed());
        }
    };
    use kfunc_scan::btf::Btf;
    use kfunc_scan::patch::{patch, PatchError, PatchOptions};
    let fail = |msg: String| {
        eprintln!("{msg}");
        ExitCode::from(2)
    };
    let text = match std::fs::read_to_string(&a.manifest) {
        Ok(t) => t,
        Err(e) => return fail(format!("{}: error[read]: {e}", a.manifest.display())),
    };
    let manifest = match Manifest::from_json(&text) {
        Ok(m) => m,
        Err(e) => {
            return fail(format!(
                "{}:{}:{}: error[manifest]: {e}",
                a.manifest.display(),
                e.line(),
                e.column()
            ))
        }
    };
    phase("manifest");
    let base = match &a.base {
        None => None,
        Some(p) => match read_btf_file(p) {
            Err(msg) => return fail(msg),
            Ok((raw, _)) => match Btf::parse_blob(raw, None) {
                Ok(b) => Some(b),
                Err(e) => return fail(format!("{}: error[btf]: {e}", p.display())),
            },
        },
    };
    let (raw, elf) = match read_btf_file(&a.btf) {
        Ok(x) => x,
        Err(msg) => return fail(msg),
    };
    let mut btf = match Btf::parse_blob(raw, base) {
        Ok(b) => b,
        Err(e) => return fail(format!("{}: error[btf]: {e}", a.btf.display())),
    };
    phase("btf parsed");
    let opts = PatchOptions {
        add_decl_tags: a.add_decl_tags,
        strict: a.strict,
    };
    let report = match patch(&mut btf, &manifest, &opts) {
        Ok(r) => r,
        Err(PatchError::Refused(list)) => {
            for r in list {
                eprintln!("{}: error[refused]: {r}", a.btf.display());
            }
            eprintln!("{}: nothing written", a.btf.display());
            return ExitCode::from(1);
        }
        Err(e) => return fail(format!("{}: error[btf]: {e}", a.btf.display())),
    };
    phase("patched");
    let target = a.output.clone().unwrap_or_else(|| a.btf.clone());
    let written = if elf.is_empty() {
        // raw BTF: streamed from its parts, never copied whole
        write_atomic_with(&target, |w| btf.write_to(w))
    } else {
        match kfunc_scan::btf::elf::replace_btf(&elf, btf.to_bytes()) {
            Ok(b) => write_atomic(&target, &b),
            Err(e) => return fail(format!("{}: error[elf]: {e}", a.btf.display())),
        }
    };
    if let Err(e) = written {
        return fail(format!("{}: error[write]: {e}", target.display()));
    }
    phase("written");
    if let Some(r) = &a.report {
        let mut json = serde_json::to_string_pretty(&report).unwrap_or_default();
        json.push('\n');
        if let Err(e) = write_atomic(r, json.as_bytes()) {
            return fail(format!("{}: error[write]: {e}", r.display()));
        }
    }
    if !a.quiet {
        for w in &report.warnings {
            eprintln!("{}: warning[patch]: {w}", a.btf.display());
        }
        eprintln!(
            "kfunc-scan patch-btf: {} pairs added, {} legacy pairs, {} already patched, {} decl tags added, {} kfuncs not in this BTF; types {} -> {}",
            report.pairs_added.len(),
            report.legacy_pairs.len(),
            report.already_patched.len(),
            report.decl_tags_added.len(),
            report.missing.len(),
            report.types_before,
            report.types_after
        );
    }
    ExitCode::SUCCESS
}

/// Exit 0: the kernel accepted it; 1: rejected (by us or the kernel); 2:
/// unreadable, or the kernel could not be asked (the reason is printed).
fn run_btf_check(file: &std::path::Path, base: Option<&std::path::Path>) -> ExitCode {
    use kfunc_scan::btf::{kernel, Btf};
    let parse = |p: &std::path::Path, base: Option<Btf>| -> Result<Btf, (u8, String)> {
        let (raw, _) = read_btf_file(p).map_err(|m| (2, m))?;
        Btf::parse_blob(raw, base).map_err(|e| (1, format!("{}: error[btf]: {e}", p.display())))
    };
    let base = match base.map(|b| parse(b, None)).transpose() {
        Ok(b) => b,
        Err((code, msg)) => {
            eprintln!("{msg}");
            return ExitCode::from(code);
        }
    };
    let btf = match parse(file, base) {
        Ok(b) => b,
        Err((code, msg)) => {
            eprintln!("{msg}");
            return ExitCode::from(code);
        }
    };
    match kernel::load(&kernel::standalone(&btf)) {
        Ok(()) => {
            println!(
                "{}: accepted by the running kernel ({} types)",
                file.display(),
                btf.end_id() - 1
            );
            ExitCode::SUCCESS
        }
        Err(kernel::LoadError::Unavailable(why)) => {
            eprintln!(
                "{}: note[btf-check]: valid BTF here, but the kernel cannot be asked: {why}",
                file.display()
            );
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("{}: error[kernel]: {e}", file.display());
            ExitCode::from(1)
        }
    }
}

/// A manifest from a JSON file, or from scanning a tree (a directory).
fn load_manifest(path: &std::path::Path) -> Result<Manifest, String> {
    if path.is_dir() {
        let opts = ScanOptions {
            root: path.to_path_buf(),
            ..Default::default()
        };
        return scan(&opts).map_err(|e| e.to_string());
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: error[read]: {e}", path.display()))?;
    Manifest::from_json(&text).map_err(|e| {
        format!(
            "{}:{}:{}: error[manifest]: {e}",
            path.display(),
            e.line(),
            e.column()
        )
    })
}

fn load_source(s: &Source) -> Result<Manifest, String> {
    match (&s.manifest, &s.tree) {
        (Some(m), _) => load_manifest(m),
        (None, Some(t)) if t.is_dir() => load_manifest(t),
        (None, Some(t)) => Err(format!("{}: error[no-tree]: not a directory", t.display())),
        (None, None) => Err("error[usage]: --manifest or --tree is required".into()),
    }
}

fn run_docs(a: DocsArgs) -> ExitCode {
    let m = match load_source(&a.source) {
        Ok(m) => m,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    match a.format {
        DocsFormat::EbpfDocs => {
            let target = if a.output.is_dir() {
                a.output.join("kfuncs.yaml")
            } else {
                a.output.clone()
            };
            if let Err(e) = write_atomic(&target, kfunc_scan::docs::ebpf_docs_yaml(&m).as_bytes()) {
                eprintln!("{}: error[write]: {e}", target.display());
                return ExitCode::from(2);
            }
            ExitCode::SUCCESS
        }
        DocsFormat::Markdown => {
            match write_pages(
                &a.output,
                &kfunc_scan::docs::markdown(&m, a.source_url.as_deref()),
            ) {
                Ok((written, removed)) => {
                    eprintln!("kfunc-scan docs: {written} pages written to {}, {removed} stale pages removed", a.output.display());
                    ExitCode::SUCCESS
                }
                Err(msg) => {
                    eprintln!("{msg}");
                    ExitCode::from(2)
                }
            }
        }
    }
}

/// Writes each page atomically and removes pages a previous run generated
/// that this one did not (recognised by their first line), so that a docs
/// repository sees removals as such.
fn write_pages(
    dir: &std::path::Path,
    pages: &std::collections::BTreeMap<String, String>,
) -> Result<(usize, usize), String> {
    let err =
        |p: &std::path::Path, e: std::io::Error| format!("{}: error[write]: {e}", p.display());
    for (rel, text) in pages {
        let path = dir.join(rel);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(|e| err(parent, e))?;
        }
        write_atomic(&path, text.as_bytes()).map_err(|e| err(&path, e))?;
    }
    let mut removed = 0;
    for sub in ["", "kfuncs", "sets", "program-types"] {
        let Ok(entries) = std::fs::read_dir(dir.join(sub)) else {
            continue;
        };
        let mut stale: Vec<PathBuf> = Vec::new();
        for e in entries.flatten() {
            let path = e.path();
            let rel = path
                .strip_prefix(dir)
                .map(|r| r.to_string_lossy().replace('\\', "/"))
                .unwrap_or_default();
            let ours = path.extension().is_some_and(|x| x == "md")
                && std::fs::read_to_string(&path)
                    .is_ok_and(|t| t.lines().next() == Some(kfunc_scan::docs::MARKER));
            if ours && !pages.contains_key(&rel) {
                stale.push(path);
            }
        }
        stale.sort();
        for p in stale {
            std::fs::remove_file(&p).map_err(|e| err(&p, e))?;
            removed += 1;
        }
    }
    Ok((pages.len(), removed))
}

fn run_header(a: HeaderArgs) -> ExitCode {
    let m = match load_source(&a.source) {
        Ok(m) => m,
        Err(msg) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let opts = kfunc_scan::header::HeaderOptions {
        with_selftests: a.with_selftests,
    };
    let text = kfunc_scan::header::header(&m, &opts);
    let res = match &a.output {
        Some(p) => write_atomic(p, text.as_bytes())
            .map_err(|e| format!("{}: error[write]: {e}", p.display())),
        None => std::io::stdout()
            .write_all(text.as_bytes())
            .map_err(|e| format!("<stdout>: error[write]: {e}")),
    };
    match res {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}

fn run_diff(a: DiffArgs) -> ExitCode {
    let (old, new) = match (load_manifest(&a.old), load_manifest(&a.new)) {
        (Ok(o), Ok(n)) => (o, n),
        (Err(msg), _) | (_, Err(msg)) => {
            eprintln!("{msg}");
            return ExitCode::from(2);
        }
    };
    let d = kfunc_scan::diff::diff(&old, &new, a.with_selftests);
    let text = if a.json {
        let mut s = serde_json::to_string_pretty(&d).unwrap_or_default();
        s.push('\n');
        s
    } else {
        kfunc_scan::diff::report(&d)
    };
    if std::io::stdout().write_all(text.as_bytes()).is_err() {
        return ExitCode::from(2);
    }
    if a.fail_on_breaking && d.breaking > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}
