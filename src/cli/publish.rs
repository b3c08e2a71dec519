//! The commands that publish a manifest: `docs`, `header` and `diff`.

use super::manual::plural;
use super::{CliError, Outcome};
use clap::Args;
use kfunc_scan::manifest::history::History;
use kfunc_scan::manifest::kversion;
use kfunc_scan::manifest::{term, Manifest};
use kfunc_scan::output::Destination;
use kfunc_scan::scan::ScanOptions;
use std::path::{Path, PathBuf};

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
    /// With a manifest made with --config, also what that build does not
    /// compile (by default only what it builds is published).
    #[arg(long)]
    pub with_unbuilt: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum DocsFormat {
    /// A page per kfunc plus indexes, in a directory.
    Markdown,
    /// ebpf-docs' data/kfuncs.yaml, in one file.
    EbpfDocs,
    /// A static HTML site (no server, no external assets), in a directory.
    Html,
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
    /// Link source locations: a template with {path} and {line}
    /// ('https://git.kernel.org/pub/scm/linux/kernel/git/stable/linux.git/tree/{path}?h=v6.12#n{line}',
    /// 'https://github.com/torvalds/linux/blob/v6.12/{path}#L{line}'), or a
    /// prefix the tree's path and `#L<line>` follow.
    #[arg(long, value_name = "URL")]
    pub source_url: Option<String>,
    /// Also document the selftests' kfuncs (under tools/, and
    /// net/bpf/test_run.c's test set).
    #[arg(long)]
    pub with_selftests: bool,
    /// A history (`kfunc-scan history`): pages say since when each kfunc
    /// exists, the YAML's program types carry since / until.
    #[arg(long, value_name = "FILE")]
    pub history: Option<PathBuf>,
    /// No summary line (warnings and errors are still printed).
    #[arg(short, long)]
    pub quiet: bool,
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
    /// With a manifest made with --config, also what that build does not
    /// compile (by default only what it builds is published).
    #[arg(long)]
    pub with_unbuilt: bool,
    /// A header from a kernel's BTF: --btf, --base, --kfuncs, --prog-type.
    #[command(flatten)]
    pub btf: super::avail::BtfHeaderArgs,
    /// Write here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Also declare the selftests' kfuncs (defined under tools/).
    #[arg(long)]
    pub with_selftests: bool,
    /// No progress, notes or summary from a tree's scan; warnings and
    /// errors are still printed.
    #[arg(short, long)]
    pub quiet: bool,
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
    /// Write here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// No progress, notes or summary from a tree's scan; warnings and
    /// errors are still printed.
    #[arg(short, long)]
    pub quiet: bool,
}

/// A manifest, and how its scan went when it came from a tree.
pub(super) struct Loaded {
    pub(super) manifest: Manifest,
    /// Clean, or Findings when a scan found errors (already printed).
    pub(super) outcome: Outcome,
    /// Kfuncs left out because the build view does not compile them
    /// (without `--with-unbuilt`): counts say so.
    pub(super) unbuilt: usize,
}

/// A manifest from a JSON file, or from scanning a kernel tree (a
/// directory), whose diagnostics are printed as `scan` prints them.
fn load_manifest(path: &Path, quiet: bool) -> Result<Loaded, String> {
    if !path.is_dir() {
        return Ok(Loaded {
            manifest: super::read_manifest_file(path)?,
            outcome: Outcome::Clean,
            unbuilt: 0,
        });
    }
    let opts = ScanOptions {
        root: path.to_path_buf(),
        ..Default::default()
    };
    let manifest = super::scan::scan_for(&opts, quiet)?;
    let outcome = if manifest.error_count() > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    Ok(Loaded {
        manifest,
        outcome,
        unbuilt: 0,
    })
}

pub(super) fn load_source(s: &Source, quiet: bool) -> Result<Loaded, String> {
    let mut loaded = match (&s.manifest, &s.tree) {
        (Some(m), _) => load_manifest(m, quiet)?,
        (None, Some(t)) if t.is_dir() => load_manifest(t, quiet)?,
        (None, Some(t)) => {
            return Err(format!(
                "{}: error[no-tree]: not a directory",
                term::path(t)
            ))
        }
        (None, None) => return Err("error[usage]: --manifest or --tree is required".into()),
    };
    if !s.with_unbuilt {
        let all = loaded.manifest.kfuncs.len();
        loaded.manifest = loaded.manifest.built_only();
        loaded.unbuilt = all.saturating_sub(loaded.manifest.kfuncs.len());
    }
    Ok(loaded)
}

/// A warning when OLD is a newer kernel than NEW: the diff is then read
/// backwards (what NEW lacks shows as removed). Still printed, as asked:
/// going back to an older kernel is a question people ask.
fn reversed_versions(
    old_path: &Path,
    old: &Manifest,
    new_path: &Path,
    new: &Manifest,
) -> Option<String> {
    let (ov, nv) = (
        old.kernel_version.as_deref()?,
        new.kernel_version.as_deref()?,
    );
    (kversion::compare(ov, nv)? == std::cmp::Ordering::Greater).then(|| {
        format!(
            "{}: warning[version-order]: OLD is kernel {ov}, newer than NEW ({}: kernel {nv}): \
             the changes below read from the newer to the older; swap the two to see what {nv} → {ov} brought",
            term::path(old_path),
            term::path(new_path),
        )
    })
}

