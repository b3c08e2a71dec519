//! `kfunc-scan check`: will a BPF object's kfunc calls load on a kernel?
//! Before anything is loaded, for every kernel at once: each program's
//! kfunc externs against each kernel's kfuncs (present, prototype as
//! libbpf compares it, program type, sleepable).
//!
//! `object` reads the objects, `kernel` the kernels and where each extern
//! is in one, `compat` libbpf's prototype rule; here each (program, kfunc,
//! kernel) becomes findings.

pub(crate) mod compat;
pub(crate) mod kernel;
pub mod object;

pub(crate) use compat::Compat;
pub use kernel::{Kernel, Resolved};
pub(crate) use object::{BpfObject, Extern, Program};

use crate::avail::AvailError;
use crate::conventions::FLAG_SLEEPABLE;
use crate::manifest::{term, Manifest, Severity};
use serde::Serialize;
use std::path::PathBuf;

/// Why `check` cannot tell (exit 2). Messages are compiler-style, with
/// outside names escaped.
#[derive(Debug, thiserror::Error)]
pub enum CheckError {
    #[error("{}: error[object]: {}", term::path(path), term::escape(why))]
    Object { path: PathBuf, why: String },
    #[error("{}: error[kernel]: {}", term::path(path), term::escape(why))]
    Kernel { path: PathBuf, why: String },
    #[error("{0}")]
    Btf(#[from] AvailError),
}

/// One thing said of a kfunc call.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    pub severity: Severity,
    pub code: &'static str,
    /// Escaped for a terminal.
    pub message: String,
}

/// One kfunc a program calls, on one kernel.
#[derive(Debug, Clone, Serialize)]
pub struct KfuncCell {
    pub name: String,
    pub weak: bool,
    /// `ok`, `missing`, `incompatible`, `not_a_kfunc`, `not_callable`,
    /// `needs_sleepable`, `unverified` (the worst finding's).
    pub status: &'static str,
    /// `vmlinux` or the module defining it, when found.
    pub object: Option<String>,
    pub findings: Vec<Finding>,
}

/// One program on one kernel.
#[derive(Debug, Clone, Serialize)]
pub struct Cell {
    /// The kernel's index in [`Report::kernels`].
    pub kernel: usize,
    /// No error: its kfunc calls pass libbpf and the verifier's kfunc
    /// checks, as far as the kernel's description tells.
    pub loads: bool,
    pub kfuncs: Vec<KfuncCell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ProgramReport {
    pub name: String,
    pub section: String,
    pub prog_type: Option<&'static str>,
    pub sleepable: Option<bool>,
    pub kernels: Vec<Cell>,
}

#[derive(Debug, Clone, Serialize)]
pub struct ObjectReport {
    pub path: String,
    /// Notes on the object as a whole (externs no program reaches, no
    /// kfuncs).
    pub notes: Vec<Finding>,
    pub programs: Vec<ProgramReport>,
}

#[derive(Debug, Clone, Serialize)]
pub struct KernelInfo {
    pub label: String,
    /// `manifest`, `btf` (a file) or `btf_dir`.
    pub source: &'static str,
    /// Whether program types and flags were checked (a manifest).
    pub checks_program_types: bool,
}

/// The object × program × kernel matrix.
#[derive(Debug, Clone, Serialize)]
pub struct Report {
    pub kernels: Vec<KernelInfo>,
    pub objects: Vec<ObjectReport>,
}

impl Report {
    /// Whether anything will not load (an error finding).
    pub fn has_errors(&self) -> bool {
        self.findings()
            .any(|(_, _, _, f)| f.severity == Severity::Error)
    }

    /// Every finding with its object, program and kernel, in order.
    pub(crate) fn findings(
        &self,
    ) -> impl Iterator<Item = (&ObjectReport, &ProgramReport, &Cell, &Finding)> + '_ {
        self.objects.iter().flat_map(|o| {
            o.programs.iter().flat_map(move |p| {
                p.kernels.iter().flat_map(move |c| {
                    c.kfuncs
                        .iter()
                        .flat_map(move |k| k.findings.iter().map(move |f| (o, p, c, f)))
                })
            })
        })
    }
}

