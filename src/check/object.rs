//! A BPF object as libbpf sees it before loading: its kfunc externs, its
//! programs (`SEC()` → program type, sleepable) and which program refers
//! to which extern.
//!
//! libbpf's rules (`bpf_object__collect_externs`, `find_extern_btf_id`):
//! an extern is an undefined global or weak ELF symbol; its BTF is the VAR
//! or FUNC of that name listed by a `DATASEC` named `.kconfig` or
//! `.ksyms`. A FUNC in `.ksyms` (linkage extern) is a kfunc call; a
//! `STB_WEAK` symbol (`__weak`) may be absent from the kernel. A program
//! is a function symbol in an executable section other than `.text`
//! (`.text` holds subprograms, which libbpf appends to each program that
//! calls them, directly or through other subprograms, or takes their
//! address as a callback: a program's kfunc calls are its own and those of
//! the subprograms it reaches, as `bpf_object__reloc_code` finds them).

use crate::btf::{Btf, Kind, Linkage};
use crate::conventions::{SecDef, KSYM_SECTION, SEC_DEFS};
use crate::limits::{
    CHECK_MAX_CALLS, CHECK_MAX_CALL_EDGES, CHECK_MAX_OBJECT_BYTES, CHECK_MAX_PROGRAMS,
};
use object::{Object, ObjectSection, ObjectSymbol, RelocationTarget, SectionFlags, SymbolKind};
use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::{Path, PathBuf};

use super::CheckError;

/// `EM_BPF`: the machine of BPF objects.
const EM_BPF: u16 = 247;
/// `SHF_EXECINSTR`: a section of instructions.
const SHF_EXECINSTR: u64 = 0x4;
/// The section of subprograms (not programs of their own).
const TEXT: &str = ".text";
/// `BPF_JMP | BPF_CALL`: a call (of a helper, a kfunc or a subprogram).
const BPF_CALL: u8 = 0x85;
/// `BPF_LD | BPF_IMM | BPF_DW`: a 64-bit load, two instructions long.
const BPF_LD_IMM64: u8 = 0x18;
/// A call's `src_reg` when it calls a subprogram.
const BPF_PSEUDO_CALL: u8 = 1;

/// A kfunc the object calls: a FUNC of `.ksyms`.
#[derive(Debug, Clone)]
pub struct Extern {
    pub name: String,
    /// Its FUNC in the object's BTF.
    pub func: u32,
    /// `__weak`: the kernel may lack it (`bpf_ksym_exists()`).
    pub weak: bool,
}

impl Extern {
    /// The name looked up in the kernel: libbpf drops a `___flavor` suffix
    /// (`bpf_core_essential_name_len`), so `bpf_foo___v2` is `bpf_foo`.
    /// As `bpf_core_essential_name_len`: the last `X___Y` (X and Y not
    /// underscores) ends the name after its X.
    pub(crate) fn kernel_name(&self) -> &str {
        let b = self.name.as_bytes();
        let sep = |i: usize| b[i] != b'_' && &b[i + 1..i + 4] == b"___" && b[i + 4] != b'_';
        match (0..b.len().saturating_sub(4)).rev().find(|&i| sep(i)) {
            Some(i) => &self.name[..i + 1],
            None => &self.name,
        }
    }
}

/// One program of the object.
#[derive(Debug, Clone)]
pub struct Program {
    /// Its function's name.
    pub name: String,
    /// Its ELF section (`SEC()`).
    pub section: String,
    /// libbpf's table entry for the section; None when libbpf knows no
    /// program type for it.
    pub def: Option<&'static SecDef>,
    /// The externs it refers to (indices into [`BpfObject::externs`]).
    pub calls: BTreeSet<usize>,
    /// Those whose address it loads (`bpf_ksym_exists()`: a 64-bit load
    /// relocated against the extern), in its own code or a function it
    /// reaches: a call of an absent `__weak` kfunc is dead code then.
    pub tested: BTreeSet<usize>,
}

