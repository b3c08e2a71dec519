//! The BTF commands: `patch-btf`, `btf-check` and the hidden `synth-manifest`.

use super::{CliError, Outcome};
use clap::Args;
use kfunc_scan::btf::{Blob, Btf};
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
    /// Add `bpf_kfunc` (and `bpf_fastcall` for KF_FASTCALL) decl tags where missing.
    #[arg(long)]
    pub add_decl_tags: bool,
    /// A kfunc of the manifest missing from the BTF is an error.
    #[arg(long)]
    pub strict: bool,
    /// Write a JSON summary here.
    #[arg(long, value_name = "FILE")]
    pub report: Option<PathBuf>,
    /// Make the output durable before exiting: fsync the file and its
    /// directory (by default it is atomic but left to the kernel's writeback).
    #[arg(long)]
    pub sync: bool,
    /// Print only errors.
    #[arg(short, long)]
    pub quiet: bool,
}

/// A BTF blob from a raw file (mapped) or an ELF object's .BTF section;
/// with the ELF object (mapped) when it is one.
fn read_btf_file(path: &Path) -> Result<(Blob, Option<Blob>), String> {
    let blob = Blob::map(path).map_err(|e| format!("{}: error[read]: {e}", path.display()))?;
    if kfunc_scan::btf::elf::is_elf(&blob) {
        let btf = kfunc_scan::btf::elf::read_btf(&blob)
            .map_err(|e| format!("{}: error[elf]: {e}", path.display()))?;
        Ok((Blob::Owned(btf), Some(blob)))
    } else {
        Ok((blob, None))
    }
}

/// The BTF of a raw or ELF file, read and validated on top of `base`: an
/// unreadable file cannot run, an invalid BTF is refused.
fn parse_btf_file(path: &Path, base: Option<Btf>) -> Result<Btf, CliError> {
    let (raw, _) = read_btf_file(path)?;
    Btf::parse_blob(raw, base)
        .map_err(|e| CliError::Refused(vec![format!("{}: error[btf]: {e}", path.display())]))
}

/// As `parse_btf_file`, for a file that must be valid for the command to
/// run at all (an invalid one is unusable input, exit 2).
fn parse_btf_input(path: &Path, base: Option<Btf>) -> Result<Btf, CliError> {
    parse_btf_file(path, base).map_err(|e| match e {
        CliError::Refused(lines) => CliError::CannotRun(lines.join("\n")),
        other => other,
    })
}

pub fn run_patch(a: PatchArgs) -> Result<Outcome, CliError> {
    let t0 = std::time::Instant::now();
    let timing = std::env::var_os("KFUNC_SCAN_TIMING").is_some();
    let phase = |name: &str| {
        if timing {
            eprintln!("timing: {name} at {:?}", t0.elapsed());
        }
    };
    use kfunc_scan::btf::StringSections;
    use kfunc_scan::patch::{patch_found, wanted_strings, PatchError, PatchOptions};
    let base = a
        .base
        .as_deref()
        .map(|p| parse_btf_input(p, None))
        .transpose()?;
    let (raw, elf) = read_btf_file(&a.btf)?;
    let opts = PatchOptions {
        add_decl_tags: a.add_decl_tags,
        strict: a.strict,
    };
    // The manifest is read, and the strings the patch needs are found, on a
    // second thread while the BTF's types are validated: neither needs the other.
    let read_manifest = |strings: &StringSections| -> Result<_, String> {
        let manifest = super::read_manifest_file(&a.manifest)?;
        phase("manifest");
        let found = strings.find(&wanted_strings(&manifest, &opts));
        Ok((manifest, found))
    };
    let (mut btf, (manifest, found)) = match Btf::parse_blob_beside(raw, base, read_manifest) {
        Ok((_, Err(msg))) => return Err(msg.into()),
        Ok((btf, Ok(m))) => (btf, m),
        Err(e) => return Err(format!("{}: error[btf]: {e}", a.btf.display()).into()),
    };
    phase("btf parsed");
    let report = match patch_found(&mut btf, &manifest, &opts, &found) {
        Ok(r) => r,
        Err(PatchError::Refused(list)) => {
            let mut lines: Vec<String> = list
                .iter()
                .map(|r| format!("{}: error[refused]: {r}", a.btf.display()))
                .collect();
            lines.push(format!("{}: nothing written", a.btf.display()));
            return Err(CliError::Refused(lines));
        }
        Err(e) => return Err(format!("{}: error[btf]: {e}", a.btf.display()).into()),
    };
    phase("patched");
    let target = a.output.clone().unwrap_or_else(|| a.btf.clone());
    let durability = if a.sync {
        Durability::Fsync
    } else {
        Durability::Writeback
    };
    let written = match &elf {
        // raw BTF: streamed from its parts, never copied whole
        None => write_atomic_with(&target, durability, |w| btf.write_to(w)),
        Some(elf) => match kfunc_scan::btf::elf::replace_btf(elf, btf.to_bytes()) {
            Ok(b) => write_atomic_with(&target, durability, |w| w.write_all(&b)),
            Err(e) => return Err(format!("{}: error[elf]: {e}", a.btf.display()).into()),
        },
    };
    written.map_err(|e| format!("{}: error[write]: {e}", target.display()))?;
    phase("written");
    if let Some(r) = &a.report {
        let mut json = serde_json::to_string_pretty(&report).unwrap_or_default();
        json.push('\n');
        write_atomic(r, json.as_bytes())
            .map_err(|e| format!("{}: error[write]: {e}", r.display()))?;
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
    // The process ends here: the kernel takes back the mapping and the heap
    // at once, faster than thousands of frees (clang's -disable-free).
    std::mem::forget((btf, manifest));
    Ok(Outcome::Clean)
}

/// Exit 0: the kernel accepted it; 1: rejected (by us or the kernel); 2:
/// unreadable, or the kernel could not be asked (the reason is printed).
pub fn run_btf_check(
    file: &std::path::Path,
    base: Option<&std::path::Path>,
) -> Result<Outcome, CliError> {
    use kfunc_scan::btf::kernel;
    let base = base.map(|b| parse_btf_file(b, None)).transpose()?;
    let btf = parse_btf_file(file, base)?;
    match kernel::load(&kernel::standalone(&btf)) {
        Ok(()) => {
            println!(
                "{}: accepted by the running kernel ({} types)",
                file.display(),
                btf.end_id() - 1
            );
            Ok(Outcome::Clean)
        }
        Err(kernel::LoadError::Unavailable(why)) => Err(CliError::CannotRun(format!(
            "{}: note[btf-check]: valid BTF here, but the kernel cannot be asked: {why}",
            file.display()
        ))),
        Err(e) => Err(CliError::Refused(vec![format!(
            "{}: error[kernel]: {e}",
            file.display()
        )])),
    }
}

/// A manifest derived from a BTF's bpf_kfunc tags (tests and benchmarks).
pub fn run_synth(btf: &Path) -> Result<Outcome, CliError> {
    let b = parse_btf_input(btf, None)?;
    print!("{}", kfunc_scan::synth::manifest_from_btf(&b).to_json());
    Ok(Outcome::Clean)
}
