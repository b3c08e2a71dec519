//! `kfunc-scan avail`: the kfuncs a kernel offers, from its BTF: vmlinux
//! and every module's (split on vmlinux), as `/sys/kernel/btf` holds them
//! or as files in a directory (`vmlinux` or `vmlinux.btf`, then the
//! modules: `nf_conntrack` or `nf_conntrack.btf`).
//!
//! Kfuncs are the FUNCs with a `bpf_kfunc` decl tag (pahole 1.26 and later
//! tag every member of a kfunc set). A BTF without any (an older pahole)
//! says nothing of which FUNCs are kfuncs: then the manifest's kfuncs that
//! are FUNCs of the BTF are taken. The manifest also brings what BTF does
//! not record: flags, program types, the doc's summary, and its own
//! prototype to compare with this kernel's.

mod files;
mod find;
mod names;
mod proto_cmp;
mod render;
pub mod version;

pub use files::{release_of, Note};
pub use find::{has_kfunc_tags, kfuncs_in, Found};
pub use names::{did_you_mean, kfunc_names, nearest, resolve_prog_type, shown, UnknownProgType};
pub(crate) use proto_cmp::same_prototype;
pub use render::{fit_width, json, table};

use crate::btf::c::EmitError;
use crate::btf::{Blob, Btf, ReadError};
use crate::cdecl;
use crate::conventions;
use crate::conventions::ArenaPlaces;
use crate::header;
use crate::manifest::{term, BuiltInto, CallableFrom, Kfunc, Manifest};
use serde::Serialize;
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// Where the running kernel's BTF is.
pub const SYSFS_BTF: &str = "/sys/kernel/btf";
pub(crate) const VMLINUX: &str = "vmlinux";
/// The object name of a kfunc defined in vmlinux.
pub(crate) const VMLINUX_OBJECT: &str = "vmlinux";

/// Paths and the sources' words reach the terminal escaped (a message is
/// one line: a name could hold a line break).
#[derive(Debug, thiserror::Error)]
pub enum AvailError {
    #[error("{}: error[read]: {source}", term::path(path))]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{}: error[not-a-file]: {kind}, not a regular file: a kernel's BTF is read from regular files only (a FIFO or a device could block or never end)", term::path(path))]
    NotRegular { path: PathBuf, kind: &'static str },
    #[error("{}: error[btf]: {}", term::path(path), term::escape(&source.to_string()))]
    Btf { path: PathBuf, source: ReadError },
    #[error("{}: error[elf]: {}", term::path(path), term::escape(message))]
    Elf { path: PathBuf, message: String },
    #[error(
        "{}: error[no-vmlinux]: no vmlinux or vmlinux.btf in this directory",
        term::path(dir)
    )]
    NoVmlinux { dir: PathBuf },
    #[error("{}: error[no-decl-tags]: this BTF has no bpf_kfunc decl tags (pahole older than 1.26), so it does not say which FUNCs are kfuncs; pass --manifest M (a manifest of this kernel's source) to name them", term::path(path))]
    NoTags { path: PathBuf },
    #[error("{}: error[btf]: {}", term::path(path), term::escape(&source.to_string()))]
    Emit { path: PathBuf, source: EmitError },
}

/// A kernel's BTF files: vmlinux, then its modules by name.
#[derive(Debug, Clone)]
pub struct BtfDir {
    pub dir: PathBuf,
    pub vmlinux: PathBuf,
    /// (object name, file), sorted by name.
    pub modules: Vec<(String, PathBuf)>,
    /// Entries left out that are neither regular files nor directories
    /// (a FIFO, a device, a socket): not read, so not known to be BTF.
    pub notes: Vec<Note>,
}