/// The worse of two outcomes.
fn worse(a: Outcome, b: Outcome) -> Outcome {
    if a == Outcome::Findings || b == Outcome::Findings {
        Outcome::Findings
    } else {
        Outcome::Clean
    }
}

pub fn run_docs(a: DocsArgs) -> Result<Outcome, CliError> {
    if let Some(u) = &a.source_url {
        kfunc_scan::docs::check_source_url(u)
            .map_err(|e| format!("error[usage]: --source-url {}: {e}", term::escape(u)))?;
    }
    if !matches!(a.format, DocsFormat::EbpfDocs) && a.output.exists() && !a.output.is_dir() {
        return Err(format!(
            "{}: error[usage]: -o must be a directory for Markdown or HTML pages (--format ebpf-docs writes one file)",
            term::path(&a.output)
        )
        .into());
    }
    let yaml_target = match a.format {
        DocsFormat::EbpfDocs if a.output.is_dir() => Some(a.output.join("kfuncs.yaml")),
        DocsFormat::EbpfDocs => Some(a.output.clone()),
        DocsFormat::Markdown | DocsFormat::Html => None,
    };
    // checked before a tree is scanned
    let yaml_output = match &yaml_target {
        Some(t) => Some(super::check_outputs(&[t])?.remove(0)),
        None => None,
    };
    let history = match &a.history {
        Some(path) => Some(std::sync::Arc::new(super::history::read_history_file(
            path,
        )?)),
        None => None,
    };
    let Loaded {
        manifest: m,
        outcome,
        unbuilt,
    } = load_source(&a.source, a.quiet)?;
    if let (Some(h), Some(path)) = (&history, &a.history) {
        history_holds(h, path, &m)?;
    }
    let opts = kfunc_scan::docs::DocsOptions {
        with_selftests: a.with_selftests,
        source_url: a.source_url.clone(),
        history,
    };
    match yaml_output {
        Some(out) => {
            let yaml = kfunc_scan::docs::ebpf_docs_yaml_counted(&m, &opts);
            super::write_output(&out, yaml.text.as_bytes())?;
            if !a.quiet && out.destination != Destination::Stdout {
                let (sets, funcs) = (yaml.sets, yaml.kfunc_entries);
                eprintln!(
                    "kfunc-scan docs: {} with {} written to {}",
                    plural(sets, "set", "sets"),
                    plural(funcs, "kfunc entry", "kfunc entries"),
                    term::path(&out.requested)
                );
            }
            Ok(outcome)
        }
        None => {
            let pages = match a.format {
                DocsFormat::Html => kfunc_scan::docs::html(&m, &opts),
                _ => kfunc_scan::docs::markdown_with(&m, &opts),
            };
            let w = kfunc_scan::docs::write_pages(&a.output, &pages)
                .map_err(|e| format!("{}: error[write]: {}", term::path(&e.path), e.source))?;
            if !a.quiet {
                let kfuncs = pages.keys().filter(|p| p.starts_with("kfuncs/")).count();
                eprintln!(
                    "kfunc-scan docs: {} written to {}, {} removed; {} documented{}",
                    plural(w.written, "page", "pages"),
                    term::path(&a.output),
                    plural(w.removed, "stale page", "stale pages"),
                    plural(kfuncs, "kfunc", "kfuncs"),
                    left_out(&m, kfuncs, a.with_selftests, unbuilt)
                );
            }
            Ok(outcome)
        }
    }
}

/// A history given to `docs` must hold the manifest's kernel version (its
/// release series: stable releases rarely add kfuncs, and a history is
/// made over tags, a manifest often from a distribution's tree): another
/// tree's history would date its kfuncs wrongly ("since v1").
fn history_holds(h: &History, path: &Path, m: &Manifest) -> Result<(), CliError> {
    let Some(mv) = m.kernel_version.as_deref() else {
        return Err(format!(
            "{}: error[history-version]: the manifest names no kernel version, so the history cannot be matched to it; give docs a manifest scanned from a kernel tree (its top Makefile names the version)",
            term::path(path)
        )
        .into());
    };
    let holds = h.versions.iter().any(|v| {
        [Some(v.version.as_str()), v.kernel_version.as_deref()]
            .into_iter()
            .flatten()
            .any(|hv| hv == mv || kversion::same_series(hv, mv) == Some(true))
    });
    if holds {
        return Ok(());
    }
    let listed: Vec<String> = h
        .versions
        .iter()
        .map(|v| match &v.kernel_version {
            Some(k) if *k != v.version => format!("{} ({k})", v.version),
            _ => v.version.clone(),
        })
        .collect();
    Err(format!(
        "{}: error[history-version]: this history does not hold kernel {mv}, the manifest's version, nor its series (it holds {}); make the history over versions that include it",
        term::path(path),
        listed.join(", ")
    )
    .into())
}

