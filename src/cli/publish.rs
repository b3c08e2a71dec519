//! The commands that publish a manifest: `docs`, `header` and `diff`.

use super::{CliError, Outcome};
use clap::Args;
use kfunc_scan::manifest::Manifest;
use kfunc_scan::output::write_atomic;
use kfunc_scan::scan::{scan, ScanOptions};
use std::io::Write;
use std::path::PathBuf;

/// A manifest file, or a kernel tree to scan for one.
#[derive(Args)]
pub struct Source {
    /// The manifest `kfunc-scan TREE` wrote.
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "tree",
        required_unless_present = "tree"
    )]
    pub manifest: Option<PathBuf>,
    /// A kernel tree to scan instead.
    #[arg(long, value_name = "DIR")]
    pub tree: Option<PathBuf>,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum DocsFormat {
    /// A page per kfunc plus indexes, in a directory.
    Markdown,
    /// ebpf-docs' data/kfuncs.yaml, in one file.
    EbpfDocs,
}

#[derive(Args)]
pub struct DocsArgs {
    #[command(flatten)]
    pub source: Source,
    /// The directory for Markdown pages; the file for ebpf-docs YAML.
    #[arg(short, long, value_name = "PATH")]
    pub output: PathBuf,
    #[arg(long, value_enum, default_value = "markdown")]
    pub format: DocsFormat,
    /// Link source locations to this URL prefix (the tree's path and `#L<line>` follow).
    #[arg(long, value_name = "URL")]
    pub source_url: Option<String>,
}

#[derive(Args)]
pub struct HeaderArgs {
    /// The manifest `kfunc-scan TREE` wrote (with --btf: program types and
    /// KF_ARENA_* flags, and the kfuncs' names in a BTF without decl tags).
    #[arg(
        long,
        value_name = "FILE",
        conflicts_with = "tree",
        required_unless_present_any = ["tree", "btf"]
    )]
    pub manifest: Option<PathBuf>,
    /// A kernel tree to scan instead.
    #[arg(long, value_name = "DIR", conflicts_with = "btf")]
    pub tree: Option<PathBuf>,
    /// A header from a kernel's BTF: --btf, --base, --kfuncs, --prog-type.
    #[command(flatten)]
    pub btf: super::avail::BtfHeaderArgs,
    /// Write here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also declare the selftests' kfuncs (defined under tools/).
    #[arg(long)]
    pub with_selftests: bool,
}

#[derive(Args)]
pub struct DiffArgs {
    /// The older manifest (or kernel tree).
    pub old: PathBuf,
    /// The newer manifest (or kernel tree).
    pub new: PathBuf,
    /// Print the differences as JSON.
    #[arg(long)]
    pub json: bool,
    /// Exit 1 when something a BPF program relies on was removed or changed.
    #[arg(long)]
    pub fail_on_breaking: bool,
    /// Also compare the selftests' kfuncs (defined under tools/).
    #[arg(long)]
    pub with_selftests: bool,
}

/// A manifest from a JSON file, or from scanning a tree (a directory).
fn load_manifest(path: &std::path::Path) -> Result<Manifest, String> {
    if path.is_dir() {
        let opts = ScanOptions {
            root: path.to_path_buf(),
            ..Default::default()
        };
        return scan(&opts).map_err(|e| super::scan::render_error(&e));
    }
    super::read_manifest_file(path)
}

fn load_source(s: &Source) -> Result<Manifest, String> {
    match (&s.manifest, &s.tree) {
        (Some(m), _) => load_manifest(m),
        (None, Some(t)) if t.is_dir() => load_manifest(t),
        (None, Some(t)) => Err(format!("{}: error[no-tree]: not a directory", t.display())),
        (None, None) => Err("error[usage]: --manifest or --tree is required".into()),
    }
}

pub fn run_docs(a: DocsArgs) -> Result<Outcome, CliError> {
    let m = load_source(&a.source)?;
    match a.format {
        DocsFormat::EbpfDocs => {
            let target = if a.output.is_dir() {
                a.output.join("kfuncs.yaml")
            } else {
                a.output.clone()
            };
            write_atomic(&target, kfunc_scan::docs::ebpf_docs_yaml(&m).as_bytes())
                .map_err(|e| format!("{}: error[write]: {e}", target.display()))?;
            Ok(Outcome::Clean)
        }
        DocsFormat::Markdown => {
            let pages = kfunc_scan::docs::markdown(&m, a.source_url.as_deref());
            let w = kfunc_scan::docs::write_pages(&a.output, &pages)
                .map_err(|e| format!("{}: error[write]: {}", e.path.display(), e.source))?;
            eprintln!(
                "kfunc-scan docs: {} pages written to {}, {} stale pages removed",
                w.written,
                a.output.display(),
                w.removed
            );
            Ok(Outcome::Clean)
        }
    }
}

pub fn run_header(a: HeaderArgs) -> Result<Outcome, CliError> {
    if a.btf.btf.is_some() {
        return super::avail::run_btf_header(&a.btf, a.manifest.as_deref(), a.output.as_deref());
    }
    let m = load_source(&Source {
        manifest: a.manifest,
        tree: a.tree,
    })?;
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
    res?;
    Ok(Outcome::Clean)
}

pub fn run_diff(a: DiffArgs) -> Result<Outcome, CliError> {
    let (old, new) = (load_manifest(&a.old)?, load_manifest(&a.new)?);
    let d = kfunc_scan::diff::diff(&old, &new, a.with_selftests);
    let text = if a.json {
        let mut s = serde_json::to_string_pretty(&d).unwrap_or_default();
        s.push('\n');
        s
    } else {
        kfunc_scan::diff::report(&d)
    };
    std::io::stdout()
        .write_all(text.as_bytes())
        .map_err(|e| format!("<stdout>: error[write]: {e}"))?;
    Ok(if a.fail_on_breaking && d.breaking > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    })
}