/// Checks every object against every kernel.
pub fn check(objects: &[BpfObject], kernels: &[Kernel]) -> Result<Report, CheckError> {
    let mut report = Report {
        kernels: kernels
            .iter()
            .map(|k| KernelInfo {
                label: k.label.clone(),
                source: match k.source {
                    kernel::Source::Manifest(_) => "manifest",
                    kernel::Source::BtfFile(_) => "btf",
                    kernel::Source::BtfDir(_) => "btf_dir",
                },
                checks_program_types: k.manifest().is_some(),
            })
            .collect(),
        objects: objects
            .iter()
            .map(|o| ObjectReport {
                path: term::path(&o.path).into_owned(),
                notes: object_notes(o),
                programs: o
                    .programs
                    .iter()
                    .map(|p| ProgramReport {
                        name: term::escape(&p.name).into_owned(),
                        section: term::escape(&p.section).into_owned(),
                        prog_type: p.def.map(|d| d.prog_type),
                        sleepable: p.def.map(|d| d.sleepable),
                        kernels: Vec::new(),
                    })
                    .collect(),
            })
            .collect(),
    };
    for (ki, k) in kernels.iter().enumerate() {
        let resolved = k.resolve(objects)?;
        for (oi, o) in objects.iter().enumerate() {
            for (pi, p) in o.programs.iter().enumerate() {
                let kfuncs = p
                    .calls
                    .iter()
                    .filter_map(|&ei| {
                        let e = o.externs.get(ei)?;
                        let r = resolved.get(oi)?.get(ei)?;
                        Some(cell(e, r, p, p.tested.contains(&ei), k))
                    })
                    .collect::<Vec<_>>();
                let loads = kfuncs
                    .iter()
                    .all(|c| c.findings.iter().all(|f| f.severity != Severity::Error));
                report.objects[oi].programs[pi].kernels.push(Cell {
                    kernel: ki,
                    loads,
                    kfuncs,
                });
            }
        }
    }
    Ok(report)
}

fn object_notes(o: &BpfObject) -> Vec<Finding> {
    let mut notes = Vec::new();
    if o.externs.is_empty() {
        notes.push(Finding {
            severity: Severity::Note,
            code: "no-kfuncs",
            message: "calls no kfunc (no FUNC in its .ksyms)".into(),
        });
    }
    if !o.unreached.is_empty() {
        let names: Vec<String> = o
            .unreached
            .iter()
            .filter_map(|&i| o.externs.get(i))
            .map(|e| format!("`{}`", term::escape(&e.name)))
            .collect();
        notes.push(Finding {
            severity: Severity::Note,
            code: "unreached-calls",
            message: format!(
                "{} called only from .text functions no program calls: not checked (libbpf still looks them up when it loads the object)",
                names.join(", ")
            ),
        });
    }
    notes
}

/// What is said of extern `e`, called by `p`, on kernel `k`; `tested`: `p`
/// loads its address (`bpf_ksym_exists()`).
fn cell(e: &Extern, r: &Resolved, p: &Program, tested: bool, k: &Kernel) -> KfuncCell {
    let name = term::escape(&e.name).into_owned();
    let mut out = KfuncCell {
        name: name.clone(),
        weak: e.weak,
        status: "ok",
        object: None,
        findings: Vec::new(),
    };
    // a weak extern libbpf cannot resolve is set to 0, not an error: the
    // program loads when it checks bpf_ksym_exists() before the call
    let strong = if e.weak {
        Severity::Note
    } else {
        Severity::Error
    };
    let weak_hint = if e.weak {
        " (__weak: resolved to 0; loads if the program checks bpf_ksym_exists() first)"
    } else {
        ""
    };
    let kname = &k.label;
    // absent: libbpf resolves a weak extern to 0 and leaves its calls
    // unresolved, which the verifier refuses where it reaches them ("invalid
    // kernel function call not eliminated in verifier pass"); behind
    // `if (bpf_ksym_exists(f))` they are dead code it removes
    let (missing, missing_hint) = match (e.weak, tested) {
        (true, true) => (
            Severity::Note,
            " (__weak and tested with bpf_ksym_exists(): resolved to 0, its calls dead code)",
        ),
        (true, false) => (
            Severity::Error,
            " (__weak: resolved to 0, but the program never tests bpf_ksym_exists(), so the call stays and the verifier refuses it)",
        ),
        (false, _) => (Severity::Error, ""),
    };
    let (object, compat, proto, tagged) = match r {
        Resolved::Missing { alternative } => {
            let pair = alternative
                .as_deref()
                .map(|a| {
                    format!(
                        "; it has `{}`, the other name of this `_impl` pair: call that",
                        term::escape(a)
                    )
                })
                .unwrap_or_default();
            say(
                &mut out,
                missing,
                "kfunc-missing",
                "missing",
                format!("`{name}` is not in {kname}{pair}{missing_hint}"),
            );
            return out;
        }
        Resolved::Found {
            object,
            compat,
            prototype,
            tagged,
        } => (object, compat, prototype, tagged),
    };
    out.object = Some(object.clone());
    let theirs = proto
        .as_deref()
        .map(|p| format!(" (the kernel's: `{}`)", term::escape(p)))
        .unwrap_or_default();
    match compat {
        Compat::Compatible => {}
        Compat::Incompatible(why) => say(
            &mut out,
            strong,
            "kfunc-prototype",
            "incompatible",
            format!("`{name}`'s prototype does not match {kname}'s: {why}{theirs}{weak_hint}"),
        ),
        Compat::Unknown(why) => say(
            &mut out,
            Severity::Warning,
            "kfunc-prototype-unchecked",
            "unverified",
            format!("`{name}`'s prototype was not compared with {kname}'s: {why}"),
        ),
    }
    if *tagged == Some(false) {
        say(
                &mut out,
            Severity::Error,
            "not-a-kfunc",
            "not_a_kfunc",
            format!("`{name}` is a function of {kname} but no kfunc (no bpf_kfunc decl tag): the verifier refuses calls to it"),
        );
    }
    if let Some(m) = k.manifest() {
        program_rules(m, e, p, kname, &mut out);
    }
    out
}