/// A BPF object read for `check`.
#[derive(Debug)]
pub struct BpfObject {
    pub path: PathBuf,
    pub btf: Btf,
    pub externs: Vec<Extern>,
    pub programs: Vec<Program>,
    /// Externs no program reaches (called only from `.text` functions no
    /// program calls): libbpf still resolves them when it loads the
    /// object, but the verifier never sees their calls.
    pub unreached: BTreeSet<usize>,
}

/// libbpf's `sec_def_matches`: `name+` is `name` or `name/…`, `name/` is
/// any `name/…`, anything else the name exactly; the first entry that
/// matches wins. A leading `?` (a program not loaded by default) is not
/// part of the name, as `bpf_object__init_prog` drops it.
pub(crate) fn sec_def(section: &str) -> Option<&'static SecDef> {
    let section = section.strip_prefix('?').unwrap_or(section);
    SEC_DEFS.iter().find(|d| {
        if let Some(prefix) = d.sec.strip_suffix('+') {
            section
                .strip_prefix(prefix)
                .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        } else if d.sec.ends_with('/') {
            section.starts_with(d.sec)
        } else {
            section == d.sec
        }
    })
}

/// Reads the BPF object at `path`.
pub fn read(path: &Path) -> Result<BpfObject, CheckError> {
    let err = |why: String| CheckError::Object {
        path: path.to_path_buf(),
        why,
    };
    let data = read_bounded(path).map_err(&err)?;
    let file = object::File::parse(&*data).map_err(|e| err(format!("not an ELF object: {e}")))?;
    let machine = match &file {
        object::File::Elf64(f) => f.elf_header().e_machine.get(f.endian()),
        object::File::Elf32(f) => f.elf_header().e_machine.get(f.endian()),
        _ => return Err(err("not an ELF object".into())),
    };
    if machine != EM_BPF {
        return Err(err(format!(
            "not a BPF object (ELF machine {machine}, BPF's is {EM_BPF})"
        )));
    }
    let section = file
        .section_by_name(crate::btf::elf::SECTION)
        .ok_or_else(|| {
            err("no .BTF section: kfunc calls are named by BTF (build with clang -g)".into())
        })?;
    let raw = section
        .uncompressed_data()
        .map_err(|e| err(format!(".BTF: {e}")))?;
    let btf = Btf::parse(&raw, None).map_err(|e| err(format!(".BTF: {e}")))?;
    let ksyms = ksym_funcs(&btf, &raw).map_err(&err)?;

    // the undefined symbols naming a .ksyms FUNC, and their binding
    let mut externs: Vec<Extern> = Vec::new();
    let mut by_symbol: HashMap<usize, usize> = HashMap::new();
    let mut by_name: HashMap<String, usize> = HashMap::new();
    for sym in file.symbols() {
        if !sym.is_undefined() || sym.is_local() {
            continue;
        }
        let Ok(name) = sym.name() else { continue };
        let Some(&func) = ksyms.get(name) else {
            continue;
        };
        let i = *by_name.entry(name.to_string()).or_insert_with(|| {
            externs.push(Extern {
                name: name.to_string(),
                func,
                weak: sym.is_weak(),
            });
            externs.len() - 1
        });
        by_symbol.insert(sym.index().0, i);
    }

    // functions: the function symbols of executable sections, gathered in
    // one pass (an object may have a million sections and symbols)
    let mut funcs_of: HashMap<usize, BTreeMap<u64, (u64, String)>> = HashMap::new();
    for sym in file.symbols() {
        if sym.kind() != SymbolKind::Text {
            continue;
        }
        if let (Some(sec), Ok(n)) = (sym.section_index(), sym.name()) {
            let funcs = funcs_of.entry(sec.0).or_default();
            funcs.insert(sym.address(), (sym.size(), n.to_string()));
        }
    }
    let text_index = file.section_by_name(TEXT).map(|s| s.index().0);
    // the .text subprograms, by start; a .text without function symbols is
    // one subprogram (every call into it reaches all its kfunc calls)
    let mut subprograms: Vec<Function> = Vec::new();
    let mut sub_starts: Vec<u64> = Vec::new();
    if let Some(t) = text_index {
        let mut funcs = funcs_of.remove(&t).unwrap_or_default();
        if funcs.is_empty() {
            funcs.insert(0, (0, TEXT.to_string()));
        }
        for start in funcs.into_keys() {
            sub_starts.push(start);
            subprograms.push(Function::default());
        }
    }
    let little = file.is_little_endian();
    let mut programs: Vec<Program> = Vec::new();
    // each program's own kfunc calls and calls into .text
    let mut bodies: Vec<Function> = Vec::new();
    for s in file.sections() {
        let SectionFlags::Elf { sh_flags } = s.flags() else {
            continue;
        };
        if sh_flags & SHF_EXECINSTR == 0 {
            continue;
        }
        let Ok(section) = s.name() else { continue };
        let text = Some(s.index().0) == text_index;
        // (start, owner) of this section's functions, by start
        let spans: Vec<(u64, Owner)> = if text {
            (sub_starts.iter().enumerate())
                .map(|(i, &a)| (a, Owner::Sub(i)))
                .collect()
        } else {
            let mut funcs = funcs_of.remove(&s.index().0).unwrap_or_default();
            if funcs.is_empty() {
                funcs.insert(0, (s.size(), section.to_string()));
            }
            if programs.len() + funcs.len() > CHECK_MAX_PROGRAMS {
                return Err(err(format!(
                    "more than {CHECK_MAX_PROGRAMS} programs (CHECK_MAX_PROGRAMS)"
                )));
            }
            let mut spans = Vec::with_capacity(funcs.len());
            for (start, (_, name)) in funcs {
                spans.push((start, Owner::Prog(programs.len())));
                programs.push(Program {
                    name,
                    section: section.to_string(),
                    def: sec_def(section),
                    calls: BTreeSet::new(),
                    tested: BTreeSet::new(),
                });
                bodies.push(Function::default());
            }
            spans
        };
        // the function whose bytes hold the instruction at `offset`: the
        // last one starting at or before it
        let owner_at = |offset: u64| {
            let at = spans.partition_point(|(a, _)| *a <= offset);
            at.checked_sub(1)
                .and_then(|i| spans.get(i))
                .map(|(_, o)| *o)
        };
        let data = s.data().unwrap_or(&[]);
        // the symbol each relocated instruction refers to: its section and
        // value, None for an extern (a kfunc call is a BPF_PSEUDO_CALL too
        // in an object, relocated against the extern)
        let mut relocated: HashMap<u64, Option<(Option<usize>, u64)>> = HashMap::new();
        for (offset, reloc) in s.relocations() {
            let RelocationTarget::Symbol(sym) = reloc.target() else {
                continue;
            };
            if let Some(&ext) = by_symbol.get(&sym.0) {
                relocated.insert(offset, None);
                let Some(o) = owner_at(offset) else { continue };
                let f = match o {
                    Owner::Sub(i) => subprograms.get_mut(i),
                    Owner::Prog(i) => bodies.get_mut(i),
                };
                if let Some(f) = f {
                    f.externs.insert(ext);
                    let at = usize::try_from(offset).unwrap_or(usize::MAX);
                    if data.get(at) == Some(&BPF_LD_IMM64) {
                        f.tested.insert(ext);
                    }
                }
                continue;
            }
            if let Ok(target) = file.symbol_by_index(sym) {
                relocated.insert(
                    offset,
                    Some((target.section_index().map(|i| i.0), target.address())),
                );
            }
        }
        // calls into .text (BPF_PSEUDO_CALL) and addresses of .text
        // functions (callbacks: a 64-bit load relocated against .text,
        // which libbpf makes a BPF_PSEUDO_FUNC), found as libbpf's
        // bpf_object__record_reloc and bpf_object__reloc_code find them
        let mut at = 0usize;
        while let Some(insn) = data.get(at..at + 8) {
            let code = insn[0];
            let src = if little { insn[1] >> 4 } else { insn[1] & 0xf };
            let imm = i32::from_le_bytes([insn[4], insn[5], insn[6], insn[7]]);
            let imm = if little { imm } else { imm.swap_bytes() };
            let offset = at as u64;
            at += if code == BPF_LD_IMM64 { 16 } else { 8 };
            let target = match (code, src, relocated.get(&offset)) {
                (BPF_CALL, BPF_PSEUDO_CALL, Some(&Some((sec, value)))) if sec == text_index => {
                    (value / 8).checked_add_signed(i64::from(imm) + 1)
                }
                // a call within its own section: relative to the call
                (BPF_CALL, BPF_PSEUDO_CALL, None) => {
                    (offset / 8).checked_add_signed(i64::from(imm) + 1)
                }
                (BPF_LD_IMM64, _, Some(&Some((sec, value)))) if sec == text_index => {
                    value.checked_add_signed(i64::from(imm)).map(|b| b / 8)
                }
                _ => None,
            };
            let callee = target.and_then(|insn| {
                let byte = insn.checked_mul(8)?;
                sub_starts.partition_point(|a| *a <= byte).checked_sub(1)
            });
            let (Some(callee), Some(o)) = (callee, owner_at(offset)) else {
                continue;
            };
            let f = match o {
                Owner::Sub(i) => subprograms.get_mut(i),
                Owner::Prog(i) => bodies.get_mut(i),
            };
            if let Some(f) = f {
                f.callees.insert(callee);
            }
        }
    }
    let unreached = follow(&mut programs, &bodies, &subprograms, externs.len()).map_err(&err)?;
    Ok(BpfObject {
        path: path.to_path_buf(),
        btf,
        externs,
        programs,
        unreached,
    })
}

