//! The commands that read a kernel's BTF for BPF programmers: `avail` (the
//! kfuncs this kernel offers) and `header --btf` (a header from BTF).

use super::{CliError, Outcome};
use clap::Args;
use kfunc_scan::avail::{self, Avail, AvailError, BtfDir, FoundBy};
use kfunc_scan::btf::Btf;
use kfunc_scan::header::{self, HeaderKfunc, HeaderText};
use kfunc_scan::manifest::{term, Manifest};
use kfunc_scan::output::Output;
use std::path::{Path, PathBuf};

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum AvailFormat {
    /// Columns for people.
    Table,
    /// {"kernel", "kfuncs": [{"name", "object", "prototype", …}]} for tools.
    Json,
}

#[derive(Args)]
pub struct AvailArgs {
    /// Another kernel's BTF files instead of /sys/kernel/btf: `vmlinux` (or
    /// `vmlinux.btf`) and its modules' (`NAME` or `NAME.btf`).
    #[arg(long, value_name = "DIR")]
    pub btf_dir: Option<PathBuf>,
    /// A manifest of this kernel's source: flags, program types, whether a
    /// kfunc may sleep, its summary, and whether its prototype is this
    /// kernel's. Needed for a BTF without bpf_kfunc decl tags.
    #[arg(long, value_name = "FILE")]
    pub manifest: Option<PathBuf>,
    /// Only the kfuncs this program type may call (`xdp` or
    /// `BPF_PROG_TYPE_XDP`: any member of the tree's enum bpf_prog_type);
    /// needs --manifest.
    #[arg(long, value_name = "TYPE")]
    pub prog_type: Option<String>,
    /// Use a manifest of another release series than the BTF's kernel
    /// (refused otherwise: its program types and flags are another
    /// kernel's); a warning still says so.
    #[arg(long)]
    pub allow_version_mismatch: bool,
    #[arg(long, value_enum, default_value = "table")]
    pub format: AvailFormat,
    /// Write the table or JSON here (atomically) instead of to stdout (a
    /// file's table is never cut to a terminal's width).
    #[arg(short, long, value_name = "FILE", conflicts_with = "has")]
    pub output: Option<PathBuf>,
    /// Whether this kfunc is available (to --prog-type, if given), by the
    /// exit status (0 yes, 1 no, 2 cannot tell) and one line, for scripts.
    #[arg(long, value_name = "KFUNC")]
    pub has: Option<String>,
    /// No summary line on stderr.
    #[arg(short, long)]
    pub quiet: bool,
}

/// The kernel's release: uname's for the running kernel.
fn running_release() -> Option<String> {
    let u = rustix::system::uname();
    u.release().to_str().ok().map(String::from)
}

fn err(e: AvailError) -> CliError {
    CliError::CannotRun(e.to_string())
}

fn read_manifest(p: Option<&Path>) -> Result<Option<Manifest>, CliError> {
    p.map(super::read_manifest_file)
        .transpose()
        .map_err(CliError::CannotRun)
}

/// The program type as the manifest spells it; an error without a manifest
/// (BTF does not say which program types may call a kfunc) or for a type
/// the manifest's tree does not have (`avail::resolve_prog_type`: every
/// member of its enum bpf_prog_type but UNSPEC is one).
fn prog_type(t: Option<&str>, m: Option<&Manifest>) -> Result<Option<String>, CliError> {
    let Some(t) = t else {
        return Ok(None);
    };
    let Some(m) = m else {
        return Err(CliError::CannotRun(format!(
            "error[usage]: --prog-type {} needs --manifest: a kernel's BTF does not say which program types may call a kfunc",
            term::escape(t)
        )));
    };
    avail::resolve_prog_type(m, t)
        .map(Some)
        .map_err(|e| CliError::CannotRun(e.to_string()))
}

/// Refuses a manifest of another release series than the BTF's kernel
/// (unless `allow`), and warns when that cannot be told or was allowed.
fn check_version(
    manifest_path: Option<&Path>,
    m: Option<&Manifest>,
    btf_release: Option<&str>,
    allow: bool,
) -> Result<(), CliError> {
    let (Some(path), Some(m)) = (manifest_path, m) else {
        return Ok(());
    };
    let c = avail::version::check(m.kernel_version.as_deref(), btf_release);
    if let (avail::version::VersionCheck::Differs { manifest, btf }, false) = (&c, allow) {
        return Err(CliError::CannotRun(avail::version::mismatch_error(
            path, manifest, btf,
        )));
    }
    if let Some(w) = avail::version::warning(path, &c) {
        eprintln!("{w}");
    }
    Ok(())
}