/// The BTF files of `dir`: `vmlinux` (or `vmlinux.btf`), and every other
/// regular file that starts with BTF's magic as a module (its name without
/// `.btf`). Links are followed (see `files`); a `vmlinux` that is not a
/// regular file is an error when it is read, other such entries are left
/// out with a note.
pub fn btf_dir(dir: &Path) -> Result<BtfDir, AvailError> {
    let read_err = |source| AvailError::Read {
        path: dir.to_path_buf(),
        source,
    };
    // the first name present that is not a directory: a FIFO or a dangling
    // link named vmlinux is refused by name when read, not passed over
    let vmlinux = [VMLINUX, "vmlinux.btf"]
        .iter()
        .map(|n| dir.join(n))
        .find(|p| {
            std::fs::symlink_metadata(p).is_ok() && !std::fs::metadata(p).is_ok_and(|m| m.is_dir())
        })
        .ok_or_else(|| AvailError::NoVmlinux {
            dir: dir.to_path_buf(),
        })?;
    let mut modules = Vec::new();
    let mut notes = Vec::new();
    for e in std::fs::read_dir(dir).map_err(read_err)? {
        let path = e.map_err(read_err)?.path();
        // RELEASE and config are `release_of`'s, which says what is wrong
        // with them
        let own = path
            .file_name()
            .is_some_and(|n| n == files::RELEASE || n == files::CONFIG);
        if path == vmlinux || own {
            continue;
        }
        // a dangling link or a directory is no module, as a text file is not
        let Ok(meta) = std::fs::metadata(&path) else {
            continue;
        };
        if meta.is_dir() {
            continue;
        }
        if !meta.is_file() {
            notes.push(Note {
                text: format!(
                    "{}, not a regular file: not read as a module's BTF",
                    files::kind_of(&meta.file_type())
                ),
                path,
                code: "not-a-file",
            });
            continue;
        }
        if !starts_with_btf_magic(&path) {
            continue;
        }
        let Some(file) = path.file_name().and_then(|n| n.to_str()) else {
            continue;
        };
        let name = file.strip_suffix(".btf").unwrap_or(file).to_string();
        if name != VMLINUX {
            modules.push((name, path));
        }
    }
    modules.sort();
    Ok(BtfDir {
        dir: dir.to_path_buf(),
        vmlinux,
        modules,
        notes,
    })
}

/// Whether a regular file starts with BTF's magic (a file swapped for a
/// FIFO since it was listed does not block: see `files`).
fn starts_with_btf_magic(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 2];
    files::open_regular(path, false).is_ok_and(|mut f| f.read_exact(&mut magic).is_ok())
        && matches!(magic, [0x9f, 0xeb] | [0xeb, 0x9f])
}