/// A program's or subprogram's own kfunc calls and calls into `.text`.
#[derive(Debug, Default)]
struct Function {
    /// Indices into the externs.
    externs: BTreeSet<usize>,
    /// Externs whose address it loads (see [`Program::tested`]).
    tested: BTreeSet<usize>,
    /// Indices into the `.text` subprograms.
    callees: BTreeSet<usize>,
}

/// Which function an instruction belongs to.
#[derive(Debug, Clone, Copy)]
enum Owner {
    Prog(usize),
    Sub(usize),
}

/// Each program's kfunc calls: its own and those of the subprograms it
/// reaches, as libbpf appends the subprograms a program calls (and those
/// they call) to it. Returns the externs no program reaches. Bounded: at most [`CHECK_MAX_CALL_EDGES`]
/// calls between functions followed in all, [`CHECK_MAX_CALLS`] calls.
fn follow(
    programs: &mut [Program],
    bodies: &[Function],
    subprograms: &[Function],
    externs: usize,
) -> Result<BTreeSet<usize>, String> {
    let mut edges = 0usize;
    let mut total = 0usize;
    // visited[sub] == stamp: reached by the current program
    let mut visited = vec![0u32; subprograms.len()];
    let mut reached_any = vec![false; externs];
    let mut stack: Vec<usize> = Vec::new();
    for (stamp, (p, body)) in (1u32..).zip(programs.iter_mut().zip(bodies)) {
        let mut calls = body.externs.clone();
        let mut tested = body.tested.clone();
        stack.clear();
        stack.extend(body.callees.iter().copied());
        edges += body.callees.len();
        while let Some(sub) = stack.pop() {
            if edges > CHECK_MAX_CALL_EDGES {
                return Err(format!(
                    "more than {CHECK_MAX_CALL_EDGES} calls between functions to follow (CHECK_MAX_CALL_EDGES)"
                ));
            }
            let (Some(seen), Some(f)) = (visited.get_mut(sub), subprograms.get(sub)) else {
                continue;
            };
            if *seen == stamp {
                continue;
            }
            *seen = stamp;
            calls.extend(f.externs.iter().copied());
            tested.extend(f.tested.iter().copied());
            edges += f.callees.len();
            stack.extend(f.callees.iter().copied());
        }
        if edges > CHECK_MAX_CALL_EDGES {
            return Err(format!(
                "more than {CHECK_MAX_CALL_EDGES} calls between functions to follow (CHECK_MAX_CALL_EDGES)"
            ));
        }
        total = total.saturating_add(calls.len());
        for &e in &calls {
            if let Some(r) = reached_any.get_mut(e) {
                *r = true;
            }
        }
        // past the bound the sets are not kept: only their sizes, for the
        // message
        if total <= CHECK_MAX_CALLS {
            p.calls = calls;
            p.tested = tested;
        }
    }
    if total > CHECK_MAX_CALLS {
        return Err(format!(
            "{total} kfunc calls to check (programs × the kfuncs each calls), more than {CHECK_MAX_CALLS} (CHECK_MAX_CALLS)"
        ));
    }
    let unreached = (0..externs).filter(|&e| !reached_any[e]).collect();
    Ok(unreached)
}

