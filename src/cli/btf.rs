//! The BTF commands: `patch-btf`, `btf-check` and the hidden `synth-manifest`.

use super::{CliError, Outcome};
use clap::Args;
use kfunc_scan::btf::{Blob, Btf, ReadError, StringOffsets, StringSections};
use kfunc_scan::manifest::{term, Manifest};
use kfunc_scan::output::{write_atomic, write_atomic_with, Durability};
use std::path::{Path, PathBuf};

#[derive(Args)]
pub struct PatchArgs {
    /// The manifest `kfunc-scan TREE` wrote for this kernel.
    #[arg(long, value_name = "FILE")]
    pub manifest: PathBuf,
    /// Raw BTF (`/sys/kernel/btf/vmlinux`, a dumped .BTF) or an ELF object with a .BTF section.
    #[arg(long, value_name = "FILE")]
    pub btf: PathBuf,
    /// Where to write the result (same format as the input).
    #[arg(short, long, value_name = "FILE", required_unless_present = "in_place")]
    pub output: Option<PathBuf>,
    /// Replace the input (atomically).
    #[arg(long, conflicts_with = "output")]
    pub in_place: bool,
    /// The base BTF of a split BTF (a module's BTF on top of vmlinux).
    #[arg(long, value_name = "FILE")]
    pub base: Option<PathBuf>,
    /// The module a split BTF is, for a manifest with a build view
    /// (default: the file's name up to its first dot; without --base the
    /// BTF is vmlinux's).
    #[arg(long, value_name = "NAME", requires = "base")]
    pub object: Option<String>,
    /// Add what pahole would have: `bpf_kfunc` decl tags on kfuncs-set
    /// members, `bpf_fastcall` on KF_FASTCALL ones, `address_space(1)` on
    /// KF_ARENA_* pointers.
    #[arg(long)]
    pub add_decl_tags: bool,
    /// With --add-decl-tags: the tags only, no `foo` / `foo_impl` pairs.
    /// For Linux 7.0 and later, whose resolve_btfids pairs the
    /// KF_IMPLICIT_ARGS kfuncs itself, finding them by these tags.
    #[arg(long, requires = "add_decl_tags")]
    pub no_pairs: bool,
    /// A kfunc of the manifest missing from the BTF is an error.
    #[arg(long)]
    pub strict: bool,
    /// The build's .config: the manifest must have been made from it
    /// (`kfunc-scan TREE --config` records its hash); a stale one, or one
    /// made without --config, is refused.
    #[arg(long, value_name = "FILE")]
    pub config: Option<PathBuf>,
    /// Patch with a manifest of another release series than the BTF's
    /// kernel (its release from a RELEASE or config file beside the BTF,
    /// or beside --base; the running kernel's for /sys/kernel/btf):
    /// refused otherwise, as its kfuncs are another kernel's.
    #[arg(long)]
    pub allow_version_mismatch: bool,
    /// Write a JSON summary here.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Make the output durable before exiting: fsync the file and its
    /// directory (by default it is atomic but left to the kernel's writeback).
    #[arg(long)]
    pub sync: bool,
    /// No notes or summary on stderr; warnings and errors are still printed.
    #[arg(short, long)]
    pub quiet: bool,
}

/// A BTF blob from a raw file (mapped) or an ELF object's .BTF section;
/// with the ELF object (mapped) when it is one.
fn read_btf_file(path: &Path) -> Result<(Blob, Option<Blob>), String> {
    let blob = Blob::map(path).map_err(|e| format!("{}: error[read]: {e}", term::path(path)))?;
    if kfunc_scan::btf::elf::is_elf(&blob) {
        let btf = kfunc_scan::btf::elf::read_btf(&blob)
            .map_err(|e| format!("{}: error[elf]: {e}", term::path(path)))?;
        Ok((Blob::Owned(btf), Some(blob)))
    } else {
        Ok((blob, None))
    }
}

