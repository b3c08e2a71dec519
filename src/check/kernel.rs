//! The kernels `check` checks against, and where each extern of the
//! objects is in one: a manifest (program types, flags, the source's
//! prototypes), a BTF file or a BTF directory (the kernel's own FUNCs and
//! prototypes, as libbpf resolves them), or the running kernel's BTF.

use super::compat::{self, Compat, Side};
use super::object::{BpfObject, RawTypes};
use super::CheckError;
use crate::avail::{self, BtfDir, SYSFS_BTF, VMLINUX_OBJECT};
use crate::btf::{Btf, Kind};
use crate::cdecl;
use crate::conventions::{ArenaPlaces, IMPL_SUFFIX};
use crate::manifest::{term, Kfunc, Manifest};
use std::collections::{HashMap, HashSet};
use std::path::{Path, PathBuf};

/// What a kernel was given as.
#[derive(Debug)]
pub enum Source {
    Manifest(Box<Manifest>),
    BtfFile(PathBuf),
    BtfDir(BtfDir),
}

/// A kernel to check against.
#[derive(Debug)]
pub struct Kernel {
    /// How messages name it (escaped for a terminal).
    pub label: String,
    pub source: Source,
}

/// Where one extern is in one kernel.
#[derive(Debug, Clone)]
pub enum Resolved {
    /// Not a FUNC of the kernel; `alternative` is the `_impl` / reduced
    /// name of the pair that is.
    Missing { alternative: Option<String> },
    Found {
        /// `vmlinux` or the module.
        object: String,
        compat: Compat,
        /// The kernel's prototype, as BPF programs call it.
        prototype: Option<String>,
        /// Whether the FUNC is a kfunc (a `bpf_kfunc` decl tag); None when
        /// the BTF has no decl tags to tell.
        tagged: Option<bool>,
    },
}

impl Kernel {
    /// The kernel `path` names (None: the running kernel's BTF).
    pub fn open(path: Option<&Path>) -> Result<Kernel, CheckError> {
        let Some(path) = path else {
            let dir = avail::btf_dir(Path::new(SYSFS_BTF))?;
            return Ok(Kernel {
                label: format!("the running kernel ({SYSFS_BTF})"),
                source: Source::BtfDir(dir),
            });
        };
        let kernel_err = |why: String| CheckError::Kernel {
            path: path.to_path_buf(),
            why,
        };
        let meta = std::fs::metadata(path).map_err(|e| kernel_err(e.to_string()))?;
        let label = term::path(path).into_owned();
        if meta.is_dir() {
            return Ok(Kernel {
                label,
                source: Source::BtfDir(avail::btf_dir(path)?),
            });
        }
        if !meta.is_file() {
            return Err(kernel_err(
                "not a regular file or a directory: give a manifest, a BTF file or a BTF directory"
                    .into(),
            ));
        }
        if looks_like_json(path) {
            let text = std::fs::read_to_string(path).map_err(|e| kernel_err(e.to_string()))?;
            let m = Manifest::from_json(&text).map_err(|e| {
                kernel_err(format!(
                    "not a readable manifest: line {}, column {}: {e}",
                    e.line(),
                    e.column()
                ))
            })?;
            let label = match &m.kernel_version {
                Some(v) => format!("{label} (Linux {})", term::escape(v)),
                None => label,
            };
            return Ok(Kernel {
                label,
                source: Source::Manifest(Box::new(m)),
            });
        }
        Ok(Kernel {
            label,
            source: Source::BtfFile(path.to_path_buf()),
        })
    }

    /// The manifest, for a kernel given as one.
    pub(crate) fn manifest(&self) -> Option<&Manifest> {
        match &self.source {
            Source::Manifest(m) => Some(m),
            _ => None,
        }
    }

    /// Where each extern of each object is: `[object][extern]`.
    pub(crate) fn resolve(&self, objects: &[BpfObject]) -> Result<Vec<Vec<Resolved>>, CheckError> {
        match &self.source {
            Source::Manifest(m) => Ok(objects.iter().map(|o| in_manifest(m, o)).collect()),
            Source::BtfFile(p) => {
                let btf = avail::read_btf(p, None)?;
                let mut r = Resolver::new(objects);
                r.look_in(&btf, VMLINUX_OBJECT, objects);
                Ok(r.finish(objects))
            }
            Source::BtfDir(dir) => {
                let mut base = avail::read_member(&dir.vmlinux, None)?;
                let mut r = Resolver::new(objects);
                r.look_in(&base, VMLINUX_OBJECT, objects);
                for (name, path) in &dir.modules {
                    if r.done() {
                        break;
                    }
                    let module = avail::read_member(path, Some(base))?;
                    r.look_in(&module, name, objects);
                    base = match module.into_base() {
                        Some(b) => b,
                        None => break,
                    };
                }
                Ok(r.finish(objects))
            }
        }
    }
}

