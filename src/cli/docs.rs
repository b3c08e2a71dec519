//! `kfunc-scan lint-docs`: a hand-kept kfuncs.yaml checked against a
//! manifest, findings printed compiler-style on stderr.

use super::publish::{load_source, Loaded, Source};
use super::{CliError, Outcome};
use clap::Args;
use kfunc_scan::lint::{self, LintOptions};
use kfunc_scan::manifest::Severity;
use std::io::Write;
use std::path::PathBuf;

#[derive(Args)]
pub struct LintDocsArgs {
    /// The kfuncs.yaml to check (ebpf-docs' data/kfuncs.yaml).
    #[arg(value_name = "KFUNCS_YAML")]
    pub file: PathBuf,
    #[command(flatten)]
    pub source: Source,
    /// Also expect the selftests' sets.
    #[arg(long)]
    pub with_selftests: bool,
    /// Only the disagreements: no notes (version differences, what depends
    /// on a filter that could not be read) and no summary line.
    #[arg(short, long)]
    pub quiet: bool,
}

/// Exit 1 when the file disagrees with the tree (version differences and
/// unverifiable points alone: 0); 2 when the file or manifest is unusable.
pub fn run_lint_docs(a: LintDocsArgs) -> Result<Outcome, CliError> {
    let shown = kfunc_scan::manifest::term::path(&a.file).into_owned();
    let text =
        lint::read_text(&a.file).map_err(|e| format!("{shown}: error[{}]: {e}", e.code()))?;
    let file = lint::read(&text).map_err(|e| {
        format!(
            "{shown}:{}:{}: error[lint-yaml]: {}",
            e.pos.line, e.pos.col, e.message
        )
    })?;
    let Loaded {
        manifest, outcome, ..
    } = load_source(&a.source, a.quiet)?;
    let opts = LintOptions {
        with_selftests: a.with_selftests,
    };
    let report = lint::lint(&file, &manifest, opts);
    let mut err = std::io::stderr().lock();
    for f in &report.findings {
        let d = f.diagnostic(&shown);
        if !a.quiet || d.severity != Severity::Note {
            let _ = writeln!(err, "{}", d.render());
        }
    }
    if !a.quiet {
        let _ = writeln!(err, "kfunc-scan lint-docs: {shown}: {}", report.summary());
    }
    if report.has_disagreements() {
        Ok(Outcome::Findings)
    } else {
        Ok(outcome)
    }
}