/// Which file of the command a BTF is: `--base` or the one to work on,
/// read alone or on a base.
#[derive(Clone, Copy, PartialEq)]
enum Role {
    Input,
    Base,
    OnBase,
}

impl Role {
    /// The input's role when `base` is given.
    fn input_on(base: Option<&Btf>) -> Role {
        if base.is_some() {
            Role::OnBase
        } else {
            Role::Input
        }
    }
}

/// The reader's error, compiler style, with what to do about the options
/// when it is about split BTF.
fn btf_error(path: &Path, e: &ReadError, role: Role) -> String {
    let hint = match (e, role) {
        (ReadError::LooksSplit, Role::Input) => "; pass its base with --base",
        (ReadError::LooksSplit, Role::Base) => "; --base must be a base BTF (vmlinux's)",
        (ReadError::NotSplit, _) => "; leave out --base",
        _ => "",
    };
    let path = term::path(path);
    let mut line = format!("{path}: error[btf]: {e}{hint}");
    // A split BTF numbers its types and strings from where its base's end:
    // on a base that grew since (a vmlinux patched after its modules were
    // encoded) every ID and name of the module's is off, and the first
    // error is about an odd name or type, not about the base.
    let on_the_wrong_base = role == Role::OnBase
        && !matches!(
            e,
            ReadError::TooShort { .. }
                | ReadError::BadMagic
                | ReadError::BadVersion(_)
                | ReadError::BadHeaderLen { .. }
                | ReadError::NotSplit
                | ReadError::BaseEndian
        );
    if on_the_wrong_base {
        line.push_str(&format!(
            "\n{path}: note[btf]: a split BTF reads only on the base it was encoded on; if --base has grown since (a vmlinux BTF patched after this module's BTF was made: patch-btf appends types and strings), the module's type IDs and names no longer line up: give --base the vmlinux BTF the module was built on"
        ));
    }
    line
}

/// The BTF of a raw or ELF file, read and validated on top of `base`: an
/// unreadable file cannot run, an invalid BTF is refused.
fn parse_btf_file(path: &Path, base: Option<Btf>, role: Role) -> Result<Btf, CliError> {
    let (raw, _) = read_btf_file(path)?;
    let role = match role {
        Role::Input => Role::input_on(base.as_ref()),
        r => r,
    };
    Btf::parse_blob(raw, base).map_err(|e| CliError::Refused(vec![btf_error(path, &e, role)]))
}

/// As `parse_btf_file`, for a file that must be valid for the command to
/// run at all (an invalid one is unusable input, exit 2).
fn parse_btf_input(path: &Path, base: Option<Btf>, role: Role) -> Result<Btf, CliError> {
    parse_btf_file(path, base, role).map_err(|e| match e {
        CliError::Refused(lines) => CliError::CannotRun(lines.join("\n")),
        other => other,
    })
}

/// Prints the phases' times on stderr under `KFUNC_SCAN_TIMING=1`.
struct Timing(Option<std::time::Instant>);

impl Timing {
    fn from_env() -> Timing {
        Timing(std::env::var_os("KFUNC_SCAN_TIMING").map(|_| std::time::Instant::now()))
    }
    fn phase(&self, name: &str) {
        if let Some(t0) = self.0 {
            eprintln!("timing: {name} at {:?}", t0.elapsed());
        }
    }
}

/// The output (the input itself with --in-place) and the report, checked
/// before any work: writable, not one file twice. An input with several
/// hard links is not patched in place: the atomic replacement would leave
/// the other names on the old BTF.
fn check_patch_outputs(a: &PatchArgs) -> Result<(), CliError> {
    let target = a.output.as_deref().unwrap_or(&a.btf);
    let mut paths = vec![target];
    paths.extend(a.report.as_deref());
    let outputs = super::check_outputs(&paths)?;
    let links = outputs.first().map_or(1, |o| o.link_count());
    if a.in_place && links > 1 {
        return Err(CliError::CannotRun(format!(
            "{}: error[output]: {links} hard links name this file; --in-place would leave the others unpatched (write with -o instead)",
            term::path(&a.btf)
        )));
    }
    Ok(())
}