/// Whether a file's first non-blank byte opens a JSON object.
fn looks_like_json(path: &Path) -> bool {
    use std::io::Read;
    let mut head = [0u8; 64];
    let Ok(f) = std::fs::File::open(path) else {
        return false;
    };
    let n = f.take(64).read(&mut head).unwrap_or(0);
    head[..n]
        .iter()
        .find(|b| !b.is_ascii_whitespace())
        .is_some_and(|&b| b == b'{')
}

/// The other name of an `_impl` pair: `foo_impl` ↔ `foo`.
pub(crate) fn pair_name(name: &str) -> String {
    match name.strip_suffix(IMPL_SUFFIX) {
        Some(reduced) => reduced.to_string(),
        None => format!("{name}{IMPL_SUFFIX}"),
    }
}

/// Externs looked up FUNC by FUNC through vmlinux and the modules (the
/// first found wins, as libbpf's `find_ksym_btf_id` takes vmlinux first).
struct Resolver {
    found: Vec<Vec<Option<Resolved>>>,
    /// Names present, for the `_impl` pairs' hints.
    present: HashSet<String>,
    wanted: Vec<String>,
    /// Whether vmlinux has decl tags (then an untagged FUNC is no kfunc).
    tags: Option<bool>,
}

impl Resolver {
    fn new(objects: &[BpfObject]) -> Resolver {
        let mut wanted: Vec<String> = Vec::new();
        for o in objects {
            for e in &o.externs {
                let n = e.kernel_name();
                wanted.push(n.to_string());
                wanted.push(pair_name(n));
            }
        }
        wanted.sort();
        wanted.dedup();
        Resolver {
            found: objects
                .iter()
                .map(|o| vec![None; o.externs.len()])
                .collect(),
            present: HashSet::new(),
            wanted,
            tags: None,
        }
    }

    fn done(&self) -> bool {
        self.found.iter().flatten().all(Option::is_some)
    }

    fn look_in(&mut self, btf: &Btf, object: &str, objects: &[BpfObject]) {
        let tags = *self.tags.get_or_insert_with(|| avail::has_kfunc_tags(btf));
        let tagged: HashSet<String> = if tags {
            avail::kfuncs_in(btf, None)
                .into_iter()
                .map(|f| f.name)
                .collect()
        } else {
            HashSet::new()
        };
        let names: Vec<&str> = self.wanted.iter().map(String::as_str).collect();
        let funcs: HashMap<String, u32> = avail::kfuncs_in(btf, Some(&names))
            .into_iter()
            .map(|f| (f.name, f.func))
            .collect();
        self.present.extend(funcs.keys().cloned());
        let targ = Side { btf, raw: None };
        for (oi, o) in objects.iter().enumerate() {
            let raw_bytes = o.btf.to_bytes();
            let raw = RawTypes::new(&o.btf, &raw_bytes);
            let local = Side {
                btf: &o.btf,
                raw: raw.as_ref(),
            };
            for (ei, e) in o.externs.iter().enumerate() {
                let slot = &mut self.found[oi][ei];
                if slot.is_some() {
                    continue;
                }
                let Some(&func) = funcs.get(e.kernel_name()) else {
                    continue;
                };
                let compat = compat::funcs(&local, e.func, &targ, func);
                // the kernel's prototype, for the message when it differs;
                // only when its types end within the bounds (compared with
                // themselves): the C renderer would follow a cycle of
                // function pointers until its stack ran out
                let finite = || compat::funcs(&targ, func, &targ, func) == Compat::Compatible;
                let prototype = match compat {
                    Compat::Incompatible(_) if finite() => {
                        crate::header::prototype(btf, func, &ArenaPlaces::default()).ok()
                    }
                    _ => None,
                };
                *slot = Some(Resolved::Found {
                    object: object.to_string(),
                    compat,
                    prototype,
                    tagged: tags.then(|| tagged.contains(e.kernel_name())),
                });
            }
        }
    }

    /// Every extern's place; a missing one names its pair when the
    /// kernel has that.
    fn finish(self, objects: &[BpfObject]) -> Vec<Vec<Resolved>> {
        let present = &self.present;
        self.found
            .into_iter()
            .zip(objects)
            .map(|(exts, o)| {
                exts.into_iter()
                    .zip(&o.externs)
                    .map(|(r, e)| {
                        r.unwrap_or_else(|| {
                            let pair = pair_name(e.kernel_name());
                            Resolved::Missing {
                                alternative: present.contains(&pair).then_some(pair),
                            }
                        })
                    })
                    .collect()
            })
            .collect()
    }
}

/// The manifest's kfunc BPF programs call as `name`: its own, or the one
/// whose verifier-supplied arguments make `name` its `_impl` (full
/// prototype), and whether it is the latter.
pub(crate) fn manifest_kfunc<'m>(m: &'m Manifest, name: &str) -> Option<(&'m Kfunc, bool)> {
    if let Some(k) = m.kfunc(name) {
        return Some((k, false));
    }
    (m.kfuncs.iter())
        .find(|k| (k.verifier_args.as_ref()).is_some_and(|v| v.impl_name == name))
        .map(|k| (k, true))
}

