//! `kfunc-scan history`: since / until of each kfunc, set membership and
//! program type, over manifests or over a git repository's tags.

use super::scan::HowArgs;
#[cfg(feature = "git")]
use super::scan::{render_error, Display};
use super::{CliError, Outcome};
use clap::Args;
#[cfg(feature = "git")]
use kfunc_scan::history::git::{GitScan, GitScanError, ManifestCache, Origin};
use kfunc_scan::history::{self, HistoryError};
use kfunc_scan::manifest::history::{History, Version};
use kfunc_scan::manifest::term;
use kfunc_scan::manifest::Manifest;
#[cfg(feature = "git")]
use kfunc_scan::manifest::Severity;
#[cfg(feature = "git")]
use kfunc_scan::scan::{git_tree::GitError, ScanError};
#[cfg(feature = "git")]
use std::io::Write;
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct HistoryArgs {
    /// Manifests, oldest first; with --git, the tags (or branches, or
    /// commit ids) whose trees to read, oldest first.
    #[arg(value_name = "MANIFEST|TAG", required = true)]
    pub inputs: Vec<PathBuf>,
    /// Read the trees from this git repository's object database (a `.git`
    /// directory, a bare repository or a work tree), without a checkout.
    #[arg(long, value_name = "REPO")]
    pub git: Option<PathBuf>,
    /// Write the history here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,
    /// Keep each tree's manifest in DIR [default: $XDG_CACHE_HOME/kfunc-scan/history,
    /// or ~/.cache/kfunc-scan/history].
    #[arg(long, value_name = "DIR")]
    pub cache_dir: Option<PathBuf>,
    /// Neither read nor keep manifests in the cache.
    #[arg(long, conflicts_with = "cache_dir")]
    pub no_cache: bool,
    /// With --git: how the trees are scanned, as `kfunc-scan TREE` scans one.
    #[command(flatten)]
    pub how: HowArgs,
    /// No progress, nor a line per version, nor the summary; warnings and
    /// errors are still printed.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(a: HistoryArgs) -> Result<Outcome, CliError> {
    let dash = PathBuf::from("-");
    let output = super::check_outputs(&[a.output.as_ref().unwrap_or(&dash)])?.remove(0);
    let quiet = a.quiet;
    let (mut inputs, outcome) = match a.git.clone() {
        Some(repo) => from_git(&repo, a)?,
        None => (from_manifests(a)?, Outcome::Clean),
    };
    if history::order_by_release(&mut inputs).map_err(|e| render_history_error(&e))? && !quiet {
        let named: Vec<String> = inputs
            .iter()
            .map(|(v, _)| match &v.kernel_version {
                Some(k) if *k != v.version => format!("{} ({k})", term::escape(&v.version)),
                _ => term::escape(&v.version).into_owned(),
            })
            .collect();
        eprintln!(
            "kfunc-scan history: note[version-order]: the versions were not given oldest first; taken in the order of their kernel releases: {}",
            named.join(", ")
        );
    }
    let versions: Vec<(Version, &Manifest)> = inputs.iter().map(|(v, m)| (v.clone(), m)).collect();
    let h = history::build(&versions).map_err(|e| render_history_error(&e))?;
    super::write_output(&output, h.to_json().as_bytes())?;
    // The process ends here: its memory goes back whole. Freed piece by
    // piece, the manifests and the history took ~10 ms (6.1 and 6.12).
    std::mem::forget(h);
    drop(versions);
    std::mem::forget(inputs);
    Ok(outcome)
}

/// The manifest files, each named by its kernel version.
fn from_manifests(a: HistoryArgs) -> Result<Vec<(Version, Manifest)>, CliError> {
    let how = a.how;
    if !how.exclude.is_empty()
        || how.jobs != 0
        || how.queries.is_some()
        || !how.implicit_type.is_empty()
        || how.any_directory
    {
        return Err("error[usage]: --exclude, --jobs, --queries, --implicit-type and --any-directory are for --git (manifests are already scanned)".to_string().into());
    }
    let mut out = Vec::new();
    for path in &a.inputs {
        let m = super::read_manifest_file(path)?;
        let Some(version) = m.kernel_version.clone() else {
            return Err(format!(
                "{}: error[no-version]: the manifest has no kernel_version to name its version",
                term::path(path)
            )
            .into());
        };
        out.push((
            Version {
                version,
                commit: None,
                kernel_version: m.kernel_version.clone(),
            },
            m,
        ));
    }
    if !a.quiet {
        summary(&out);
    }
    Ok(out)
}