pub fn run_patch(a: PatchArgs) -> Result<Outcome, CliError> {
    use kfunc_scan::patch::{patch_found, PatchError, PatchOptions};
    check_patch_outputs(&a)?;
    let timing = Timing::from_env();
    let opts = PatchOptions {
        add_decl_tags: a.add_decl_tags,
        strict: a.strict,
        object: object_of(&a),
        no_pairs: a.no_pairs,
    };
    let (mut btf, elf, manifest, found) = read_patch_inputs(&a, &opts, &timing)?;
    timing.phase("btf parsed");
    if let Some(config) = &a.config {
        check_config(&a, &manifest, config)?;
    } else {
        check_version(&a, &manifest)?;
    }
    let report = match patch_found(&mut btf, &manifest, &opts, &found) {
        Ok(r) => r,
        Err(PatchError::Refused(list)) => {
            let mut lines: Vec<String> = list
                .iter()
                .map(|r| format!("{}: error[refused]: {r}", term::path(&a.btf)))
                .collect();
            lines.push(format!("{}: nothing written", term::path(&a.btf)));
            return Err(CliError::Refused(lines));
        }
        Err(e @ PatchError::SortedByName { .. }) => {
            let btf = term::path(&a.btf);
            return Err(CliError::Refused(vec![
                format!("{btf}: error[sorted]: {e}"),
                format!("{btf}: nothing written"),
            ]));
        }
        Err(e) => return Err(format!("{}: error[btf]: {e}", term::path(&a.btf)).into()),
    };
    timing.phase("patched");
    // nothing to change: a file patched in place is left as it is (a new
    // inode and mtime would make a build system redo what depends on it);
    // an -o copy is still written, as asked
    let unchanged = report.pairs_added.is_empty()
        && report.legacy_pairs.is_empty()
        && report.decl_tags_added.is_empty()
        && report.arena_tagged.is_empty();
    if !(unchanged && a.in_place) {
        write_patched(&a, &btf, elf.as_ref())?;
    }
    timing.phase("written");
    if let Some(r) = &a.report {
        let mut json = serde_json::to_string_pretty(&report).unwrap_or_default();
        json.push('\n');
        write_atomic(r, json.as_bytes())
            .map_err(|e| format!("{}: error[write]: {e}", term::path(r)))?;
    }
    for w in &report.warnings {
        eprintln!(
            "{}: warning[patch]: {}",
            term::path(&a.btf),
            term::escape(w)
        );
    }
    if report.object_without_sets {
        // named by hand, it may be mistyped: a warning; taken from the
        // file's name (a build's hook, a module after module), it is what
        // most modules are: a note
        let object = term::escape(opts.object());
        let what = format!("the manifest's build view puts no kfunc set in object `{object}`");
        if a.object.is_some() {
            eprintln!("{}: warning[patch]: {what}", term::path(&a.btf));
        } else if !a.quiet {
            eprintln!("{}: note[patch]: {what}", term::path(&a.btf));
        }
    }
    if !a.quiet {
        // said only when there are some, so earlier runs' lines stay as they were
        let arena = match report.arena_tagged.len() {
            0 => String::new(),
            n => format!(", {n} kfuncs' arena pointers marked"),
        };
        eprintln!(
            "kfunc-scan patch-btf: {} pairs added, {} legacy pairs, {} already patched, {} decl tags added{arena}, {} kfuncs not in this BTF; types {} -> {}",
            report.pairs_added.len(),
            report.legacy_pairs.len(),
            report.already_patched.len(),
            report.decl_tags_added.len(),
            report.missing.len(),
            report.types_before,
            report.types_after
        );
        if let Some(why) = why_nothing(&report, &opts) {
            eprintln!("{}: note[patch]: {why}", term::path(&a.btf));
        } else if a.no_pairs {
            // asked for: nothing to explain
        } else if let Some(why) = why_no_pairs(&report, &manifest, a.add_decl_tags) {
            eprintln!("{}: note[patch]: {why}", term::path(&a.btf));
        }
        if unchanged && a.in_place {
            eprintln!(
                "{}: note[patch]: nothing to change; the file is left as it is",
                term::path(&a.btf)
            );
        }
    }
    // The process ends here: the kernel takes back the mapping and the heap
    // at once, faster than thousands of frees (clang's -disable-free).
    std::mem::forget((btf, manifest));
    Ok(Outcome::Clean)
}