/// The file's bytes, if it is a regular file no larger than
/// [`CHECK_MAX_OBJECT_BYTES`] (a FIFO or device could block or never end).
fn read_bounded(path: &Path) -> Result<Vec<u8>, String> {
    use std::io::Read;
    use std::os::unix::fs::OpenOptionsExt;
    let meta = std::fs::metadata(path).map_err(|e| e.to_string())?;
    if !meta.is_file() {
        return Err("not a regular file".into());
    }
    let too_big = |n: u64| {
        format!("{n} bytes, more than a BPF object may have here ({CHECK_MAX_OBJECT_BYTES}, CHECK_MAX_OBJECT_BYTES)")
    };
    if meta.len() > CHECK_MAX_OBJECT_BYTES {
        return Err(too_big(meta.len()));
    }
    let file = std::fs::OpenOptions::new()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(|e| e.to_string())?;
    if !file.metadata().map_err(|e| e.to_string())?.is_file() {
        return Err("not a regular file".into());
    }
    let mut bytes = Vec::new();
    file.take(CHECK_MAX_OBJECT_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(|e| e.to_string())?;
    if bytes.len() as u64 > CHECK_MAX_OBJECT_BYTES {
        return Err(too_big(bytes.len() as u64));
    }
    Ok(bytes)
}

/// The FUNCs with extern linkage a `.ksyms` DATASEC lists, by name.
/// `Btf` does not decode a DATASEC's entries, so they are read from the
/// blob `btf` was parsed from (and validated) here.
fn ksym_funcs(btf: &Btf, raw: &[u8]) -> Result<HashMap<String, u32>, String> {
    let mut out = HashMap::new();
    for ds in btf.own_types_of(|k| k == Kind::Datasec) {
        if btf.name(&ds) != KSYM_SECTION {
            continue;
        }
        for var in datasec_entries(btf, raw, ds.id())? {
            let Some(t) = btf.get(var) else { continue };
            if t.kind() == Kind::Func && t.linkage() == Some(Linkage::Extern) {
                out.insert(btf.name(&t).to_string(), var);
            }
        }
    }
    Ok(out)
}

/// The types a DATASEC lists (its `btf_var_secinfo`s' `type`).
fn datasec_entries(btf: &Btf, raw: &[u8], id: u32) -> Result<Vec<u32>, String> {
    let rec = RawTypes::new(btf, raw)
        .and_then(|r| r.record(id))
        .ok_or_else(|| ".BTF: a DATASEC's record could not be read".to_string())?;
    let e = btf.endian();
    let vlen = usize::from(rec.vlen);
    Ok((0..vlen)
        .filter_map(|i| rec.extra.get(i * 12..i * 12 + 4).map(|w| e.u32(w)))
        .collect())
}

/// The records of a raw, already validated, base BTF blob, by ID.
pub(crate) struct RawTypes<'a> {
    types: &'a [u8],
    offsets: Vec<usize>,
    endian: crate::btf::Endian,
}