pub fn run_avail(a: AvailArgs) -> Result<Outcome, CliError> {
    // checked before anything is read
    let output = match &a.output {
        Some(p) => Some(super::check_outputs(&[p])?.remove(0)),
        None => None,
    };
    let manifest = read_manifest(a.manifest.as_deref())?;
    let prog_type = prog_type(a.prog_type.as_deref(), manifest.as_ref())?;
    let dir_path = a
        .btf_dir
        .clone()
        .unwrap_or_else(|| PathBuf::from(avail::SYSFS_BTF));
    let dir = avail::btf_dir(&dir_path).map_err(err)?;
    let (release, release_notes) = match &a.btf_dir {
        None => (running_release(), Vec::new()),
        Some(d) => avail::release_of(d),
    };
    // what was left unread is said even with -q: it changes what is shown
    for n in dir.notes.iter().chain(&release_notes) {
        eprintln!("{n}");
    }
    check_version(
        a.manifest.as_deref(),
        manifest.as_ref(),
        release.as_deref(),
        a.allow_version_mismatch,
    )?;
    let mut result = avail::avail(&dir, manifest.as_ref()).map_err(err)?;
    if let Some(name) = &a.has {
        return has(&result, name, prog_type.as_deref());
    }
    let all = result.kfuncs.len();
    let left_out = manifest
        .as_ref()
        .map(|m| avail::LeftOut::of(&result, m, &dir));
    let unknown = prog_type.as_deref().map_or(0, |t| result.keep_prog_type(t));
    let text = match a.format {
        AvailFormat::Table => {
            let t = avail::table(&result, manifest.is_some());
            match terminal_width().filter(|_| output.is_none()) {
                Some(w) => avail::fit_width(&t, w),
                None => t,
            }
        }
        AvailFormat::Json => avail::json(
            &result,
            release.as_deref(),
            &dir_path.display().to_string(),
            manifest.as_ref().and_then(|m| m.kernel_version.as_deref()),
            prog_type.as_deref(),
        ),
    };
    super::write_output(
        output.as_ref().unwrap_or(&Output::stdout()),
        text.as_bytes(),
    )?;
    if !a.quiet {
        eprintln!(
            "{}",
            summary_line(
                &result,
                &dir,
                all,
                left_out,
                unknown,
                prog_type.as_deref(),
                release.as_deref()
            )
        );
    }
    Ok(Outcome::Clean)
}

fn summary_line(
    r: &Avail,
    dir: &BtfDir,
    all: usize,
    left_out: Option<avail::LeftOut>,
    unknown: usize,
    prog_type: Option<&str>,
    release: Option<&str>,
) -> String {
    let how = match r.found_by {
        FoundBy::DeclTags => "found by their bpf_kfunc decl tags".to_string(),
        FoundBy::Manifest => format!(
            "{} has no bpf_kfunc decl tags (pahole older than 1.26): these are the manifest's kfuncs found as FUNCs",
            term::path(&dir.vmlinux)
        ),
    };
    // the release was checked to be one printable word; escaped all the same
    let mut s = format!(
        "kfunc-scan avail: Linux {}: {all} kfuncs in vmlinux and {} module BTFs{}, {how}",
        term::escape(release.unwrap_or("(release unknown)")),
        dir.modules.len(),
        left_out.map(|l| l.describe()).unwrap_or_default(),
    );
    if let Some(t) = prog_type {
        s.push_str(&format!(
            "; {} callable from {}",
            r.kfuncs.len(),
            term::escape(t)
        ));
        if unknown > 0 {
            s.push_str(&format!(
                " ({unknown} not in the manifest, so of unknown program types, left out)"
            ));
        }
    }
    let differ = r
        .kfuncs
        .iter()
        .filter(|e| e.prototype_matches == Some(false))
        .count();
    if differ > 0 {
        s.push_str(&format!(
            "; {differ} prototypes differ from the manifest's (a manifest of another version?)"
        ));
    }
    s
}