/// Why nothing was checked or done, when the manifest's kfuncs this patch
/// looks at are none, or none of them is in the BTF.
fn why_nothing(
    report: &kfunc_scan::patch::Report,
    opts: &kfunc_scan::patch::PatchOptions,
) -> Option<String> {
    let what = if opts.add_decl_tags {
        "to pair (KF_IMPLICIT_ARGS, __magic) or tag (kfuncs sets)"
    } else {
        "to pair (KF_IMPLICIT_ARGS, __magic)"
    };
    let object = match (&report.object, &opts.object) {
        (Some(o), _) | (None, Some(o)) => format!(" for `{}`", term::escape(o)),
        _ => String::new(),
    };
    // without --add-decl-tags, why_no_pairs says why there was nothing
    if report.considered == 0 && opts.add_decl_tags {
        return Some(format!(
            "nothing to check: the manifest has no kfunc{object} to pair or tag: none whose arguments the verifier supplies (KF_IMPLICIT_ARGS, __magic), none in a kfuncs set (BTF_KFUNCS_START)"
        ));
    }
    if report.considered == 0 {
        return None;
    }
    if report.missing.len() == report.considered {
        return Some(format!(
            "nothing to do: none of the manifest's {} kfuncs{object} {what} is in this BTF; is it this kernel's BTF (a module's needs --base)?",
            report.considered
        ));
    }
    None
}