/// Built without the `git` feature: no repository is read (gix and
/// libdeflate are not in this binary); refused before anything is done.
#[cfg(not(feature = "git"))]
fn from_git(repo: &Path, _: HistoryArgs) -> Result<(Vec<(Version, Manifest)>, Outcome), CliError> {
    Err(format!(
        "{}: error[no-git]: this kfunc-scan was built without git (cargo feature `git`): `history --git` cannot read a repository; give manifests instead, or install a build with the feature",
        term::path(repo)
    )
    .into())
}

/// Each revision's manifest, from the cache or a scan of its tree.
#[cfg(feature = "git")]
fn from_git(repo: &Path, a: HistoryArgs) -> Result<(Vec<(Version, Manifest)>, Outcome), CliError> {
    let names: Vec<String> = a
        .inputs
        .iter()
        .map(|t| {
            t.to_str().map(str::to_string).ok_or_else(|| {
                format!(
                    "error[usage]: `{}` cannot name a revision (not UTF-8)",
                    term::path(t)
                )
            })
        })
        .collect::<Result<_, _>>()?;
    // names are versions: checked (and none twice) before any is looked up
    check_names(&names).map_err(|e| render_history_error(&e))?;
    let opts = a.how.options(repo.to_path_buf());
    let cache = match cache_dir(&a.cache_dir, a.no_cache) {
        Some(dir) => {
            Some(ManifestCache::new(&dir, &tool_identity(), &opts).map_err(|e| render_error(&e))?)
        }
        None => None,
    };
    let scan = GitScan::open(repo, &opts, cache).map_err(|e| render_git_error(repo, &e))?;
    // every name is looked up before any tree is read
    let revisions = names
        .iter()
        .map(|n| scan.revision(n).map(|r| (n, r)))
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| render_git_error(repo, &e))?;
    let named: Vec<(&str, _)> = revisions.iter().map(|(n, r)| (n.as_str(), *r)).collect();
    let display = Display::new(a.quiet);
    let made = scan.manifests(&named, &|p| display.report(p));
    display.finish();
    let mut out = Vec::new();
    let mut outcome = Outcome::Clean;
    for ((name, rev), got) in named.into_iter().zip(made) {
        let got = got.map_err(|e| match e {
            GitScanError::Git(e) => render_git_error(repo, &e),
            GitScanError::Scan { name, source } => render_scan_error(repo, &name, &source),
            GitScanError::Makefile { name, message } => format!(
                "{}: error[git-read]: `{name}`: its top Makefile does not read: {message}",
                term::path(repo)
            )
            .into(),
        })?;
        // locked only now: the scan's threads report on stderr too
        let mut err = std::io::stderr().lock();
        for d in got
            .manifest
            .diagnostics
            .iter()
            .filter(|d| d.severity != Severity::Note)
        {
            let _ = writeln!(err, "{name}:{}", d.render());
        }
        if got.manifest.error_count() > 0 {
            outcome = Outcome::Findings;
        }
        if let Origin::Scanned {
            not_kept: Some(why),
            ..
        } = &got.origin
        {
            let _ = writeln!(
                err,
                "{name}: warning[cache]: the manifest could not be kept: {why}"
            );
        }
        if !a.quiet {
            let _ = writeln!(
                err,
                "kfunc-scan history: {name} (commit {}, tree {}): {}",
                short(&rev.commit.to_string()),
                short(&got.tree.to_string()),
                origin_text(&got.origin)
            );
        }
        out.push((got.version, got.manifest));
    }
    if !a.quiet {
        summary(&out);
    }
    // Kept to the end of the process, which gives its memory back whole:
    // what the scans read (a listing and a prefiltered blob for each file)
    // took ~15 ms to free piece by piece (6.1 and 6.12).
    std::mem::forget(scan);
    Ok((out, outcome))
}

/// The version names `names` give, as [`history::build`] will check them:
/// each a version name, none twice.
#[cfg(feature = "git")]
fn check_names(names: &[String]) -> Result<(), HistoryError> {
    let mut seen = std::collections::HashSet::new();
    for n in names {
        if !kfunc_scan::manifest::history::is_version_name(n) {
            return Err(HistoryError::BadVersionName(n.clone()));
        }
        if !seen.insert(n.as_str()) {
            return Err(HistoryError::DuplicateVersion(n.clone()));
        }
    }
    Ok(())
}

/// The first 12 digits of an object id.
#[cfg(feature = "git")]
fn short(id: &str) -> &str {
    id.get(..12).unwrap_or(id)
}