/// A BTF file (raw, or an ELF object's `.BTF`), on `base` for a split BTF.
/// Any file is read, a pipe too (`header --btf <(…)`): the user named it.
pub fn read_btf(path: &Path, base: Option<Btf>) -> Result<Btf, AvailError> {
    let blob = Blob::map(path).map_err(|source| AvailError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_btf(path, blob, base)
}

/// A BTF directory's member: as [`read_btf`], but only a regular file
/// (a directory from someone else may hold a FIFO named `vmlinux`).
pub(crate) fn read_member(path: &Path, base: Option<Btf>) -> Result<Btf, AvailError> {
    let file = files::open_regular(path, false).map_err(|e| match e {
        files::OpenError::NotRegular { kind } => AvailError::NotRegular {
            path: path.to_path_buf(),
            kind,
        },
        files::OpenError::Io(source) => AvailError::Read {
            path: path.to_path_buf(),
            source,
        },
    })?;
    let blob = map_file(file).map_err(|source| AvailError::Read {
        path: path.to_path_buf(),
        source,
    })?;
    parse_btf(path, blob, base)
}

/// A regular file's bytes: mapped, or read where it cannot be (sysfs's
/// `/sys/kernel/btf/*` refuse a private writable mapping), as
/// [`Blob::map`] does with a path.
fn map_file(mut file: std::fs::File) -> std::io::Result<Blob> {
    let len = file.metadata()?.len();
    if len > 0 {
        // SAFETY: a private (copy-on-write) mapping, as Blob::map makes:
        // our writes never reach the file; the one hazard, the file
        // shrinking while mapped, is the BTF crate's `blob` module's.
        #[allow(unsafe_code, reason = "mapping a file is unsafe in memmap2's API")]
        if let Ok(map) = unsafe { memmap2::MmapOptions::new().map_copy(&file) } {
            return Ok(Blob::Mapped(map));
        }
    }
    let mut bytes = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    std::io::Read::read_to_end(&mut file, &mut bytes)?;
    Ok(Blob::Owned(bytes))
}

fn parse_btf(path: &Path, blob: Blob, base: Option<Btf>) -> Result<Btf, AvailError> {
    let blob = if crate::btf::elf::is_elf(&blob) {
        let raw = crate::btf::elf::read_btf(&blob).map_err(|e| AvailError::Elf {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Blob::Owned(raw)
    } else {
        blob
    };
    Btf::parse_blob(blob, base).map_err(|source| AvailError::Btf {
        path: path.to_path_buf(),
        source,
    })
}

/// How the kfuncs were told apart from other FUNCs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum FoundBy {
    /// `bpf_kfunc` decl tags.
    DeclTags,
    /// The manifest's kfuncs found as FUNCs (a BTF without decl tags).
    Manifest,
}

/// One kfunc of the kernel; the manifest's fields are null without one
/// (or when it does not list the kfunc).
#[derive(Debug, Clone, Serialize)]
pub struct Entry {
    pub name: String,
    /// `vmlinux` or the module's name.
    pub object: String,
    /// As BPF programs call it, from this kernel's BTF.
    pub prototype: String,
    pub flags: Option<Vec<String>>,
    /// Every program type that may call it.
    pub prog_types: Option<Vec<String>>,
    pub sleepable: Option<bool>,
    pub summary: Option<String>,
    /// The manifest's prototype, as BPF programs call it.
    pub manifest_prototype: Option<String>,
    /// Whether that is this kernel's (parameter names and types); false
    /// means the manifest comes from another version.
    pub prototype_matches: Option<bool>,
    #[serde(skip)]
    pub callable: Option<CallableFrom>,
    /// The program types its sets are registered for (the table's short
    /// form; `prog_types` adds the types sharing their kfunc hooks).
    #[serde(skip)]
    pub registered: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct Avail {
    pub found_by: FoundBy,
    /// Sorted by name, then object.
    pub kfuncs: Vec<Entry>,
}

/// Where `__arena` goes in a kfunc's prototype, by its manifest flags.
pub fn arena_slots(k: Option<&Kfunc>) -> ArenaPlaces {
    k.map(|k| conventions::arena_places(&k.flags))
        .unwrap_or_default()
}

/// The kfuncs of the kernel whose BTF files `dir` lists.
pub fn avail(dir: &BtfDir, manifest: Option<&Manifest>) -> Result<Avail, AvailError> {
    let by_name: HashMap<&str, &Kfunc> = manifest
        .map(|m| m.kfuncs.iter().map(|k| (k.name.as_str(), k)).collect())
        .unwrap_or_default();
    let mut base = read_member(&dir.vmlinux, None)?;
    let found_by = if has_kfunc_tags(&base) {
        FoundBy::DeclTags
    } else if manifest.is_some() {
        FoundBy::Manifest
    } else {
        return Err(AvailError::NoTags {
            path: dir.vmlinux.clone(),
        });
    };
    let wanted: Vec<&str> = match (found_by, manifest) {
        (FoundBy::Manifest, Some(m)) => m
            .callable_kfuncs()
            .iter()
            .map(|k| k.name.as_str())
            .collect(),
        _ => Vec::new(),
    };
    let wanted = (found_by == FoundBy::Manifest).then_some(&wanted[..]);
    let mut kfuncs = entries(
        &base,
        VMLINUX_OBJECT,
        &dir.vmlinux,
        wanted,
        &by_name,
        manifest,
    )?;
    for (name, path) in &dir.modules {
        let module = read_member(path, Some(base))?;
        kfuncs.extend(entries(&module, name, path, wanted, &by_name, manifest)?);
        // a split BTF always has its base
        base = match module.into_base() {
            Some(b) => b,
            None => break,
        };
    }
    kfuncs.sort_by(|a, b| (&a.name, &a.object).cmp(&(&b.name, &b.object)));
    Ok(Avail { found_by, kfuncs })
}

fn entries(
    btf: &Btf,
    object: &str,
    path: &Path,
    wanted: Option<&[&str]>,
    by_name: &HashMap<&str, &Kfunc>,
    manifest: Option<&Manifest>,
) -> Result<Vec<Entry>, AvailError> {
    let mut out = Vec::new();
    for f in kfuncs_in(btf, wanted) {
        let k = by_name.get(f.name.as_str()).copied();
        let prototype =
            header::prototype(btf, f.func, &arena_slots(k)).map_err(|source| AvailError::Emit {
                path: path.to_path_buf(),
                source,
            })?;
        out.push(entry(f.name, object, prototype, k, manifest));
    }
    Ok(out)
}

fn entry(
    name: String,
    object: &str,
    prototype: String,
    k: Option<&Kfunc>,
    m: Option<&Manifest>,
) -> Entry {
    let (Some(k), Some(m)) = (k, m) else {
        return Entry {
            name,
            object: object.to_string(),
            prototype,
            flags: None,
            prog_types: None,
            sleepable: None,
            summary: None,
            manifest_prototype: None,
            prototype_matches: None,
            callable: None,
            registered: Vec::new(),
        };
    };
    let callable = m.kfunc_callable_from(k);
    let theirs = cdecl::bpf_signature(k);
    Entry {
        prototype_matches: Some(same_prototype(&theirs, &prototype)),
        name,
        object: object.to_string(),
        prototype,
        flags: Some(k.flags.clone()),
        prog_types: Some(callable.every.iter().cloned().collect()),
        sleepable: Some(k.flags.iter().any(|f| f == conventions::FLAG_SLEEPABLE)),
        summary: summary(k),
        manifest_prototype: Some(theirs),
        callable: Some(callable),
        registered: k
            .prog_types
            .iter()
            .filter(|t| *t != conventions::FMODRET)
            .cloned()
            .collect(),
    }
}

/// The first line of the kernel-doc comment, after its ` - ` (as the docs
/// write it).
pub(crate) fn summary(k: &Kfunc) -> Option<String> {
    let doc = crate::docs::doc_text(k.doc.as_deref()?);
    let first = doc.lines().next()?;
    let (_, s) = first.split_once(" - ")?;
    Some(s.trim().to_string()).filter(|s| !s.is_empty())
}

/// `xdp`, `XDP` or `BPF_PROG_TYPE_XDP` as the manifest spells it.
pub(crate) fn prog_type_name(t: &str) -> String {
    let prefix = prog_type_prefix();
    let up = t.to_ascii_uppercase();
    if up.starts_with(prefix) {
        up
    } else {
        format!("{prefix}{up}")
    }
}

/// `BPF_PROG_TYPE_`.
pub(crate) fn prog_type_prefix() -> &'static str {
    conventions::PROG_TYPE_UNSPEC
        .strip_suffix("UNSPEC")
        .unwrap_or(conventions::PROG_TYPE_UNSPEC)
}

impl Avail {
    /// Only the kfuncs `prog_type` (as the manifest spells it) may call;
    /// the kfuncs the manifest does not list are left out (their program
    /// types are unknown): how many is returned.
    pub fn keep_prog_type(&mut self, prog_type: &str) -> usize {
        let mut unknown = 0;
        // `callable` is the manifest's `kfunc_callable_from`: the one rule
        // of `Manifest::may_call`
        self.kfuncs.retain(|e| match &e.callable {
            Some(c) => c.every.contains(prog_type),
            None => {
                unknown += 1;
                false
            }
        });
        unknown
    }
}

/// The manifest's kfuncs a BTF directory's answer does not list, by why:
/// four commands gave four kfunc counts for one kernel without saying why
/// they differ.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LeftOut {
    /// All the manifest's kfuncs.
    pub total: usize,
    /// Not compiled by the manifest's `.config` (its build view).
    pub unbuilt: usize,
    /// Built into a module whose BTF is not in the directory.
    pub module_absent: usize,
    /// Neither: no FUNC of that name (inlined, or another kernel version).
    pub not_found: usize,
}

impl LeftOut {
    pub fn of(r: &Avail, m: &Manifest, dir: &BtfDir) -> LeftOut {
        let listed: HashSet<&str> = r.kfuncs.iter().map(|e| e.name.as_str()).collect();
        // "built" as header and docs count it (`Manifest::built_only`)
        let built_view = m.build.as_ref().map(|_| m.built_only());
        let built: Option<HashSet<&str>> = built_view
            .as_ref()
            .map(|b| b.kfuncs.iter().map(|k| k.name.as_str()).collect());
        let mut out = LeftOut {
            total: m.kfuncs.len(),
            ..LeftOut::default()
        };
        for k in m
            .kfuncs
            .iter()
            .filter(|k| !listed.contains(k.name.as_str()))
        {
            let unbuilt = built.as_ref().is_some_and(|b| !b.contains(k.name.as_str()));
            match &k.object {
                _ if unbuilt => out.unbuilt += 1,
                BuiltInto::Object(o)
                    if o != BuiltInto::VMLINUX && !dir.modules.iter().any(|(n, _)| n == o) =>
                {
                    out.module_absent += 1
                }
                _ => out.not_found += 1,
            }
        }
        out
    }

    /// `" (of the manifest's 271: 108 not built by its .config, 18 in
    /// modules whose BTF is not here, 3 not FUNCs of this BTF)"`, empty
    /// when nothing is left out.
    pub fn describe(&self) -> String {
        let mut why = Vec::new();
        if self.unbuilt > 0 {
            why.push(format!("{} not built by its .config", self.unbuilt));
        }
        if self.module_absent > 0 {
            why.push(format!(
                "{} in modules whose BTF is not here",
                self.module_absent
            ));
        }
        if self.not_found > 0 {
            why.push(format!("{} not FUNCs of this BTF", self.not_found));
        }
        if why.is_empty() {
            return String::new();
        }
        format!(" (of the manifest's {}: {})", self.total, why.join(", "))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prog_type_names() {
        assert_eq!(prog_type_name("xdp"), "BPF_PROG_TYPE_XDP");
        assert_eq!(prog_type_name("BPF_PROG_TYPE_XDP"), "BPF_PROG_TYPE_XDP");
        assert_eq!(prog_type_name("sched_cls"), "BPF_PROG_TYPE_SCHED_CLS");
    }

    #[test]
    fn left_out_adds_up_to_the_manifest() {
        use crate::manifest::{BuildInfo, KfuncSet, SetEntry};
        let kfunc = |name: &str, object: BuiltInto| Kfunc {
            name: name.into(),
            object,
            ..Default::default()
        };
        let entry = |name: &str, built: Option<bool>| SetEntry {
            name: name.into(),
            built,
            ..Default::default()
        };
        let vmlinux = || BuiltInto::Object("vmlinux".into());
        let m = Manifest {
            build: Some(BuildInfo::default()),
            sets: vec![KfuncSet {
                object: vmlinux(),
                entries: vec![
                    entry("shown", Some(true)),
                    entry("inlined", Some(true)),
                    entry("in_mod", Some(true)),
                    entry("in_loaded_mod", Some(true)),
                    // its file is built, its entry's #ifdef is not
                    entry("ifdef_off", Some(false)),
                ],
                ..Default::default()
            }],
            kfuncs: vec![
                kfunc("shown", vmlinux()),
                kfunc("inlined", vmlinux()),
                kfunc("in_mod", BuiltInto::Object("nf_nat".into())),
                kfunc("in_loaded_mod", BuiltInto::Object("fou".into())),
                kfunc("ifdef_off", vmlinux()),
                kfunc("file_off", BuiltInto::NotBuilt),
            ],
            ..Default::default()
        };
        let found = |name: &str| Entry {
            name: name.into(),
            object: "vmlinux".into(),
            prototype: String::new(),
            flags: None,
            prog_types: None,
            sleepable: None,
            summary: None,
            manifest_prototype: None,
            prototype_matches: None,
            callable: None,
            registered: Vec::new(),
        };
        let r = Avail {
            found_by: FoundBy::Manifest,
            kfuncs: vec![found("shown")],
        };
        let dir = BtfDir {
            dir: PathBuf::from("d"),
            vmlinux: PathBuf::from("d/vmlinux"),
            modules: vec![("fou".into(), PathBuf::from("d/fou"))],
            notes: Vec::new(),
        };
        let l = LeftOut::of(&r, &m, &dir);
        assert_eq!(
            l,
            LeftOut {
                total: 6,
                unbuilt: 2,
                module_absent: 1,
                not_found: 2,
            }
        );
        assert_eq!(
            l.describe(),
            " (of the manifest's 6: 2 not built by its .config, 1 in modules whose BTF is not here, 2 not FUNCs of this BTF)"
        );
        // everything listed: nothing to say
        let all = Avail {
            found_by: FoundBy::Manifest,
            kfuncs: m.kfuncs.iter().map(|k| found(&k.name)).collect(),
        };
        assert_eq!(LeftOut::of(&all, &m, &dir).describe(), "");
    }
}
