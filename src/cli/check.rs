//! `kfunc-scan check OBJ.o… [--kernel K]…`: will a BPF object's kfunc
//! calls load on these kernels? Exit 0 every program loads, 1 something
//! will not, 2 cannot tell.

use super::{CliError, Outcome};
use clap::Args;
use kfunc_scan::check::{self, Kernel, Report, NOT_CHECKED};
use kfunc_scan::manifest::Severity;
use std::io::Write;
use std::path::PathBuf;

#[derive(Clone, Copy, clap::ValueEnum)]
pub enum CheckFormat {
    /// Compiler-style diagnostics and one line per object and kernel.
    Text,
    /// {"kernels", "objects": [{"programs": [{"kernels": [{"loads", "kfuncs"}]}]}]}:
    /// the object × program × kernel matrix.
    Json,
}

#[derive(Args)]
pub struct CheckArgs {
    /// BPF objects (`clang -g -target bpf -c x.bpf.c`).
    #[arg(required = true, value_name = "OBJ.o")]
    pub objects: Vec<PathBuf>,
    /// A kernel: a manifest (`kfunc-scan TREE -o m.json`: program types and
    /// flags are checked too), a BTF file (raw or vmlinux ELF) or a BTF
    /// directory (as `avail --btf-dir` takes). Repeat for several kernels.
    /// Default: the running kernel (/sys/kernel/btf).
    #[arg(long, value_name = "K")]
    pub kernel: Vec<PathBuf>,
    #[arg(long, value_enum, default_value = "text")]
    pub format: CheckFormat,
    /// Write the report here (atomically) instead of to stdout.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<std::path::PathBuf>,
    /// Text: errors and warnings only (no notes, no line per object and
    /// kernel); the exit status still says whether everything loads.
    #[arg(short, long)]
    pub quiet: bool,
}

pub fn run(a: CheckArgs) -> Result<Outcome, CliError> {
    // checked before any object is read
    let output = match &a.output {
        Some(p) => Some(super::check_outputs(&[p])?.remove(0)),
        None => None,
    };
    let err = |e: check::CheckError| CliError::CannotRun(e.to_string());
    let objects = (a.objects.iter())
        .map(|p| check::object::read(p))
        .collect::<Result<Vec<_>, _>>()
        .map_err(err)?;
    let kernels = if a.kernel.is_empty() {
        vec![Kernel::open(None).map_err(err)?]
    } else {
        (a.kernel.iter())
            .map(|k| Kernel::open(Some(k)))
            .collect::<Result<Vec<_>, _>>()
            .map_err(err)?
    };
    let report = check::check(&objects, &kernels).map_err(err)?;
    let outcome = if report.has_errors() {
        Outcome::Findings
    } else {
        Outcome::Clean
    };
    if let Some(out) = output {
        let bytes = match a.format {
            CheckFormat::Text => text(&report, a.quiet).into_bytes(),
            CheckFormat::Json => {
                let mut v = serde_json::to_vec_pretty(&report)
                    .map_err(|e| CliError::CannotRun(format!("error[json]: {e}")))?;
                v.push(b'\n');
                v
            }
        };
        super::write_output(&out, &bytes)?;
        return Ok(outcome);
    }
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    let written = match a.format {
        CheckFormat::Text => out.write_all(text(&report, a.quiet).as_bytes()),
        // written as it is serialised: the matrix is never held as text
        CheckFormat::Json => serde_json::to_writer_pretty(&mut out, &report)
            .map_err(std::io::Error::from)
            .and_then(|()| out.write_all(b"\n")),
    };
    match written.and_then(|()| out.flush()) {
        Err(e) if kfunc_scan::output::is_closed_pipe(&e) => {}
        Err(e) => return Err(CliError::CannotRun(format!("error[write]: {e}"))),
        Ok(()) => {}
    }
    Ok(outcome)
}

/// Diagnostics, then one line per object and kernel (`quiet`: errors and
/// warnings alone). Every name in the report is already escaped.
fn text(r: &Report, quiet: bool) -> String {
    let mut s = String::new();
    for (ki, k) in r.kernels.iter().enumerate() {
        if !quiet
            && !k.checks_program_types
            && r.objects.iter().any(|o| {
                o.programs.iter().any(|p| {
                    p.kernels
                        .iter()
                        .any(|c| c.kernel == ki && !c.kfuncs.is_empty())
                })
            })
        {
            s += &format!("{}: note[not-checked]: {NOT_CHECKED}\n", k.label);
        }
    }
    for o in &r.objects {
        for n in o
            .notes
            .iter()
            .filter(|n| !quiet || n.severity != Severity::Note)
        {
            s += &format!(
                "{}: {}[{}]: {}\n",
                o.path,
                n.severity.as_str(),
                n.code,
                n.message
            );
        }
        for p in &o.programs {
            for c in &p.kernels {
                for k in &c.kfuncs {
                    for f in (k.findings.iter()).filter(|f| !quiet || f.severity != Severity::Note)
                    {
                        s += &format!(
                            "{}: {} ({}): {}[{}]: {}\n",
                            o.path,
                            p.name,
                            p.section,
                            f.severity.as_str(),
                            f.code,
                            f.message
                        );
                    }
                }
            }
        }
        for (ki, k) in r.kernels.iter().enumerate().filter(|_| !quiet) {
            let cells: Vec<_> = (o.programs.iter())
                .flat_map(|p| p.kernels.iter().filter(|c| c.kernel == ki))
                .collect();
            let calls: usize = cells.iter().map(|c| c.kfuncs.len()).sum();
            let failing = cells.iter().filter(|c| !c.loads).count();
            let errors = (cells.iter())
                .flat_map(|c| c.kfuncs.iter().flat_map(|k| &k.findings))
                .filter(|f| f.severity == Severity::Error)
                .count();
            let programs = cells.len();
            if failing == 0 && !k.checks_program_types {
                s += &format!(
                    "{}: kfunc calls resolve on {}: {programs} program{}, {calls} kfunc call{} checked (program types and sleepable not checked)\n",
                    o.path,
                    k.label,
                    plural(programs),
                    plural(calls)
                );
            } else if failing == 0 {
                s += &format!(
                    "{}: loads on {}: {programs} program{}, {calls} kfunc call{} checked\n",
                    o.path,
                    k.label,
                    plural(programs),
                    plural(calls)
                );
            } else {
                s += &format!(
                    "{}: will not load on {}: {failing} of {programs} program{} ({errors} error{})\n",
                    o.path,
                    k.label,
                    plural(programs),
                    plural(errors)
                );
            }
        }
    }
    s
}

fn plural(n: usize) -> &'static str {
    if n == 1 {
        ""
    } else {
        "s"
    }
}