/// Program type and sleepable: what only a manifest tells.
fn program_rules(m: &Manifest, e: &Extern, p: &Program, kname: &str, out: &mut KfuncCell) {
    let name = term::escape(&e.name);
    let Some((kf, _)) = kernel::manifest_kfunc(m, e.kernel_name()) else {
        return;
    };
    let Some(def) = p.def else {
        say(
                out,
            Severity::Warning,
            "unknown-section",
            "unverified",
            format!(
                "libbpf knows no program type for SEC(\"{}\"): `{name}`'s program types not checked",
                term::escape(&p.section)
            ),
        );
        return;
    };
    let callable = m.kfunc_callable_from(kf);
    if !callable.every.contains(def.prog_type) {
        let list: Vec<&str> = callable.every.iter().map(String::as_str).collect();
        let shown = if list.is_empty() {
            "none".to_string()
        } else if list.len() > 8 {
            format!("{} and {} more", list[..8].join(", "), list.len() - 8)
        } else {
            list.join(", ")
        };
        say(
            out,
            Severity::Error,
            "kfunc-prog-type",
            "not_callable",
            format!(
                "`{name}` is not callable from {} programs in {kname} (callable from: {shown})",
                def.prog_type
            ),
        );
    } else if let Some(gates) = callable.gated.get(def.prog_type) {
        for g in gates {
            let r = &g.restriction;
            let filter = term::escape(&g.filter);
            if r.unread.is_some() {
                say(
                    out,
                    Severity::Warning,
                    "kfunc-filter",
                    "unverified",
                    format!(
                        "`{name}` from {}: unverifiable: its filter `{filter}` {}",
                        def.prog_type,
                        term::escape(&r.describe())
                    ),
                );
            } else if let Some(allowed) = &r.attach_types {
                match def.attach_type {
                    Some(a) if !allowed.iter().any(|t| t == a) => say(
                        out,
                        Severity::Error,
                        "kfunc-prog-type",
                        "not_callable",
                        format!("`{name}` is not callable from SEC(\"{}\") ({a}) in {kname}: its filter `{filter}` {}", term::escape(&p.section), term::escape(&r.describe())),
                    ),
                    Some(_) => {}
                    None => say(
                        out,
                        Severity::Warning,
                        "kfunc-filter",
                        "unverified",
                        format!("`{name}`: its filter `{filter}` {}; SEC(\"{}\") does not fix the attach type", term::escape(&r.describe()), term::escape(&p.section)),
                    ),
                }
            } else if !r.requires.is_empty() {
                say(
                    out,
                    Severity::Warning,
                    "kfunc-filter",
                    "unverified",
                    format!(
                        "`{name}` from {}: its filter `{filter}` {}",
                        def.prog_type,
                        term::escape(&r.describe())
                    ),
                );
            }
        }
    }
    if kf.flags.iter().any(|f| f == FLAG_SLEEPABLE) && !def.sleepable {
        say(
                out,
            Severity::Error,
            "kfunc-sleepable",
            "needs_sleepable",
            format!(
                "`{name}` is sleepable ({FLAG_SLEEPABLE}) in {kname} and SEC(\"{}\") programs are not: use a sleepable section (`.s`, e.g. fentry.s/, lsm.s/) or syscall",
                term::escape(&p.section)
            ),
        );
    }
}

/// The note for a kernel given as BTF: what it cannot tell.
pub const NOT_CHECKED: &str = "a BTF does not record program types or KF_SLEEPABLE: program types and sleepable not checked; give --kernel MANIFEST";

/// Adds a finding; the cell's status is its first finding's, or its first
/// error's.
fn say(
    out: &mut KfuncCell,
    severity: Severity,
    code: &'static str,
    status: &'static str,
    message: String,
) {
    let first_error =
        severity == Severity::Error && out.findings.iter().all(|f| f.severity != Severity::Error);
    if out.findings.is_empty() || first_error {
        out.status = status;
    }
    out.findings.push(Finding {
        severity,
        code,
        message,
    });
}