/// One record's info and kind-specific words.
pub(crate) struct RawRecord<'a> {
    pub vlen: u16,
    pub extra: &'a [u8],
}

impl<'a> RawTypes<'a> {
    pub(crate) fn new(btf: &Btf, raw: &'a [u8]) -> Option<RawTypes<'a>> {
        let e = btf.endian();
        let word = |at: usize| raw.get(at..at + 4).map(|b| e.u32(b) as usize);
        let hdr_len = word(4)?;
        let (type_off, type_len) = (word(8)?, word(12)?);
        let start = hdr_len.checked_add(type_off)?;
        let types = raw.get(start..start.checked_add(type_len)?)?;
        let mut offsets = Vec::new();
        let mut at = 0usize;
        while at + 12 <= types.len() {
            offsets.push(at);
            let info = e.u32(&types[at + 4..at + 8]);
            let kind = Kind::from_info(info)?;
            at += 12 + kind.extra_len((info & 0xffff) as u16);
        }
        Some(RawTypes {
            types,
            offsets,
            endian: e,
        })
    }

    pub(crate) fn record(&self, id: u32) -> Option<RawRecord<'a>> {
        let i = usize::try_from(id).ok()?.checked_sub(1)?;
        let at = *self.offsets.get(i)?;
        let info = self.endian.u32(self.types.get(at + 4..at + 8)?);
        let kind = Kind::from_info(info)?;
        let vlen = (info & 0xffff) as u16;
        let extra = self.types.get(at + 12..at + 12 + kind.extra_len(vlen))?;
        Some(RawRecord { vlen, extra })
    }