#[cfg(feature = "git")]
fn origin_text(o: &Origin) -> String {
    match o {
        Origin::Cache(path) => format!("from the cache ({})", term::path(path)),
        Origin::SameTree(name) => format!("the same tree as {name}"),
        Origin::Scanned {
            blobs_read,
            blobs_reused,
            ..
        } => format!(
            "scanned, {blobs_read} files read from the object database, {blobs_reused} as this run had already read them"
        ),
    }
}

/// One line: how many kfuncs each end has, how many came and went.
fn summary(inputs: &[(Version, Manifest)]) {
    let (Some((first, old)), Some((last, new))) = (inputs.first(), inputs.last()) else {
        return;
    };
    let names = |m: &Manifest| -> std::collections::BTreeSet<String> {
        m.callable_kfuncs().iter().map(|k| k.name.clone()).collect()
    };
    let (old, new) = (names(old), names(new));
    eprintln!(
        "kfunc-scan history: {} versions, {} to {}: {} kfuncs then, {} now ({} added, {} gone)",
        inputs.len(),
        first.version,
        last.version,
        old.len(),
        new.len(),
        new.difference(&old).count(),
        old.difference(&new).count()
    );
}

/// Where manifests are kept: `--cache-dir`, else the user's cache
/// directory; none with `--no-cache`, or when there is no such directory.
#[cfg(feature = "git")]
fn cache_dir(given: &Option<PathBuf>, no_cache: bool) -> Option<PathBuf> {
    if no_cache {
        return None;
    }
    if let Some(d) = given {
        return Some(d.clone());
    }
    let absolute = |v: std::ffi::OsString| Some(PathBuf::from(v)).filter(|p| p.is_absolute());
    let base = std::env::var_os("XDG_CACHE_HOME")
        .and_then(absolute)
        .or_else(|| {
            std::env::var_os("HOME")
                .and_then(absolute)
                .map(|h| h.join(".cache"))
        })?;
    Some(base.join("kfunc-scan").join("history"))
}

/// What tells this build of the tool from another, for the cache's key:
/// the version, and the executable's size and modification time (a
/// rebuilt scanner may read trees differently under the same version).
#[cfg(feature = "git")]
fn tool_identity() -> String {
    let stamp = std::env::current_exe()
        .and_then(std::fs::metadata)
        .map(|md| {
            let mtime = md
                .modified()
                .ok()
                .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
                .map_or(0, |d| d.as_nanos());
            format!("{} {mtime}", md.len())
        })
        .unwrap_or_default();
    format!("kfunc-scan {} {stamp}", env!("CARGO_PKG_VERSION"))
}

#[cfg(feature = "git")]
fn render_git_error(repo: &Path, e: &GitError) -> CliError {
    let repo = term::path(repo);
    let line = match e {
        GitError::NotARepository { path, message } => format!(
            "{}: error[not-a-repository]: not a git repository ({message})",
            term::path(path)
        ),
        GitError::NoSuchRevision(name) => {
            format!("{repo}: error[no-such-revision]: no tag, branch or commit named `{name}`")
        }
        GitError::BadRevision { name, message } => {
            format!("{repo}: error[bad-revision]: `{name}`: {message}")
        }
        GitError::Unreadable { oid, message } => {
            format!("{repo}: error[git-read]: tree {oid}: {message}")
        }
        GitError::BadFile { path, message } => {
            format!("{}: error[repository-file]: {message}", term::path(path))
        }
    };
    line.into()
}

#[cfg(feature = "git")]
fn render_scan_error(repo: &Path, name: &str, e: &ScanError) -> CliError {
    match e {
        ScanError::NotAKernelTree(_) => format!(
            "{}: error[no-kernel-tree]: `{name}` is not a kernel tree: no top Makefile with a VERSION line (--any-directory scans it anyway)",
            term::path(repo)
        ),
        other => render_error(other),
    }
    .into()
}

fn render_history_error(e: &HistoryError) -> CliError {
    let code = match e {
        HistoryError::NoVersions => "usage",
        HistoryError::DuplicateVersion(_) => "duplicate-version",
        HistoryError::BadVersionName(_) => "bad-version",
        HistoryError::Unordered { .. } => "version-order",
    };
    format!("error[{code}]: {e}").into()
}

/// A history file, or the error to print (compiler style).
pub fn read_history_file(path: &Path) -> Result<History, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("{}: error[read]: {e}", term::path(path)))?;
    History::from_json(&text).map_err(|e| {
        format!(
            "{}:{}:{}: error[history]: {e}",
            term::path(path),
            e.line,
            e.column
        )
    })
}
