//! The kfunc sets a built kernel object holds, read from its `.BTF_ids`
//! section and `.BTF`: the ground truth the scanner's build view is checked
//! against, derived without the scanner.
//!
//! The layout (include/linux/btf_ids.h, tools/bpf/resolve_btfids): a set made
//! by `BTF_SET8_START`/`BTF_KFUNCS_START` is the symbol
//! `__BTF_ID__set8__NAME` in `.BTF_ids`, heading `{u32 count, u32 flags}` and
//! then `count` pairs `{u32 btf_id, u32 flags}`, all in the object's byte
//! order. resolve_btfids fills in the count, the IDs (of the object's own
//! `.BTF`; a module's is split on vmlinux's) and sorts the pairs by ID, at
//! build time: a `.ko` holds them resolved too, so a relocation against the
//! section, an ID 0 or an ID its BTF lacks is an error here. The set's flags
//! say `BTF_SET8_KFUNCS` for a kfunc set (`BTF_KFUNCS_START`), nothing for a
//! plain set8 (an fmod_ret set).
use kfunc_scan::btf::Btf;
use object::{Endianness, Object, ObjectSection, ObjectSymbol, SectionKind};
use serde::Serialize;
use std::path::{Path, PathBuf};

/// The set's flag saying it holds kfuncs (`BTF_KFUNCS_START`).
pub const BTF_SET8_KFUNCS: u32 = 1 << 0;
const SET8: &str = "__BTF_ID__set8__";

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuiltSet {
    /// The set's name in the source (`nf_ct_kfunc_set`).
    pub name: String,
    /// `vmlinux` or the module's name (`nf_conntrack`).
    pub object: String,
    /// The set's flags hold `BTF_SET8_KFUNCS`.
    pub kfuncs: bool,
    /// The set's flags word as built.
    pub flags: u32,
    /// In the section's order: by BTF ID, as resolve_btfids sorted them.
    pub entries: Vec<BuiltEntry>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BuiltEntry {
    /// The name of the BTF type the ID is.
    pub name: String,
    /// The ID, in the object's BTF (a module's: split, after vmlinux's).
    pub btf_id: u32,
    /// The entry's `KF_*` flags as built.
    pub flags: u32,
}

/// An object's sets and its BTF (a module's takes vmlinux's as its base).
pub struct ObjectSets {
    pub btf: Option<Btf>,
    pub sets: Vec<BuiltSet>,
}

/// The sets of the ELF object `elf`, named `object`; `base` is vmlinux's BTF
/// when `elf` is a module. Sets come in the section's order.
pub fn read_object(object: &str, elf: &[u8], base: Option<&Btf>) -> Result<ObjectSets, String> {
    let err = |m: String| format!("{object}: {m}");
    let file = object::File::parse(elf).map_err(|e| err(format!("not an ELF object: {e}")))?;
    let endian = file.endianness();
    let btf = match file.section_by_name(".BTF") {
        Some(s) => {
            let data = s.data().map_err(|e| err(format!(".BTF: {e}")))?;
            Some(Btf::parse(data, base.cloned()).map_err(|e| err(format!(".BTF: {e}")))?)
        }
        None => None,
    };
    let Some(ids) = file.section_by_name(".BTF_ids") else {
        return Ok(ObjectSets {
            btf,
            sets: Vec::new(),
        });
    };
    if ids.kind() == SectionKind::UninitializedData {
        return Err(err(
            ".BTF_ids has no data (NOBITS): a debug-only copy".into()
        ));
    }
    if ids.relocations().next().is_some() {
        return Err(err(
            ".BTF_ids has relocations: its IDs are not resolved".into()
        ));
    }
    let data = ids.data().map_err(|e| err(format!(".BTF_ids: {e}")))?;
    let word = |off: u64| -> Result<u32, String> {
        let at = usize::try_from(off)
            .ok()
            .filter(|&a| a <= data.len().saturating_sub(4));
        let b = at
            .map(|a| [data[a], data[a + 1], data[a + 2], data[a + 3]])
            .ok_or_else(|| err(format!(".BTF_ids: offset {off} is past its end")))?;
        Ok(match endian {
            Endianness::Little => u32::from_le_bytes(b),
            Endianness::Big => u32::from_be_bytes(b),
        })
    };

    let mut heads = Vec::new();
    for sym in file.symbols() {
        let Some(name) = sym.name().ok().and_then(|n| n.strip_prefix(SET8)) else {
            continue;
        };
        if sym.section_index() != Some(ids.index()) {
            return Err(err(format!("{SET8}{name} is not in .BTF_ids")));
        }
        let off = sym
            .address()
            .checked_sub(ids.address())
            .ok_or_else(|| err(format!("{SET8}{name} is before .BTF_ids")))?;
        heads.push((off, name.to_string()));
    }
    heads.sort();

    let mut sets = Vec::new();
    for (off, name) in heads {
        let count = word(off)?;
        let flags = word(off + 4)?;
        let mut entries = Vec::new();
        for i in 0..u64::from(count) {
            let at = off + 8 + 8 * i;
            let btf_id = word(at)?;
            let flags = word(at + 4)?;
            let btf = btf
                .as_ref()
                .ok_or_else(|| err("no .BTF to name the IDs".into()))?;
            let t = match btf_id {
                0 => None,
                id => btf.get(id),
            };
            let entry_name = t.as_ref().map(|t| btf.name(t)).unwrap_or("");
            if entry_name.is_empty() {
                return Err(err(format!(
                    "set {name}, entry {i}: ID {btf_id} is {}",
                    if btf_id == 0 {
                        "unresolved"
                    } else if t.is_none() {
                        "not in the BTF"
                    } else {
                        "a type without a name"
                    }
                )));
            }
            entries.push(BuiltEntry {
                name: entry_name.to_string(),
                btf_id,
                flags,
            });
        }
        sets.push(BuiltSet {
            name,
            object: object.to_string(),
            kfuncs: flags & BTF_SET8_KFUNCS != 0,
            flags,
            entries,
        });
    }
    Ok(ObjectSets { btf, sets })
}

/// The objects of a folder `scripts/fetch-built-kernel.sh` made: `vmlinux`,
/// then `modules/*.ko` by name.
pub fn objects(dir: &Path) -> Result<(PathBuf, Vec<PathBuf>), String> {
    let vmlinux = dir.join("vmlinux");
    let mdir = dir.join("modules");
    let mut modules: Vec<PathBuf> = std::fs::read_dir(&mdir)
        .map_err(|e| format!("{}: {e}", mdir.display()))?
        .map(|e| {
            e.map(|e| e.path())
                .map_err(|e| format!("{}: {e}", mdir.display()))
        })
        .collect::<Result<_, _>>()?;
    modules.retain(|p| p.extension().is_some_and(|x| x == "ko"));
    modules.sort();
    Ok((vmlinux, modules))
}

/// The name a module object goes by: its file name less `.ko`.
pub fn module_name(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// Every set of the built kernel in `dir`: vmlinux's, then each module's.
pub fn read_built_kernel(dir: &Path) -> Result<Vec<BuiltSet>, String> {
    let (vmlinux, modules) = objects(dir)?;
    let read = |p: &Path| std::fs::read(p).map_err(|e| format!("{}: {e}", p.display()));
    let base = read_object("vmlinux", &read(&vmlinux)?, None)?;
    let vmlinux_btf = base.btf.ok_or("vmlinux: no .BTF")?;
    let mut sets = base.sets;
    for m in &modules {
        sets.extend(read_object(&module_name(m), &read(m)?, Some(&vmlinux_btf))?.sets);
    }
    Ok(sets)
}