/// The scripting form: exit 0 when available, 1 when not, 2 when the
/// manifest cannot tell the program types. The answer line shows the
/// name asked for and the object from the BTF escaped.
fn has(r: &Avail, name: &str, prog_type: Option<&str>) -> Result<Outcome, CliError> {
    let name = name.trim();
    let shown = avail::shown(name);
    let Some(e) = r.kfuncs.iter().find(|e| e.name == name) else {
        println!("{shown}: not available");
        let near = avail::nearest(name, r.kfuncs.iter().map(|e| e.name.as_str()));
        if let Some(hint) = avail::did_you_mean(&near) {
            eprintln!("{shown}: note: not a kfunc of this kernel; {hint}");
        }
        return Ok(Outcome::Findings);
    };
    let object = term::escape(&e.object);
    let Some(t) = prog_type else {
        println!("{shown}: available ({object})");
        return Ok(Outcome::Clean);
    };
    let t_shown = term::escape(t);
    match &e.callable {
        None => Err(CliError::CannotRun(format!(
            "error[not-in-manifest]: {shown} is in this kernel ({object}) but not in the manifest, which alone tells program types"
        ))),
        Some(c) if c.every.contains(t) => {
            println!("{shown}: available to {t_shown} ({object})");
            Ok(Outcome::Clean)
        }
        Some(_) => {
            println!("{shown}: not available to {t_shown} (it is in {object})");
            Ok(Outcome::Findings)
        }
    }
}

/// `header --btf`'s own arguments.
#[derive(Args)]
pub struct BtfHeaderArgs {
    /// Write the header from this BTF (raw, /sys/kernel/btf/vmlinux, or an
    /// ELF object's .BTF) instead of from a manifest; with --manifest, the
    /// manifest adds program types (--prog-type) and KF_ARENA_* flags.
    #[arg(long, value_name = "FILE")]
    pub btf: Option<PathBuf>,
    /// The base (vmlinux) BTF of a split --btf (a module's).
    #[arg(long, value_name = "FILE", requires = "btf")]
    pub base: Option<PathBuf>,
    /// Only these kfuncs (comma-separated); with --btf.
    #[arg(long, value_name = "A,B,…", value_delimiter = ',', requires = "btf")]
    pub kfuncs: Vec<String>,
    /// Only the kfuncs this program type may call (any member of the
    /// tree's enum bpf_prog_type); with --btf and --manifest (the BTF says
    /// nothing of program types).
    #[arg(long, value_name = "TYPE", requires = "btf")]
    pub prog_type: Option<String>,
    /// Use a manifest of another release series than the BTF's kernel
    /// (its release from a RELEASE or config file beside the BTF, or the
    /// running kernel's for /sys/kernel/btf).
    #[arg(long, requires = "btf")]
    pub allow_version_mismatch: bool,
}

/// The release of the kernel whose BTF file `path` is: the running
/// kernel's for /sys/kernel/btf, else what a RELEASE or config file
/// beside it says (as in a `--btf-dir`), with what was ignored on the way.
pub(super) fn btf_release(path: &Path) -> (Option<String>, Vec<avail::Note>) {
    if std::fs::canonicalize(path).is_ok_and(|p| p.starts_with(avail::SYSFS_BTF)) {
        return (running_release(), Vec::new());
    }
    match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => avail::release_of(d),
        _ => avail::release_of(Path::new(".")),
    }
}

/// The names nearest to each of `missing` among the BTF's kfuncs (tagged),
/// the manifest's, or the BTF's FUNCs.
fn missing_with_hints(
    btf: &Btf,
    tagged: bool,
    manifest: Option<&Manifest>,
    missing: &[&str],
) -> Vec<String> {
    let candidates: Vec<String> = if tagged {
        avail::kfuncs_in(btf, None)
            .into_iter()
            .map(|f| f.name)
            .collect()
    } else if let Some(m) = manifest {
        m.callable_kfuncs().iter().map(|k| k.name.clone()).collect()
    } else {
        btf.own_names_of(kfunc_scan::btf::Kind::Func)
            .filter_map(|(id, _)| btf.get(id).map(|t| btf.name(&t).to_string()))
            .collect()
    };
    missing
        .iter()
        .map(|n| {
            let shown = avail::shown(n);
            match avail::did_you_mean(&avail::nearest(n, &candidates)) {
                Some(hint) => format!("{shown} ({hint})"),
                None => shown,
            }
        })
        .collect()
}