/// A manifest's answer for each extern of `o`.
fn in_manifest(m: &Manifest, o: &BpfObject) -> Vec<Resolved> {
    o.externs
        .iter()
        .map(|e| {
            let name = e.kernel_name();
            match manifest_kfunc(m, name) {
                Some((k, full)) => {
                    // the `_impl` name takes every parameter, as the source
                    // declares them; the kfunc's own, those programs pass
                    let (params, prototype) = if full {
                        let all: Vec<String> = k.params.iter().map(|p| p.ty.clone()).collect();
                        (all, cdecl::impl_signature(k))
                    } else {
                        let theirs = cdecl::bpf_params(k).into_iter().map(|p| p.ty).collect();
                        (theirs, Some(cdecl::bpf_signature(k)))
                    };
                    Resolved::Found {
                        object: k.object.object().unwrap_or(VMLINUX_OBJECT).to_string(),
                        compat: manifest_compat(
                            &o.btf,
                            e.func,
                            &params,
                            &cdecl::bpf_return_type(k),
                        ),
                        prototype,
                        tagged: Some(true),
                    }
                }
                None => Resolved::Missing {
                    alternative: manifest_kfunc(m, &pair_name(name)).map(|_| pair_name(name)),
                },
            }
        })
        .collect()
}

/// What a type is, as far as the manifest's C text can say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Class {
    Void,
    Pointer,
    Aggregate,
    Scalar,
    Other,
}

fn class_of_text(ty: &str) -> Class {
    let t = ty.trim();
    if t.contains('*') || t.contains('[') {
        Class::Pointer
    } else if t == "void" {
        Class::Void
    } else if t.starts_with("struct ") || t.starts_with("union ") {
        Class::Aggregate
    } else {
        // an int, an enum or a typedef of one, as kfunc parameters are
        Class::Scalar
    }
}

fn class_of_btf(btf: &Btf, id: u32) -> Class {
    let mut id = id;
    for _ in 0..crate::limits::CHECK_COMPAT_CHAIN_DEPTH {
        let Some(t) = btf.get(id) else {
            return if id == 0 { Class::Void } else { Class::Other };
        };
        match t.kind() {
            Kind::Const | Kind::Volatile | Kind::Restrict | Kind::Typedef | Kind::TypeTag => {
                id = t.target().unwrap_or(0)
            }
            Kind::Ptr | Kind::Array => return Class::Pointer,
            Kind::Struct | Kind::Union | Kind::Fwd => return Class::Aggregate,
            Kind::Int | Kind::Enum | Kind::Enum64 | Kind::Float => return Class::Scalar,
            _ => return Class::Other,
        }
    }
    Class::Other
}

/// The extern's prototype against the manifest's (source) one: the
/// number of parameters BPF programs pass, and for each and the return
/// type pointer / struct / scalar / void. The manifest holds C text, not
/// types: what it cannot tell (a typedef's kind) is taken as compatible.
fn manifest_compat(btf: &Btf, func: u32, theirs: &[String], ret: &str) -> Compat {
    let Some(proto) = btf
        .get(func)
        .and_then(|f| f.target())
        .and_then(|p| btf.get(p))
    else {
        return Compat::Unknown("a FUNC without a prototype".into());
    };
    if proto.kind() != Kind::FuncProto {
        return Compat::Unknown("a FUNC without a prototype".into());
    }
    let local: Vec<u32> = proto.params().map(|(_, t)| t).collect();
    if local.len() != theirs.len() {
        return Compat::Incompatible(format!(
            "{} parameter{} here, {} in the kernel",
            local.len(),
            if local.len() == 1 { "" } else { "s" },
            theirs.len()
        ));
    }
    let differ = |l: Class, t: Class| l != t && l != Class::Other;
    for (i, (l, p)) in local.iter().zip(theirs).enumerate() {
        let (lc, tc) = (class_of_btf(btf, *l), class_of_text(p));
        if differ(lc, tc) {
            return Compat::Incompatible(format!(
                "parameter {}: {} here but `{}` in the kernel",
                i + 1,
                class_word(lc),
                term::escape(p)
            ));
        }
    }
    let (lc, tc) = (
        class_of_btf(btf, proto.return_type().unwrap_or(0)),
        class_of_text(ret),
    );
    if differ(lc, tc) {
        return Compat::Incompatible(format!(
            "the return type is {} here but `{}` in the kernel",
            class_word(lc),
            term::escape(ret)
        ));
    }
    Compat::Compatible
}

fn class_word(c: Class) -> &'static str {
    match c {
        Class::Void => "void",
        Class::Pointer => "a pointer",
        Class::Aggregate => "a struct or union",
        Class::Scalar => "a scalar",
        Class::Other => "another kind",
    }
}