    /// An INT's bit offset (`BTF_INT_OFFSET`): libbpf refuses a nonzero
    /// one (bitfield-like integers) in a prototype.
    pub(crate) fn int_offset(&self, id: u32) -> Option<u32> {
        let r = self.record(id)?;
        let w = self.endian.u32(r.extra.get(0..4)?);
        Some((w >> 16) & 0xff)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sections_match_as_libbpf_matches_them() {
        let t = |s: &str| sec_def(s).map(|d| (d.prog_type, d.sleepable));
        assert_eq!(
            t("tp_btf/task_newtask"),
            Some(("BPF_PROG_TYPE_TRACING", false))
        );
        assert_eq!(t("fentry.s/do_x"), Some(("BPF_PROG_TYPE_TRACING", true)));
        assert_eq!(t("xdp"), Some(("BPF_PROG_TYPE_XDP", false)));
        assert_eq!(t("syscall"), Some(("BPF_PROG_TYPE_SYSCALL", true)));
        // `kprobe+` takes `kprobe` and `kprobe/…`, not `kprobex`
        assert_eq!(t("kprobe"), Some(("BPF_PROG_TYPE_KPROBE", false)));
        assert_eq!(t("kprobex"), None);
        // an exact name takes nothing after it
        assert_eq!(t("xdp/foo"), None);
        assert_eq!(t(".text"), None);
        // `?`: the same program type, not loaded unless asked
        assert_eq!(t("?raw_tp"), Some(("BPF_PROG_TYPE_RAW_TRACEPOINT", false)));
        assert_eq!(t("?lsm.s/bpf"), Some(("BPF_PROG_TYPE_LSM", true)));
        assert_eq!(t("??raw_tp"), None);
    }

    #[test]
    fn flavors_are_dropped_for_the_kernel() {
        let e = |n: &str| Extern {
            name: n.into(),
            func: 1,
            weak: false,
        };
        assert_eq!(e("bpf_foo___v2").kernel_name(), "bpf_foo");
        assert_eq!(e("bpf_foo").kernel_name(), "bpf_foo");
        assert_eq!(e("___x").kernel_name(), "___x");
        assert_eq!(e("a___b___c").kernel_name(), "a___b");
        assert_eq!(e("a____b").kernel_name(), "a____b");
    }
}