/// The kfuncs of `btf` the arguments select, or why not.
fn select(
    btf: &Btf,
    path: &Path,
    names: &[String],
    manifest: Option<&Manifest>,
    prog_type: Option<&str>,
) -> Result<Vec<avail::Found>, CliError> {
    // a module's BTF is tagged when its kernel's is, kfuncs or none
    let tagged = avail::has_kfunc_tags(btf) || btf.base().is_some_and(avail::has_kfunc_tags);
    let mut found = if tagged {
        avail::kfuncs_in(btf, None)
    } else if !names.is_empty() {
        let wanted: Vec<&str> = names.iter().map(String::as_str).collect();
        avail::kfuncs_in(btf, Some(&wanted))
    } else if let Some(m) = manifest {
        let wanted: Vec<&str> = m
            .callable_kfuncs()
            .iter()
            .map(|k| k.name.as_str())
            .collect();
        avail::kfuncs_in(btf, Some(&wanted))
    } else {
        return Err(err(AvailError::NoTags {
            path: path.to_path_buf(),
        }));
    };
    if !names.is_empty() {
        let missing: Vec<&str> = names
            .iter()
            .map(String::as_str)
            .filter(|n| !found.iter().any(|f| f.name == *n))
            .collect();
        if !missing.is_empty() {
            let what = if tagged {
                "a kfunc (a FUNC with a bpf_kfunc decl tag)"
            } else {
                "a FUNC"
            };
            let missing = missing_with_hints(btf, tagged, manifest, &missing);
            return Err(CliError::CannotRun(format!(
                "{}: error[no-kfunc]: not {what} of this BTF: {}",
                term::path(path),
                missing.join(", ")
            )));
        }
        found.retain(|f| names.contains(&f.name));
    }
    if let (Some(t), Some(m)) = (prog_type, manifest) {
        found.retain(|f| m.kfunc(&f.name).is_some_and(|k| m.may_call(t, k)));
    }
    Ok(found)
}

/// `header --btf B [--base V] [--manifest M] [--kfuncs …] [--prog-type T]`.
pub fn run_btf_header(
    a: &BtfHeaderArgs,
    manifest: Option<&Path>,
    output: &Output,
) -> Result<Outcome, CliError> {
    let Some(btf_path) = &a.btf else {
        return Err(CliError::CannotRun(
            "error[usage]: --btf is required".into(),
        ));
    };
    let manifest_path = manifest;
    let manifest = read_manifest(manifest)?;
    let prog_type = prog_type(a.prog_type.as_deref(), manifest.as_ref())?;
    let names = avail::kfunc_names(&a.kfuncs);
    if names.is_empty() && !a.kfuncs.is_empty() {
        return Err(CliError::CannotRun(
            "error[usage]: --kfuncs names no kfunc (only blanks and commas)".into(),
        ));
    }
    if manifest.is_some() {
        let (release, notes) = btf_release(btf_path);
        for n in &notes {
            eprintln!("{n}");
        }
        check_version(
            manifest_path,
            manifest.as_ref(),
            release.as_deref(),
            a.allow_version_mismatch,
        )?;
    }
    let base = a
        .base
        .as_deref()
        .map(|b| avail::read_btf(b, None))
        .transpose()
        .map_err(err)?;
    let btf = avail::read_btf(btf_path, base).map_err(err)?;
    let found = select(
        &btf,
        btf_path,
        &names,
        manifest.as_ref(),
        prog_type.as_deref(),
    )?;
    let kfuncs: Vec<HeaderKfunc> = found
        .into_iter()
        .map(|f| HeaderKfunc {
            arena: avail::arena_slots(manifest.as_ref().and_then(|m| m.kfunc(&f.name))),
            name: f.name,
            func: f.func,
        })
        .collect();
    let about = match manifest.as_ref().and_then(|m| m.kernel_version.as_deref()) {
        Some(v) => format!("{} (Linux {v}'s manifest)", btf_path.display()),
        None => btf_path.display().to_string(),
    };
    let text = header::header_from_btf(&btf, &kfuncs, &HeaderText { about }).map_err(|e| {
        CliError::CannotRun(format!(
            "{}: error[btf]: {}",
            term::path(btf_path),
            term::escape(&e.to_string())
        ))
    })?;
    super::write_output(output, text.as_bytes())?;
    Ok(Outcome::Clean)
}

/// The width of the terminal standard output is, when it is one: a table
/// is then cut to it (rows of 380 columns wrap into noise); piped or
/// redirected, every column is kept whole.
fn terminal_width() -> Option<usize> {
    use std::io::IsTerminal;
    if !std::io::stdout().is_terminal() {
        return None;
    }
    // TIOCGWINSZ on standard output (a terminal, above)
    let ws = rustix::termios::tcgetwinsize(std::io::stdout()).ok()?;
    (ws.ws_col >= 20).then_some(usize::from(ws.ws_col))
}