pub fn run_header(a: HeaderArgs) -> Result<Outcome, CliError> {
    let dash = PathBuf::from("-");
    let output = super::check_outputs(&[a.output.as_ref().unwrap_or(&dash)])?.remove(0);
    if a.btf.btf.is_some() {
        return super::avail::run_btf_header(&a.btf, a.manifest.as_deref(), &output);
    }
    let Loaded {
        manifest: m,
        outcome,
        unbuilt,
    } = load_source(
        &Source {
            manifest: a.manifest,
            tree: a.tree,
            with_unbuilt: a.with_unbuilt,
        },
        a.quiet,
    )?;
    let opts = kfunc_scan::header::HeaderOptions {
        with_selftests: a.with_selftests,
    };
    let text = kfunc_scan::header::header(&m, &opts);
    super::write_output(&output, text.as_bytes())?;
    if !a.quiet {
        let declared = m
            .callable_kfuncs()
            .iter()
            .filter(|k| a.with_selftests || !k.is_selftest())
            .count();
        eprintln!(
            "kfunc-scan header: {} declared{}",
            plural(declared, "kfunc", "kfuncs"),
            left_out(&m, declared, a.with_selftests, unbuilt)
        );
    }
    Ok(outcome)
}

/// What a published count leaves out of the manifest's kfuncs, and why:
/// `" (of the manifest's 271: 108 not built by its .config
/// (--with-unbuilt), 6 selftests' (--with-selftests), 1 in no kfunc set a
/// program may call them through)"`, empty when nothing. `m` is the
/// manifest as published (the unbuilt already dropped: `unbuilt` of them),
/// so the total is the one `scan` printed. Four commands gave four counts
/// for 6.12 without saying why they differ.
fn left_out(m: &Manifest, shown: usize, with_selftests: bool, unbuilt: usize) -> String {
    let total = m.kfuncs.len() + unbuilt;
    if shown >= total {
        return String::new();
    }
    let selftests = if with_selftests {
        0
    } else {
        m.kfuncs.iter().filter(|k| k.is_selftest()).count()
    };
    let rest = m.kfuncs.len().saturating_sub(shown + selftests);
    let mut why = Vec::new();
    if unbuilt > 0 {
        why.push(format!(
            "{unbuilt} not built by its .config (--with-unbuilt)"
        ));
    }
    if selftests > 0 {
        why.push(format!("{selftests} selftests' (--with-selftests)"));
    }
    if rest > 0 {
        why.push(format!(
            "{rest} in no kfunc set a program may call them through"
        ));
    }
    format!(" (of the manifest's {total}: {})", why.join(", "))
}

pub fn run_diff(a: DiffArgs) -> Result<Outcome, CliError> {
    let dash = PathBuf::from("-");
    // checked before a tree is scanned
    let output = super::check_outputs(&[a.output.as_ref().unwrap_or(&dash)])?.remove(0);
    let (old, new) = (
        load_manifest(&a.old, a.quiet)?,
        load_manifest(&a.new, a.quiet)?,
    );
    if let Some(w) = reversed_versions(&a.old, &old.manifest, &a.new, &new.manifest) {
        eprintln!("{}", term::escape(&w));
    }
    let d = kfunc_scan::diff::diff(&old.manifest, &new.manifest, a.with_selftests);
    let text = if a.json {
        let mut s = serde_json::to_string_pretty(&d).unwrap_or_default();
        s.push('\n');
        s
    } else {
        kfunc_scan::diff::report(&d)
    };
    super::write_output(&output, text.as_bytes())?;
    let breaking = if a.fail_on_breaking && d.breaking > 0 {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    Ok(worse(worse(old.outcome, new.outcome), breaking))
}

#[cfg(test)]
mod tests {
    use super::*;
    use kfunc_scan::manifest::Kfunc;

    fn kfunc(name: &str, file: &str) -> Kfunc {
        Kfunc {
            name: name.into(),
            file: file.into(),
            ..Default::default()
        }
    }

    #[test]
    fn a_count_says_what_it_leaves_out() {
        let m = Manifest {
            kfuncs: vec![
                kfunc("a", "kernel/bpf/helpers.c"),
                kfunc("b", "kernel/bpf/helpers.c"),
                kfunc(
                    "t1",
                    "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c",
                ),
                kfunc(
                    "t2",
                    "tools/testing/selftests/bpf/bpf_testmod/bpf_testmod.c",
                ),
                kfunc("unset", "kernel/x.c"),
            ],
            ..Default::default()
        };
        assert_eq!(
            left_out(&m, 2, false, 0),
            " (of the manifest's 5: 2 selftests' (--with-selftests), 1 in no kfunc set a program may call them through)"
        );
        assert_eq!(
            left_out(&m, 4, true, 0),
            " (of the manifest's 5: 1 in no kfunc set a program may call them through)"
        );
        assert_eq!(left_out(&m, 5, true, 0), "");
        // three more in the scan, dropped as not built before publishing
        assert_eq!(
            left_out(&m, 4, true, 3),
            " (of the manifest's 8: 3 not built by its .config (--with-unbuilt), 1 in no kfunc set a program may call them through)"
        );
    }
}