/// A manifest of another release series than the BTF's kernel is refused
/// (exit 2) unless `--allow-version-mismatch`, as `avail` and `header
/// --btf` refuse it; a release that cannot be told is said (a note).
fn check_version(a: &PatchArgs, m: &Manifest) -> Result<(), CliError> {
    use kfunc_scan::avail::version::{self, VersionCheck};
    let (mut release, mut notes) = super::avail::btf_release(&a.btf);
    if release.is_none() {
        if let Some(base) = &a.base {
            let (r, n) = super::avail::btf_release(base);
            release = r;
            notes.extend(n);
        }
    }
    if !a.quiet {
        for n in &notes {
            eprintln!("{n}");
        }
    }
    match version::check(m.kernel_version.as_deref(), release.as_deref()) {
        VersionCheck::Differs { manifest, btf } if !a.allow_version_mismatch => {
            Err(CliError::CannotRun(format!(
                "{}\n{}: nothing written",
                version::mismatch_error(&a.manifest, &manifest, &btf),
                term::path(&a.btf)
            )))
        }
        c @ VersionCheck::Differs { .. } => {
            if let Some(w) = version::warning(&a.manifest, &c) {
                eprintln!("{w}");
            }
            Ok(())
        }
        VersionCheck::Unknown(why) if !a.quiet => {
            eprintln!("{}: note[version]: {why}", term::path(&a.manifest));
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Why no pair was added, when none was: the manifest has no kfunc whose
/// arguments the verifier supplies (6.12's has none), or they are all
/// there already; and, without `--add-decl-tags`, that it adds the tags
/// an old pahole leaves out.
fn why_no_pairs(
    report: &kfunc_scan::patch::Report,
    m: &Manifest,
    add_decl_tags: bool,
) -> Option<String> {
    if !report.pairs_added.is_empty() || !report.legacy_pairs.is_empty() {
        return None;
    }
    let with_args = m
        .kfuncs
        .iter()
        .filter(|k| k.verifier_args.is_some())
        .count();
    let mut why = match (with_args, report.already_patched.len()) {
        (0, _) => "no pairs to add: no kfunc of the manifest takes arguments the verifier supplies (KF_IMPLICIT_ARGS, __magic)".to_string(),
        (_, n) if n > 0 => format!("no pairs to add: the {n} kfuncs whose arguments the verifier supplies are paired already"),
        (n, _) => format!("no pairs to add: none of the manifest's {n} kfuncs whose arguments the verifier supplies is in this BTF"),
    };
    if !add_decl_tags && report.decl_tags_added.is_empty() {
        why.push_str("; --add-decl-tags adds the bpf_kfunc decl tags pahole 1.26 and later write");
    }
    Some(why)
}

/// `--config`: the manifest must be of this `.config`, by the hash its
/// build view records; a manifest without one cannot be checked, and is
/// refused too (patched silently, a stale manifest tags fewer kfuncs).
fn check_config(a: &PatchArgs, m: &Manifest, config: &Path) -> Result<(), CliError> {
    use kfunc_scan::kbuild::{config::Config, KbuildError};
    let (cfg, _) = Config::load(config).map_err(|e| match e {
        KbuildError::Read { source, .. } => {
            format!("{}: error[read]: {source}", term::path(config))
        }
        KbuildError::NotAConfig { .. } => format!("{}: error[config]: {e}", term::path(config)),
    })?;
    let have = cfg.hash_hex();
    let (mf, cf) = (term::path(&a.manifest), term::path(config));
    let rescan = format!("rescan: kfunc-scan SRCTREE --config {cf} -o {mf}");
    let why = match &m.build {
        None => {
            format!("made without --config, it has no build view to check against {cf}; {rescan}")
        }
        Some(b) if b.config_hash != have => format!(
            "made from {} ({}), but {cf} is {have}: the manifest is stale; {rescan}",
            term::escape(&b.config),
            term::escape(&b.config_hash)
        ),
        Some(_) => return Ok(()),
    };
    Err(CliError::Refused(vec![
        format!("{mf}: error[stale-manifest]: {why}"),
        format!("{}: nothing written", term::path(&a.btf)),
    ]))
}

/// The build object the BTF is: vmlinux without `--base`; with it, the
/// module `--object` names, or the file's name up to its first dot
/// (`nf_conntrack.btf`, `nf_conntrack.ko`, `/sys/kernel/btf/nf_conntrack`).
fn object_of(a: &PatchArgs) -> Option<String> {
    a.base.as_ref()?;
    if let Some(o) = &a.object {
        return Some(o.clone());
    }
    let name = a
        .btf
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    Some(name.split('.').next().unwrap_or_default().to_string())
}

/// What `patch-btf` reads: the BTF on its base (validated), the ELF object
/// it came from (if it did), the manifest and where the strings the patch
/// needs are. The manifest is read, and those strings found, on a second
/// thread while the BTF's types are validated: neither needs the other.
#[allow(clippy::type_complexity)]
fn read_patch_inputs(
    a: &PatchArgs,
    opts: &kfunc_scan::patch::PatchOptions,
    timing: &Timing,
) -> Result<(Btf, Option<Blob>, Manifest, StringOffsets), CliError> {
    let base = a
        .base
        .as_deref()
        .map(|p| parse_btf_input(p, None, Role::Base))
        .transpose()?;
    let (raw, elf) = read_btf_file(&a.btf)?;
    let role = Role::input_on(base.as_ref());
    let read_manifest = |strings: &StringSections| -> Result<_, String> {
        let manifest = super::read_manifest_file(&a.manifest)?;
        timing.phase("manifest");
        let found = strings.find(&kfunc_scan::patch::wanted_strings(&manifest, opts));
        Ok((manifest, found))
    };
    match Btf::parse_blob_beside(raw, base, read_manifest) {
        Ok((_, Err(msg))) => Err(msg.into()),
        Ok((btf, Ok((manifest, found)))) => Ok((btf, elf, manifest, found)),
        Err(e) => Err(btf_error(&a.btf, &e, role).into()),
    }
}

/// The patched BTF, in the input's format, to `-o` or over the input.
fn write_patched(a: &PatchArgs, btf: &Btf, elf: Option<&Blob>) -> Result<(), CliError> {
    let target = a.output.clone().unwrap_or_else(|| a.btf.clone());
    let durability = if a.sync {
        Durability::Fsync
    } else {
        Durability::Writeback
    };
    let written = match elf {
        // raw BTF: streamed from its parts, never copied whole
        None => write_atomic_with(&target, durability, |w| btf.write_to(w)),
        Some(elf) => match kfunc_scan::btf::elf::replace_btf(elf, btf.to_bytes()) {
            Ok(b) => write_atomic_with(&target, durability, |w| w.write_all(&b)),
            Err(e) => return Err(format!("{}: error[elf]: {e}", term::path(&a.btf)).into()),
        },
    };
    written.map_err(|e| format!("{}: error[write]: {e}", term::path(&target)))?;
    Ok(())
}

/// Exit 0: the kernel accepted it; 1: rejected (by us or the kernel); 2:
/// unreadable, or the kernel could not be asked (the reason is printed).
pub fn run_btf_check(
    file: &std::path::Path,
    base: Option<&std::path::Path>,
) -> Result<Outcome, CliError> {
    use kfunc_scan::btf::kernel;
    let base = base
        .map(|b| parse_btf_input(b, None, Role::Base))
        .transpose()?;
    // a file that is not BTF at all (a JSON file, text) cannot be checked:
    // exit 2, as patch-btf says of it; a BTF the validator refuses is a
    // finding, exit 1
    let (raw, _) = read_btf_file(file)?;
    let role = Role::input_on(base.as_ref());
    let btf = Btf::parse_blob(raw, base).map_err(|e| {
        let line = btf_error(file, &e, role);
        match e {
            ReadError::BadMagic | ReadError::TooShort { .. } => CliError::CannotRun(line),
            _ => CliError::Refused(vec![line]),
        }
    })?;
    match kernel::load(&kernel::standalone(&btf)) {
        Ok(()) => {
            println!(
                "{}: accepted by the running kernel ({} types)",
                term::path(file),
                btf.end_id() - 1
            );
            Ok(Outcome::Clean)
        }
        Err(kernel::LoadError::Unavailable(why)) => Err(CliError::CannotRun(format!(
            "{}: note[btf-check]: valid BTF here, but the kernel cannot be asked: {why} (loading BTF needs CAP_BPF, or CAP_SYS_ADMIN: run as root, or give the program CAP_BPF)",
            term::path(file)
        ))),
        // the log quotes the BTF's names, which may hold line breaks: each
        // of its lines escaped and indented, none can pass for one of ours
        Err(kernel::LoadError::Rejected { errno, log }) => {
            let mut msg = format!(
                "{}: error[kernel]: the kernel rejected the BTF ({errno}); its log ends:",
                term::path(file)
            );
            for line in log.lines() {
                msg.push_str("\n    ");
                msg.push_str(&term::escape(line));
            }
            Err(CliError::Refused(vec![msg]))
        }
    }
}

/// A manifest derived from a BTF's bpf_kfunc tags (tests and benchmarks).
#[cfg(feature = "test-support")]
pub fn run_synth(btf: &Path) -> Result<Outcome, CliError> {
    let b = parse_btf_input(btf, None, Role::Input)?;
    print!("{}", kfunc_scan::synth::manifest_from_btf(&b).to_json());
    Ok(Outcome::Clean)
}

/// Built without `test-support`: `synth` is not in this binary; refused
/// before anything is read.
#[cfg(not(feature = "test-support"))]
pub fn run_synth(btf: &Path) -> Result<Outcome, CliError> {
    Err(format!(
        "{}: error[no-test-support]: this kfunc-scan was built without the cargo feature `test-support`: `synth-manifest` (for tests and benchmarks) is not in it; build with `--features test-support`",
        term::path(btf)
    )
    .into())
}
